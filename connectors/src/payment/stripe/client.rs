//! Stripe for one call: typed config, Bearer auth (plus `Stripe-Account` for connected
//! accounts), and Stripe's protocol: a plain object on success, `{"error": {type, code,
//! message, param}}` with the HTTP status otherwise.

use integrations_core::connector::CallContext;
use integrations_core::{ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::kit::config;
use crate::kit::{
    Auth, AuthSpec, Envelope, KeyPlace, Match, Protocol, ProviderClient, Request, ResultCode,
};

pub const BASE_URL: &str = "https://api.stripe.com";

const PROVIDER: &str = "Stripe";

/// `api_key`: the secret key as `Authorization: Bearer sk_…`.
pub(crate) const AUTH: AuthSpec = AuthSpec::ApiKey {
    field: "secretKey",
    place: KeyPlace::Bearer,
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StripeConfig {
    #[serde(default)]
    stripe_account: Option<String>,
}

pub(crate) struct StripeApi {
    client: ProviderClient,
}

impl StripeApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: StripeConfig = config::load(PROVIDER, ctx)?;
        let base = base_url_override.unwrap_or(BASE_URL);
        let mut client = ProviderClient::new(http, base, &STRIPE, auth, ctx.timeout);
        if let Some(account) = config.stripe_account {
            client = client.with_header("Stripe-Account", account);
        }
        Ok(Self { client })
    }

    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }
}

pub(crate) struct StripeProtocol;

pub(crate) static STRIPE: StripeProtocol = StripeProtocol;

/// Matched on the error's `code` (or its `type` when it has none) and on its `type` as the
/// tag. 401/403/429/5xx are decided by the status before this table.
const STRIPE_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("resource_missing"), ErrorKind::ProviderNotFound),
    // Another request with the same Idempotency-Key is still running: try again later.
    ResultCode::on(
        Match::Code("idempotency_key_in_use"),
        ErrorKind::ProviderRateLimited,
    ),
    ResultCode::on(Match::Code("lock_timeout"), ErrorKind::ProviderRateLimited),
    ResultCode::on(Match::Code("rate_limit"), ErrorKind::ProviderRateLimited),
    ResultCode::on(
        Match::Tag("rate_limit_error"),
        ErrorKind::ProviderRateLimited,
    ),
    ResultCode::on(
        Match::Tag("authentication_error"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(
        Match::Code("api_key_invalid"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(Match::Tag("api_error"), ErrorKind::ProviderUnavailable),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for StripeProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        if status.is_success() {
            return Some(Envelope::ok(status, body));
        }
        let e = body.get("error")?;
        let text = |k: &str| e.get(k).and_then(Value::as_str).map(str::to_string);
        let kind = text("type");
        let mut message = text("message").unwrap_or_default();
        if let Some(p) = text("param") {
            message = format!("{message} (param {p})");
        }
        Some(Envelope {
            success: false,
            code: text("code")
                .or_else(|| kind.clone())
                .unwrap_or_else(|| status.as_u16().to_string()),
            message,
            tag: kind,
            data: Value::Null,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        STRIPE_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a Stripe object"
    }
}
