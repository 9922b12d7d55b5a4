//! GHN API client for one call context: base URL, Token/ShopId headers, GHN's envelope
//! `{code, message, data, code_message}` and its error classification.

use std::time::{Duration, Instant};

use integrations_core::connector::CallContext;
use integrations_core::{Error, ErrorKind, Result};
use serde_json::Value;

use crate::http::{self, JsonCall};

pub const PRODUCTION_URL: &str = "https://online-gateway.ghn.vn/shiip/public-api";
pub const SANDBOX_URL: &str = "https://dev-online-gateway.ghn.vn/shiip/public-api";

const PROVIDER: &str = "GHN";

/// GHN as seen by one call: the tenant's token and shop, and the action's time budget.
pub(crate) struct GhnApi<'a> {
    http: &'a reqwest::Client,
    base_url: String,
    token: &'a str,
    shop_id: i64,
    pub(crate) environment: &'static str,
    /// Every request of the action shares this deadline (create may need a second call).
    deadline: Instant,
}

impl<'a> GhnApi<'a> {
    pub(crate) fn new(
        http: &'a reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'a>,
    ) -> Result<Self> {
        let token = ctx
            .credentials
            .get("apiKey")
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                Error::validation("the GHN connection has no apiKey credential (the GHN Token)")
            })?;
        let shop_id = match ctx.config.get("shopId") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|id| *id >= 1)
        .ok_or_else(|| Error::validation("the GHN connection config needs shopId >= 1"))?;
        let environment = match ctx.config.get("environment").and_then(Value::as_str) {
            None | Some("sandbox") => "sandbox",
            Some("production") => "production",
            Some(other) => {
                return Err(Error::validation(format!(
                    "unknown GHN environment '{other}' (sandbox or production)"
                )))
            }
        };
        let base_url = base_url_override
            .unwrap_or(if environment == "production" {
                PRODUCTION_URL
            } else {
                SANDBOX_URL
            })
            .trim_end_matches('/')
            .to_string();
        Ok(Self {
            http,
            base_url,
            token,
            shop_id,
            environment,
            deadline: Instant::now() + ctx.timeout,
        })
    }

    #[cfg(test)]
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn shop_id(&self) -> i64 {
        self.shop_id
    }

    /// POST `body` to `path` and return the envelope's `data`. Every error is classified and
    /// scrubbed of the token.
    pub(crate) async fn call(&self, path: &str, body: &Value) -> Result<Value> {
        self.call_inner(path, body)
            .await
            .map_err(|e| http::redact_error(e, &[self.token]))
    }

    async fn call_inner(&self, path: &str, body: &Value) -> Result<Value> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining < Duration::from_millis(1) {
            return Err(Error::new(
                ErrorKind::ProviderTimeout,
                "the action's time budget ran out before calling GHN",
            ));
        }
        let url = format!("{}{path}", self.base_url);
        let shop_id = self.shop_id.to_string();
        let headers = [("Token", self.token), ("ShopId", shop_id.as_str())];
        let call = JsonCall::post(PROVIDER, &url, body, remaining).with_headers(&headers);
        let reply = http::send(self.http, &call).await?;
        let parsed = reply.json(PROVIDER);
        if !reply.is_success() {
            let envelope = parsed.ok().and_then(|v| Envelope::parse(&v));
            return Err(match envelope {
                // GHN's body refines plain 4xx answers (e.g. a 400 that is really a 404).
                Some(env)
                    if reply.status.is_client_error()
                        && !matches!(reply.status.as_u16(), 401 | 403 | 429) =>
                {
                    env.error()
                }
                env => http::status_error(
                    PROVIDER,
                    reply.status,
                    reply.retry_after,
                    env.as_ref().map(|e| e.describe()).as_deref(),
                ),
            });
        }
        let mut value = parsed?;
        let Some(envelope) = Envelope::parse(&value) else {
            return Err(Error::new(
                ErrorKind::ProviderBadResponse,
                "GHN answered without its {code, message, data} envelope",
            )
            .with_retryable(true)
            .with_request_sent(true));
        };
        if envelope.code != 200 {
            // GHN also fails with HTTP 200: the envelope's code is what counts.
            return Err(envelope.error());
        }
        Ok(value
            .as_object_mut()
            .and_then(|o| o.remove("data"))
            .unwrap_or(Value::Null))
    }
}

