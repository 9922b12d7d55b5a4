//! ZaloPay for one call: typed config, the `mac` (hex HMAC-SHA256 with key1 over `|`-joined
//! fields, a body field), form bodies, and ZaloPay's protocol: `return_code` 1 ok, 2 failed
//! (the reason in `sub_return_code`), 3 processing.

use integrations_core::connector::CallContext;
use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use super::super::Environment;
use crate::fields::as_int;
use crate::kit::auth::HmacSpec;
use crate::kit::config::{self, Secret};
use crate::kit::protocol::{classify, interpret};
use crate::kit::sign::{hmac_sha256_hex, pipe_joined};
use crate::kit::{
    Auth, AuthSpec, Body, Envelope, Match, Protocol, ProviderClient, Request, ResultCode,
};

pub const SANDBOX_URL: &str = "https://sb-openapi.zalopay.vn";
pub const PRODUCTION_URL: &str = "https://openapi.zalopay.vn";

const PROVIDER: &str = "ZaloPay";

/// `hmac`: the `mac` form field, hex HMAC-SHA256 with key1 over each call's own `|`-joined
/// fields (a query's include key1 itself), built with the body.
pub(crate) const AUTH: AuthSpec = AuthSpec::Hmac(HmacSpec::BodyFields { key_field: "key1" });

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZaloPayConfig {
    #[serde(deserialize_with = "config::positive_id")]
    app_id: i64,
    key1: Secret,
    /// Verifies callbacks (a later feature); accepted so connections can hold it.
    #[serde(default)]
    #[allow(dead_code)]
    key2: Option<Secret>,
    #[serde(default)]
    environment: Environment,
}

/// ZaloPay's mac of `fields` (already in the call's order) with `key`.
pub fn mac(key: &str, fields: &[&str]) -> String {
    hmac_sha256_hex(key.as_bytes(), pipe_joined(fields).as_bytes())
}

pub(crate) struct ZaloPayApi {
    client: ProviderClient,
    config: ZaloPayConfig,
    pub(crate) environment: &'static str,
}

impl ZaloPayApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: ZaloPayConfig = config::load(PROVIDER, ctx)?;
        let base = base_url_override.unwrap_or(match config.environment {
            Environment::Sandbox => SANDBOX_URL,
            Environment::Production => PRODUCTION_URL,
        });
        // The mac is a body field, computed while building the body: no auth header.
        let client = ProviderClient::new(http, base, &ZALOPAY, auth, ctx.timeout);
        Ok(Self {
            client,
            environment: config.environment.name(),
            config,
        })
    }

    pub(crate) fn app_id(&self) -> i64 {
        self.config.app_id
    }

    pub(crate) fn key1(&self) -> &str {
        self.config.key1.expose()
    }

    /// POST the form request (with its mac appended) and return ZaloPay's answer
    /// uninterpreted: what a `return_code` 2 means depends on the call.
    pub(crate) async fn send(&self, mut request: Request, mac: String) -> Result<Value> {
        match &mut request.body {
            Body::Form(form) => form.push(("mac".into(), mac)),
            _ => return Err(Error::internal("ZaloPay requests are forms")),
        }
        let reply = self.client.send(request).await?;
        match reply.json(PROVIDER) {
            Ok(v) if v.get("return_code").is_some() => Ok(v),
            _ => interpret(&ZALOPAY, &reply),
        }
    }
}

pub(crate) fn return_code(v: &Value) -> i64 {
    v.get("return_code").and_then(as_int).unwrap_or(-1)
}

pub(crate) fn sub_return_code(v: &Value) -> Option<i64> {
    v.get("sub_return_code").and_then(as_int)
}

/// Sub-codes that mean the request itself failed, not the payment: from ZaloPay's status-code
/// page -401 illegal data, -402 illegal app or signature, -429 rate limit, -500 system error,
/// -999 maintenance; -101 "not found" is UNCONFIRMED for orders (ZaloPay uses it elsewhere).
/// Anything else with return_code 2 on a query is the payment's own failure (e.g. -54, the
/// order expired).
const REQUEST_ERRORS: &[i64] = &[-401, -402, -429, -500, -999, -101];

/// `answer` as data when its return_code is 1 or 3, or, with `failure_is_state`, a 2 whose
/// sub-code is not a request error (a failed payment is a state of it); else the error.
pub(crate) fn outcome(answer: Value, failure_is_state: bool) -> Result<Value> {
    let code = return_code(&answer);
    let request_error = sub_return_code(&answer).is_some_and(|s| REQUEST_ERRORS.contains(&s));
    if matches!(code, 1 | 3) || (failure_is_state && code == 2 && !request_error) {
        return Ok(answer);
    }
    match ZALOPAY.envelope(StatusCode::OK, answer) {
        Some(env) => Err(classify(&ZALOPAY, &env, None)),
        None => Err(Error::new(
            ErrorKind::ProviderBadResponse,
            "ZaloPay answered without a return_code",
        )
        .with_retryable(true)),
    }
}

pub(crate) struct ZaloPayProtocol;

pub(crate) static ZALOPAY: ZaloPayProtocol = ZaloPayProtocol;

/// Keyed on `sub_return_code` (the envelope's code when return_code is 2).
const ZALOPAY_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("-402"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::Code("-101"), ErrorKind::ProviderNotFound),
    ResultCode::on(Match::Code("-429"), ErrorKind::ProviderRateLimited),
    ResultCode::on(Match::Code("-500"), ErrorKind::ProviderUnavailable),
    // Maintenance: ZaloPay asks to send the request again afterwards, nothing was done.
    ResultCode::on(Match::Code("-999"), ErrorKind::ProviderUnavailable).not_applied(),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for ZaloPayProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, _status: StatusCode, body: Value) -> Option<Envelope> {
        let code = body.get("return_code").and_then(as_int)?;
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let sub = sub_return_code(&body).map(|s| s.to_string());
        Some(Envelope {
            success: matches!(code, 1 | 3),
            code: sub.unwrap_or_else(|| code.to_string()),
            message: format!(
                "{} ({})",
                text("sub_return_message"),
                text("return_message")
            ),
            tag: None,
            data: body,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        ZALOPAY_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a return_code"
    }
}
