//! PrestaShop for one call: the shop's own URL (https only), the webservice key as the Basic
//! user with an empty password, `output_format=JSON` on every request, and PrestaShop's
//! protocol: `{"order": {…}}` / `{"orders": […]}` (an empty list is a bare `[]`), errors as
//! `{"errors": [{"code", "message"}]}` with the HTTP status.

use integrations_core::connector::CallContext;
use integrations_core::{ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::kit::config;
use crate::kit::{Auth, AuthSpec, Envelope, Match, Protocol, ProviderClient, Request, ResultCode};

/// Where PrestaShop serves its webservice, under the shop URL.
pub const API_PATH: &str = "/api";

pub(crate) const PROVIDER: &str = "PrestaShop";

/// `basic`: the webservice key is the user, the password is empty.
pub(crate) const AUTH: AuthSpec = AuthSpec::BasicKey {
    key_field: "webserviceKey",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrestaConfig {
    shop_url: String,
}

pub(crate) struct PrestaApi {
    client: ProviderClient,
    shop: String,
}

impl PrestaApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: PrestaConfig = config::load(PROVIDER, ctx)?;
        let (base, shop) = config::tenant_api_base(
            PROVIDER,
            "shopUrl",
            &config.shop_url,
            API_PATH,
            base_url_override,
        )?;
        let client = ProviderClient::new(http, &base, &PRESTA, auth, ctx.timeout);
        Ok(Self { client, shop })
    }

    pub(crate) fn shop(&self) -> &str {
        &self.shop
    }

    /// A GET answered in JSON (PrestaShop answers XML unless asked).
    pub(crate) fn get(&self, path: &str) -> Request {
        Request::get(path).query("output_format", "JSON")
    }

    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }
}

pub(crate) struct PrestaProtocol;

static PRESTA: PrestaProtocol = PrestaProtocol;

/// PrestaShop's error codes are not documented as a table; the status decides, 401/403/429/5xx
/// before this table (UNCONFIRMED: the codes seen are the fake's).
const CODES: &[ResultCode] = &[
    ResultCode::on(Match::Tag("404"), ErrorKind::ProviderNotFound),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for PrestaProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        if status.is_success() {
            return Some(Envelope::ok(status, body));
        }
        let errors = body.get("errors")?.as_array()?;
        let first = errors.first()?;
        let code = match first.get("code") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => status.as_u16().to_string(),
        };
        let message = errors
            .iter()
            .filter_map(|e| e.get("message").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("; ");
        Some(Envelope {
            success: false,
            code,
            message,
            // The status, as PrestaShop's codes do not say "not found" by themselves.
            tag: Some(status.as_u16().to_string()),
            data: Value::Null,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a webservice resource"
    }
}
