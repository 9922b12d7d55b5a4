//! GHTK for one call, on the kit: typed config, the `Token` header (plus `X-Client-Source`
//! for partner accounts), and GHTK's protocol — `{success, message, …}` answered with HTTP
//! 200 even when failing, its payload in top-level keys (`fee`, `order`, `log_id`).

use integrations_core::connector::CallContext;
use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::http::HttpReply;
use crate::kit::config;
use crate::kit::protocol::interpret;
use crate::kit::{
    Auth, AuthSpec, Envelope, KeyPlace, Match, Protocol, ProviderClient, Request, ResultCode,
};

pub const PRODUCTION_URL: &str = "https://services.giaohangtietkiem.vn";
pub const STAGING_URL: &str = "https://services-staging.ghtklab.com";

const PROVIDER: &str = "GHTK";

/// `api_key`: the API token as the `Token` header.
pub(crate) const AUTH: AuthSpec = AuthSpec::ApiKey {
    field: "apiToken",
    place: KeyPlace::Header("Token"),
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GhtkConfig {
    #[serde(default)]
    client_source: Option<String>,
    #[serde(default)]
    environment: Environment,
    #[serde(default)]
    pickup: Pickup,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Environment {
    #[default]
    Staging,
    Production,
}

/// The pick-up point: the connection's default, overridden field by field by the input.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Pickup {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub province: Option<String>,
    pub district: Option<String>,
    pub ward: Option<String>,
}

impl Pickup {
    /// This pick-up point with the input's `pickup` fields taking precedence.
    pub(crate) fn overridden_by(&self, input: &Value) -> Pickup {
        let from = |key: &str, default: &Option<String>| {
            input
                .get("pickup")
                .and_then(|p| p.get(key))
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
                .or_else(|| default.clone())
        };
        Pickup {
            name: from("name", &self.name),
            phone: from("phone", &self.phone),
            address: from("address", &self.address),
            province: from("province", &self.province),
            district: from("district", &self.district),
            ward: from("ward", &self.ward),
        }
    }

    /// A field GHTK needs, or a validation error saying where to set it.
    pub(crate) fn need<'a>(&self, field: &'a Option<String>, name: &str) -> Result<&'a str> {
        field.as_deref().ok_or_else(|| {
            Error::validation(format!(
                "GHTK needs the pick-up {name}: set pickup.{name} in the input or the connection"
            ))
        })
    }
}

pub(crate) struct GhtkApi {
    client: ProviderClient,
    pub(crate) pickup: Pickup,
    pub(crate) environment: &'static str,
}

impl GhtkApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: GhtkConfig = config::load(PROVIDER, ctx)?;
        let (environment, default_url) = match config.environment {
            Environment::Staging => ("staging", STAGING_URL),
            Environment::Production => ("production", PRODUCTION_URL),
        };
        let mut client = ProviderClient::new(
            http,
            base_url_override.unwrap_or(default_url),
            &GHTK,
            auth,
            ctx.timeout,
        );
        if let Some(source) = config.client_source.filter(|s| !s.trim().is_empty()) {
            client = client.with_header("X-Client-Source", source);
        }
        Ok(Self {
            client,
            pickup: config.pickup,
            environment,
        })
    }

    /// The answer's body (GHTK's payload is the whole body), or a classified error.
    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }

    /// The raw reply, for answers whose failure carries data (a repeated order id).
    pub(crate) async fn send(&self, request: Request) -> Result<HttpReply> {
        self.client.send(request).await
    }

    pub(crate) fn interpret(&self, reply: &HttpReply) -> Result<Value> {
        interpret(&GHTK, reply)
    }
}

pub(crate) struct GhtkProtocol;

pub(crate) static GHTK: GhtkProtocol = GhtkProtocol;

/// GHTK has no result codes, only messages (Vietnamese), plus `error.code` on some failures.
const GHTK_CODES: &[ResultCode] = &[
    ResultCode::on(
        Match::MessageContains("token"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(Match::Code("401"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(
        Match::MessageContains("quá nhiều"),
        ErrorKind::ProviderRateLimited,
    ),
    ResultCode::on(
        Match::MessageContains("too many"),
        ErrorKind::ProviderRateLimited,
    ),
    ResultCode::on(
        Match::MessageContains("không tìm thấy"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for GhtkProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        let success = body.get("success")?.as_bool()?;
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let tag = body
            .pointer("/error/code")
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(Envelope {
            success,
            code: if success {
                "ok".into()
            } else {
                status.as_u16().to_string()
            },
            message,
            tag,
            data: body,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        GHTK_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "its {success, message} envelope"
    }
}
