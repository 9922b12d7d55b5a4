//! Viettel Post for one call, on the kit: typed config, the auth the kit's login-then-token
//! hands each attempt (the `Token` header, see [`super::token`]), and VTP's protocol — `{status, error, message,
//! data}` inside HTTP 200, with `getPriceAll` answering a bare array.

use std::time::Duration;

use integrations_core::connector::CallContext;
use integrations_core::{ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::http::HttpReply;
use crate::kit::config::{self, Secret};
use crate::kit::protocol::interpret;
use crate::kit::{Auth, Envelope, Match, Protocol, ProviderClient, Request, ResultCode, TokenApi};

pub const PRODUCTION_URL: &str = "https://partner.viettelpost.vn/v2";

pub(crate) const PROVIDER: &str = "Viettel Post";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VtpConfig {
    pub username: String,
    /// Checked here (present, not blank); the kit's login reads it from the credentials it is
    /// given, which during a fleet renewal are the secret store's current ones.
    #[allow(dead_code)]
    pub password: Secret,
    #[serde(default)]
    pub group_address_id: Option<i64>,
    #[serde(default)]
    pub customer_id: Option<i64>,
    #[serde(default)]
    pub sender: Sender,
    /// Not the connection's: Viettel Post's, or the operator's replacement.
    #[serde(skip)]
    pub base_url: String,
}

/// The sender: the connection's default, overridden field by field by the input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Sender {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub province_id: Option<i64>,
    pub district_id: Option<i64>,
    pub ward_id: Option<i64>,
}

/// Viettel Post as seen by one attempt: a client carrying the token (if any) under the
/// action's remaining time budget.
pub(crate) struct VtpApi {
    client: ProviderClient,
    pub(crate) config: VtpConfig,
}

impl TokenApi for VtpApi {
    type Config = VtpConfig;

    fn config(ctx: &CallContext<'_>, base_url_override: Option<&str>) -> Result<VtpConfig> {
        let config: VtpConfig = config::load(PROVIDER, ctx)?;
        Ok(VtpConfig {
            base_url: base_url_override.unwrap_or(PRODUCTION_URL).to_string(),
            ..config
        })
    }

    fn base_url(config: &VtpConfig) -> &str {
        &config.base_url
    }

    fn new(http: &reqwest::Client, config: VtpConfig, auth: Auth, budget: Duration) -> Self {
        Self {
            client: ProviderClient::new(http, &config.base_url, &VTP, auth, budget),
            config,
        }
    }

    /// The master data is public.
    fn needs_token(action_id: &str) -> bool {
        !super::actions::PUBLIC.contains(&action_id)
    }
}

impl VtpApi {
    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }

    /// The raw reply, for failures that carry data (a repeated ORDER_NUMBER).
    pub(crate) async fn send(&self, request: Request) -> Result<HttpReply> {
        self.client.send(request).await
    }

    pub(crate) fn interpret(&self, reply: &HttpReply) -> Result<Value> {
        interpret(&VTP, reply)
    }
}

pub(crate) struct VtpProtocol;

pub(crate) static VTP: VtpProtocol = VtpProtocol;

const fn auth(when: Match) -> ResultCode {
    ResultCode::on(when, ErrorKind::ProviderAuthFailed)
}

/// 201/202 for a bad or expired token are UNCONFIRMED (observed in integrations, not in VTP's
/// documentation), so the word "token" in a failure counts too. Every auth failure of a call
/// makes the connector renew the token once.
const VTP_CODES: &[ResultCode] = &[
    auth(Match::Code("201")),
    auth(Match::Code("202")),
    auth(Match::Code("401")),
    auth(Match::Code("403")),
    auth(Match::MessageContains("token")),
    ResultCode::on(Match::Code("429"), ErrorKind::ProviderRateLimited),
    ResultCode::on(Match::CodeRange(500, 599), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Code("404"), ErrorKind::ProviderNotFound),
    ResultCode::on(
        Match::MessageContains("không tìm thấy đơn hàng"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for VtpProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, _status: StatusCode, mut body: Value) -> Option<Envelope> {
        if body.is_array() {
            return Some(Envelope {
                success: true,
                code: "200".into(),
                message: String::new(),
                tag: None,
                data: body,
            });
        }
        let code = crate::fields::int(&body, "status")?;
        let error = body.get("error").and_then(Value::as_bool).unwrap_or(false);
        Some(Envelope {
            success: code == 200 && !error,
            code: code.to_string(),
            message: body
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            tag: None,
            data: body.get_mut("data").map(Value::take).unwrap_or(Value::Null),
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        VTP_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "its {status, error, message, data} envelope"
    }
}
