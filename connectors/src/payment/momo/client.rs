//! MoMo for one call: typed config, the body signature (hex HMAC-SHA256 over `key=value&…`
//! in a–z key order, `accessKey` signed but not sent), and MoMo's protocol: a flat answer
//! whose `resultCode` 0 is success, and its result-code table.

use integrations_core::connector::CallContext;
use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::Environment;
use crate::kit::auth::HmacSpec;
use crate::kit::config::{self, Secret};
use crate::kit::protocol::interpret;
use crate::kit::sign::hmac_sha256_hex;
use crate::kit::{Auth, AuthSpec, Envelope, Match, Protocol, ProviderClient, Request, ResultCode};

pub const SANDBOX_URL: &str = "https://test-payment.momo.vn";
/// UNCONFIRMED in providers.md.
pub const PRODUCTION_URL: &str = "https://payment.momo.vn";

const PROVIDER: &str = "MoMo";

/// `hmac`: the body field `signature`, hex HMAC-SHA256 with the secretKey over `key=value&…`
/// of each call's fields, accessKey included though it is not sent: built with the body.
pub(crate) const AUTH: AuthSpec = AuthSpec::Hmac(HmacSpec::BodyFields {
    key_field: "secretKey",
});

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MomoConfig {
    partner_code: String,
    access_key: Secret,
    secret_key: Secret,
    #[serde(default)]
    partner_name: Option<String>,
    #[serde(default)]
    store_id: Option<String>,
    #[serde(default)]
    environment: Environment,
}

/// MoMo's signature of `body` over `keys` (the call's field list, a–z).
pub fn signature(
    secret_key: &str,
    access_key: &str,
    keys: &[&str],
    body: &Map<String, Value>,
) -> String {
    let raw = keys
        .iter()
        .map(|k| {
            let v = match (*k, body.get(*k)) {
                ("accessKey", _) => access_key.to_string(),
                (_, Some(Value::String(s))) => s.clone(),
                (_, Some(Value::Null) | None) => String::new(),
                (_, Some(other)) => other.to_string(),
            };
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&");
    hmac_sha256_hex(secret_key.as_bytes(), raw.as_bytes())
}

pub(crate) struct MomoApi {
    client: ProviderClient,
    config: MomoConfig,
    pub(crate) environment: &'static str,
}

impl MomoApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: MomoConfig = config::load(PROVIDER, ctx)?;
        let base = base_url_override.unwrap_or(match config.environment {
            Environment::Sandbox => SANDBOX_URL,
            Environment::Production => PRODUCTION_URL,
        });
        // The signature is a body field, computed while building the body: no auth header.
        let client = ProviderClient::new(http, base, &MOMO, auth, ctx.timeout);
        Ok(Self {
            client,
            environment: config.environment.name(),
            config,
        })
    }

    pub(crate) fn partner_code(&self) -> &str {
        &self.config.partner_code
    }

    /// The fields every call carries.
    pub(crate) fn base_body(&self) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert(
            "partnerCode".into(),
            Value::String(self.config.partner_code.clone()),
        );
        if let Some(n) = &self.config.partner_name {
            b.insert("partnerName".into(), Value::String(n.clone()));
        }
        if let Some(s) = &self.config.store_id {
            b.insert("storeId".into(), Value::String(s.clone()));
        }
        b
    }

    /// Sign the (keyed) request's JSON body over `keys`, send it, and return MoMo's answer
    /// without interpreting it, so callers can handle duplicates (40/41) themselves.
    pub(crate) async fn send(
        &self,
        request: Request,
        keys: &[&str],
    ) -> Result<(StatusCode, Value)> {
        let request = self.signed(request, keys)?;
        let reply = self.client.send(request).await?;
        match reply.json(PROVIDER) {
            Ok(v) if v.get("resultCode").is_some() => Ok((reply.status, v)),
            // Not MoMo's answer (a proxy's error page, a truncated body): the kit classifies.
            _ => interpret(&MOMO, &reply).map(|v| (reply.status, v)),
        }
    }

    fn signed(&self, mut request: Request, keys: &[&str]) -> Result<Request> {
        let crate::kit::Body::Json(Value::Object(body)) = &mut request.body else {
            return Err(Error::internal("MoMo requests are JSON objects"));
        };
        let sig = signature(
            self.config.secret_key.expose(),
            self.config.access_key.expose(),
            keys,
            body,
        );
        body.insert("signature".into(), Value::String(sig));
        Ok(request)
    }
}

/// MoMo's answer as data, or the error its resultCode stands for. `states`: whether payment
/// states (1000 and up: pending, processing, user-side failures) are data, as in a query.
pub(crate) fn outcome(status: StatusCode, body: Value, states: bool) -> Result<Value> {
    let Some(env) = MOMO.envelope(status, body.clone()) else {
        return Err(Error::new(
            ErrorKind::ProviderBadResponse,
            "MoMo answered without a resultCode",
        )
        .with_retryable(true));
    };
    let code = env.code.parse::<i64>().unwrap_or(-1);
    if env.success || (states && code >= 1000) {
        return Ok(body);
    }
    Err(crate::kit::protocol::classify(&MOMO, &env, None))
}

pub(crate) fn result_code(body: &Value) -> Option<i64> {
    body.get("resultCode").and_then(crate::fields::as_int)
}

pub(crate) struct MomoProtocol;

pub(crate) static MOMO: MomoProtocol = MomoProtocol;

/// MoMo's resultCode table (providers.md §2 and MoMo's published list).
const MOMO_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("10"), ErrorKind::ProviderUnavailable).not_applied(),
    ResultCode::on(Match::Code("11"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::Code("13"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::Code("42"), ErrorKind::ProviderNotFound),
    // "A similar transaction is being processed": MoMo is busy with this very request.
    ResultCode::on(Match::Code("43"), ErrorKind::ProviderRateLimited),
    ResultCode::on(Match::Code("98"), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Code("99"), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Code("7000"), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Code("7002"), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for MomoProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, _status: StatusCode, body: Value) -> Option<Envelope> {
        let code = result_code(&body)?;
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        Some(Envelope {
            success: code == 0,
            code: code.to_string(),
            message,
            tag: None,
            data: body,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        MOMO_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a resultCode"
    }
}
