//! WooCommerce for one call: the store's own URL (https only), HTTP Basic with the consumer key
//! and secret, and WooCommerce's protocol: a plain object or array on success, the WordPress
//! REST error `{code, message, data: {status}}` with the HTTP status otherwise.

use integrations_core::connector::CallContext;
use integrations_core::{ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::http::HttpReply;
use crate::kit::config;
use crate::kit::protocol::interpret;
use crate::kit::{Auth, AuthSpec, Envelope, Match, Protocol, ProviderClient, Request, ResultCode};

/// Where WordPress serves WooCommerce's REST API v3, under the store URL.
pub const API_PATH: &str = "/wp-json/wc/v3";

const PROVIDER: &str = "WooCommerce";

/// `basic`: the consumer key as the user, the consumer secret as the password (what
/// WooCommerce asks for over HTTPS; its OAuth 1.0a signing is for plain HTTP, refused here).
pub(crate) const AUTH: AuthSpec = AuthSpec::Basic {
    username_field: "consumerKey",
    password_field: "consumerSecret",
};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WooConfig {
    store_url: String,
}

pub(crate) struct WooApi {
    client: ProviderClient,
    store: String,
}

impl WooApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: WooConfig = config::load(PROVIDER, ctx)?;
        let (base, store) = config::tenant_api_base(
            PROVIDER,
            "storeUrl",
            &config.store_url,
            API_PATH,
            base_url_override,
        )?;
        let client = ProviderClient::new(http, &base, &WOO, auth, ctx.timeout);
        Ok(Self { client, store })
    }

    pub(crate) fn store(&self) -> &str {
        &self.store
    }

    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }

    /// The data and the reply's headers (pagination is in `X-WP-Total`, `X-WP-TotalPages`).
    pub(crate) async fn call_with_headers(&self, request: Request) -> Result<(Value, HttpReply)> {
        let reply = self.client.send(request).await?;
        let data = interpret(&WOO, &reply)?;
        Ok((data, reply))
    }
}

pub(crate) struct WooProtocol;

pub(crate) static WOO: WooProtocol = WooProtocol;

/// Matched on the WordPress error `code`. 401/403/429/5xx are decided by the status first.
const WOO_CODES: &[ResultCode] = &[
    ResultCode::on(
        Match::Code("woocommerce_rest_shop_order_invalid_id"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(
        Match::Code("woocommerce_rest_order_invalid_id"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(
        Match::Code("woocommerce_rest_product_invalid_id"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(
        Match::Code("woocommerce_rest_authentication_error"),
        ErrorKind::ProviderAuthFailed,
    ),
    // The Store API's limiter code, also sent by rate-limiting plugins on the REST API.
    ResultCode::on(
        Match::Code("rate_limit_exceeded"),
        ErrorKind::ProviderRateLimited,
    ),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for WooProtocol {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        if status.is_success() {
            return Some(Envelope::ok(status, body));
        }
        let code = body.get("code")?.as_str()?.to_string();
        let mut message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        // `rest_invalid_param` names the offending parameters only in data.params.
        if let Some(params) = body.pointer("/data/params").and_then(Value::as_object) {
            let named: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                .collect();
            message = format!("{message} ({})", named.join("; "));
        }
        Some(Envelope {
            success: false,
            code,
            message,
            tag: None,
            data: Value::Null,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        WOO_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a WooCommerce object"
    }
}
