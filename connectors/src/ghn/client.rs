//! GHN for one call, on the kit: typed config, the `Token` header (plus `ShopId`), and GHN's
//! protocol — the envelope `{code, message, data, code_message}` and its result-code table.

use integrations_core::connector::CallContext;
use integrations_core::{ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::kit::config;
use crate::kit::{
    Auth, AuthSpec, Envelope, KeyPlace, Match, Protocol, ProviderClient, Request, ResultCode,
};

pub const PRODUCTION_URL: &str = "https://online-gateway.ghn.vn/shiip/public-api";
pub const SANDBOX_URL: &str = "https://dev-online-gateway.ghn.vn/shiip/public-api";

const PROVIDER: &str = "GHN";

/// `api_key`: the GHN Token, as the `Token` header.
pub(crate) const AUTH: AuthSpec = AuthSpec::ApiKey {
    field: "apiKey",
    place: KeyPlace::Header("Token"),
};

/// The connection, as the catalog's configSchema defines it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GhnConfig {
    #[serde(deserialize_with = "config::positive_id")]
    shop_id: i64,
    #[serde(default)]
    environment: Environment,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Environment {
    #[default]
    Sandbox,
    Production,
}

impl Environment {
    fn name(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    fn base_url(self) -> &'static str {
        match self {
            Self::Sandbox => SANDBOX_URL,
            Self::Production => PRODUCTION_URL,
        }
    }
}

/// GHN as seen by one call: the tenant's token and shop, and the action's time budget.
pub(crate) struct GhnApi {
    client: ProviderClient,
    shop_id: i64,
    pub(crate) environment: &'static str,
}

impl GhnApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: GhnConfig = config::load(PROVIDER, ctx)?;
        let base_url = base_url_override.unwrap_or(config.environment.base_url());
        let client = ProviderClient::new(http, base_url, &GHN, auth, ctx.timeout)
            .with_header("ShopId", config.shop_id.to_string());
        Ok(Self {
            client,
            shop_id: config.shop_id,
            environment: config.environment.name(),
        })
    }

    #[cfg(test)]
    pub(crate) fn base_url(&self) -> &str {
        self.client.base_url()
    }

    pub(crate) fn shop_id(&self) -> i64 {
        self.shop_id
    }

    /// POST `body` to `path` (every GHN call is a JSON POST) and return the envelope's data.
    pub(crate) async fn call(&self, path: &str, body: &Value) -> Result<Value> {
        self.send(Request::post(path).json(body.clone())).await
    }

    /// A prepared request (e.g. one carrying the provider key).
    pub(crate) async fn send(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }
}

pub(crate) struct GhnProtocol;

pub(crate) static GHN: GhnProtocol = GhnProtocol;

const fn auth(when: Match) -> ResultCode {
    ResultCode::on(when, ErrorKind::ProviderAuthFailed)
}

/// GHN reports many failures as code 400 with the real cause in code_message or inside the
/// message ("… code=404, message=Đơn hàng không tồn tại"), so both are matched.
const GHN_CODES: &[ResultCode] = &[
    auth(Match::Tag("SHOP_NOT_FOUND")),
    auth(Match::Tag("CLIENT_NOT_OWNER_OF_SHOP")),
    auth(Match::Tag("TOKEN_IS_INVALID")),
    auth(Match::Tag("TOKEN_IS_REQUIRED")),
    auth(Match::Tag("TOKEN_IS_EXPIRED")),
    auth(Match::Code("401")),
    auth(Match::Code("403")),
    auth(Match::MessageContains("code=401")),
    auth(Match::MessageContains("token is not valid")),
    auth(Match::MessageContains("token is required")),
    ResultCode::on(
        Match::Tag("SERVER_ERR_COMMON"),
        ErrorKind::ProviderUnavailable,
    ),
    ResultCode::on(Match::CodeRange(500, 599), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Code("429"), ErrorKind::ProviderRateLimited),
    // "Too many request. This request is processing": GHN is busy with the same call.
    ResultCode::on(
        Match::MessageContains("too many request"),
        ErrorKind::ProviderRateLimited,
    ),
    ResultCode::on(Match::Code("404"), ErrorKind::ProviderNotFound),
    ResultCode::on(
        Match::MessageContains("code=404"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for GhnProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, _status: StatusCode, mut body: Value) -> Option<Envelope> {
        let code = body.get("code")?.as_i64()?;
        let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
        let message = text("message").unwrap_or_default();
        let tag = text("code_message");
        Some(Envelope {
            success: code == 200,
            code: code.to_string(),
            message,
            tag,
            data: body.get_mut("data").map(Value::take).unwrap_or(Value::Null),
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        GHN_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "its {code, message, data} envelope"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::protocol::classify;
    use integrations_core::Error;
    use serde_json::json;

    fn error(v: Value) -> Option<Error> {
        GHN.envelope(StatusCode::OK, v)
            .map(|env| classify(&GHN, &env, None))
    }

    fn kind(v: Value) -> ErrorKind {
        error(v).map(|e| e.kind).unwrap_or(ErrorKind::Internal)
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
        let busy = error(json!({"code": 400, "message": "Too many request"}));
        assert!(busy.is_some_and(|e| e.retryable && e.request_sent));
        let rejected = error(json!({"code": 400, "message": "Cân nặng không hợp lệ"}));
        assert!(rejected.is_some_and(|e| !e.retryable));
    }

    #[test]
    fn the_envelope_carries_the_data_and_the_code_message() {
        let env = GHN.envelope(
            StatusCode::OK,
            json!({"code": 200, "message": "Success", "data": {"total": 1}}),
        );
        assert_eq!(env.as_ref().map(|e| e.success), Some(true));
        assert_eq!(env.map(|e| e.data), Some(json!({"total": 1})));
        let e = error(json!({"code": 400, "message": "m", "code_message": "USER_ERR_COMMON"}));
        assert_eq!(
            e.map(|e| e.message).as_deref(),
            Some("GHN error 400: m [USER_ERR_COMMON]")
        );
        assert!(GHN
            .envelope(StatusCode::OK, json!({"message": "no code"}))
            .is_none());
    }
}