/// GHN's envelope, minus `data`.
#[derive(Debug)]
struct Envelope {
    code: i64,
    message: String,
    code_message: Option<String>,
}

impl Envelope {
    fn parse(v: &Value) -> Option<Self> {
        Some(Self {
            code: v.get("code")?.as_i64()?,
            message: v
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            code_message: v
                .get("code_message")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }

    fn describe(&self) -> String {
        match &self.code_message {
            Some(cm) => format!("{} [{cm}]", self.message),
            None => self.message.clone(),
        }
    }

    fn error(&self) -> Error {
        Error::new(
            self.kind(),
            format!("GHN error {}: {}", self.code, self.describe()),
        )
        .with_request_sent(true)
    }

    /// GHN reports many failures as code 400 with the real cause in code_message or inside
    /// the message ("… code=404, message=Đơn hàng không tồn tại").
    fn kind(&self) -> ErrorKind {
        let cm = self.code_message.as_deref().unwrap_or_default();
        let msg = self.message.to_ascii_lowercase();
        if matches!(
            cm,
            "SHOP_NOT_FOUND"
                | "CLIENT_NOT_OWNER_OF_SHOP"
                | "TOKEN_IS_INVALID"
                | "TOKEN_IS_REQUIRED"
                | "TOKEN_IS_EXPIRED"
        ) || matches!(self.code, 401 | 403)
            || msg.contains("code=401")
            || msg.contains("token is not valid")
            || msg.contains("token is required")
        {
            ErrorKind::ProviderAuthFailed
        } else if cm == "SERVER_ERR_COMMON" || (500..=599).contains(&self.code) {
            ErrorKind::ProviderUnavailable
        } else if self.code == 429 || msg.contains("too many request") {
            ErrorKind::ProviderRateLimited
        } else if self.code == 404 || msg.contains("code=404") {
            ErrorKind::ProviderNotFound
        } else {
            ErrorKind::ProviderRejected
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(v: Value) -> ErrorKind {
        Envelope::parse(&v)
            .map(|e| e.kind())
            .unwrap_or(ErrorKind::Internal)
    }

    #[test]
    fn envelope_codes_and_messages_are_classified() {
        let cases = [
            (
                json!({"code": 400, "message": "Sai thông tin Required Note", "code_message": "USER_ERR_COMMON"}),
                ErrorKind::ProviderRejected,
            ),
            (
                json!({"code": 400, "message": "ShopID is invalid", "code_message": "SHOP_NOT_FOUND"}),
                ErrorKind::ProviderAuthFailed,
            ),
            (
                json!({"code": 400, "message": "code=401, message=Token is not valid!"}),
                ErrorKind::ProviderAuthFailed,
            ),
            (
                json!({"code": 400, "message": "Lỗi gọi API: corev2_tenant_order_detail - code=404, message=Đơn hàng không tồn tại"}),
                ErrorKind::ProviderNotFound,
            ),
            (
                json!({"code": 400, "message": "Too many request. This request is processing"}),
                ErrorKind::ProviderRateLimited,
            ),
            (
                json!({"code": 500, "message": "internal"}),
                ErrorKind::ProviderUnavailable,
            ),
            (
                json!({"code": 400, "message": "x", "code_message": "SERVER_ERR_COMMON"}),
                ErrorKind::ProviderUnavailable,
            ),
        ];
        for (v, expected) in cases {
            assert_eq!(kind(v.clone()), expected, "{v}");
        }
    }

    #[test]
    fn a_busy_answer_is_retryable_and_a_rejection_is_not() {
        let busy = Envelope::parse(&json!({"code": 400, "message": "Too many request"}))
            .map(|e| e.error());
        assert!(busy.is_some_and(|e| e.retryable && e.request_sent));
        let rejected = Envelope::parse(&json!({"code": 400, "message": "Cân nặng không hợp lệ"}))
            .map(|e| e.error());
        assert!(rejected.is_some_and(|e| !e.retryable));
    }
}
