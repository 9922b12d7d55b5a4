//! Shopify for one call: typed config, the token the kit hands each attempt, and the GraphQL
//! protocol — `{data, errors, extensions.cost}` inside HTTP 200, `THROTTLED` when the query
//! cost exceeds the shop's leaky bucket (the wait is read from `throttleStatus`), 401 for a
//! refused token, and mutations' `userErrors` as business errors.

use std::time::Duration;

use integrations_core::connector::CallContext;
use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::kit::config;
use crate::kit::protocol::interpret;
use crate::kit::{
    ActionCall, Auth, Envelope, Match, Protocol, ProviderClient, Request, ResultCode, TokenApi,
};

pub(crate) const PROVIDER: &str = "Shopify";
const DEFAULT_API_VERSION: &str = "2026-10";
const SHOP_SUFFIX: &str = ".myshopify.com";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    shop: String,
    #[serde(default)]
    api_version: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ShopifyConfig {
    /// `https://{shop}`, or the operator's override (a fake provider in tests).
    pub base_url: String,
    pub api_version: String,
}

pub(crate) struct Shopify;

pub(crate) static SHOPIFY: Shopify = Shopify;

impl Protocol for Shopify {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, _status: StatusCode, mut body: Value) -> Option<Envelope> {
        match body.get("errors") {
            // GraphQL errors: the first one's `extensions.code` decides.
            Some(Value::Array(errors)) if !errors.is_empty() => Some(Envelope {
                success: false,
                code: errors[0]
                    .pointer("/extensions/code")
                    .and_then(Value::as_str)
                    .unwrap_or("GRAPHQL_ERROR")
                    .to_string(),
                message: errors
                    .iter()
                    .filter_map(|e| e.get("message").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("; "),
                tag: None,
                data: Value::Null,
            }),
            // HTTP-level failures carry a plain string (`[API] Invalid API key or access token`).
            Some(Value::String(message)) => Some(Envelope {
                success: false,
                code: "HTTP".into(),
                message: message.clone(),
                tag: None,
                data: Value::Null,
            }),
            _ => Some(Envelope {
                success: true,
                code: String::new(),
                message: String::new(),
                tag: None,
                data: body.get_mut("data").map(Value::take)?,
            }),
        }
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        SHOPIFY_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a GraphQL `data` object"
    }
}

const SHOPIFY_CODES: &[ResultCode] = &[
    // A throttled query ran nothing; the wait comes from throttleStatus (ShopifyApi::graphql).
    ResultCode::on(Match::Code("THROTTLED"), ErrorKind::ProviderRateLimited).not_applied(),
    ResultCode::on(
        Match::Code("MAX_COST_EXCEEDED"),
        ErrorKind::ProviderRejected,
    )
    .not_applied(),
    ResultCode::on(
        Match::Code("INTERNAL_SERVER_ERROR"),
        ErrorKind::ProviderUnavailable,
    ),
    ResultCode::on(Match::Code("ACCESS_DENIED"), ErrorKind::ProviderRejected),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

/// Shopify as seen by one attempt.
pub(crate) struct ShopifyApi {
    client: ProviderClient,
    path: String,
}

impl TokenApi for ShopifyApi {
    type Config = ShopifyConfig;

    fn config(ctx: &CallContext<'_>, base_url_override: Option<&str>) -> Result<ShopifyConfig> {
        let raw: RawConfig = config::load(PROVIDER, ctx)?;
        // The catalog's pattern, checked again here: the shop names the host the token goes to.
        let shop = config::platform_subdomain(PROVIDER, "shop", &raw.shop, SHOP_SUFFIX)?;
        Ok(ShopifyConfig {
            base_url: base_url_override
                .map(str::to_string)
                .unwrap_or_else(|| format!("https://{shop}")),
            api_version: raw
                .api_version
                .unwrap_or_else(|| DEFAULT_API_VERSION.to_string()),
        })
    }

    fn base_url(config: &ShopifyConfig) -> &str {
        &config.base_url
    }

    fn new(http: &reqwest::Client, config: ShopifyConfig, auth: Auth, budget: Duration) -> Self {
        Self {
            client: ProviderClient::new(http, &config.base_url, &SHOPIFY, auth, budget),
            path: format!("/admin/api/{}/graphql.json", config.api_version),
        }
    }
}

impl ShopifyApi {
    /// One GraphQL operation: its `data`, or a classified error. A throttled one is retried
    /// by the engine after the time the bucket needs to restore the query's cost.
    pub(crate) async fn graphql(&self, query: &str, variables: Value) -> Result<Value> {
        self.send(self.request(query, variables)).await
    }

    /// [`Self::graphql`] with the action's provider key placed where the catalog says (a
    /// variable the query binds to `@idempotent`).
    pub(crate) async fn graphql_keyed(
        &self,
        query: &str,
        variables: Value,
        call: &ActionCall<'_>,
    ) -> Result<Value> {
        self.send(call.keyed(self.request(query, variables))?).await
    }

    fn request(&self, query: &str, variables: Value) -> Request {
        Request::post(self.path.clone()).json(json!({"query": query, "variables": variables}))
    }

    async fn send(&self, request: Request) -> Result<Value> {
        let reply = self.client.send(request).await?;
        interpret(&SHOPIFY, &reply).map_err(|e| {
            if e.kind != ErrorKind::ProviderRateLimited || e.retry_after.is_some() {
                return e;
            }
            let wait = reply
                .json(PROVIDER)
                .ok()
                .and_then(|body| throttle_wait(&body));
            e.with_retry_after(wait)
        })
    }

    /// The shop's name (the connection test).
    pub(crate) async fn shop_name(&self) -> Result<String> {
        let data = self.graphql("query { shop { name } }", json!({})).await?;
        data.pointer("/shop/name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad_answer("shop"))
    }
}

/// How long until the bucket holds the query's cost again:
/// `(requestedQueryCost - currentlyAvailable) / restoreRate` seconds, at least one second.
pub(crate) fn throttle_wait(body: &Value) -> Option<Duration> {
    let cost = body.pointer("/extensions/cost")?;
    let requested = cost.get("requestedQueryCost")?.as_f64()?;
    let status = cost.get("throttleStatus")?;
    let available = status.get("currentlyAvailable")?.as_f64()?;
    let rate = status.get("restoreRate")?.as_f64().filter(|r| *r > 0.0)?;
    let seconds = ((requested - available) / rate).max(1.0);
    Some(Duration::from_secs_f64(seconds.min(60.0)))
}

pub(crate) fn bad_answer(what: &str) -> Error {
    Error::new(
        ErrorKind::ProviderBadResponse,
        format!("{PROVIDER} answered without {what}"),
    )
    .with_request_sent(true)
}

/// A mutation's `userErrors` (Shopify refused the change): a business error naming the
/// fields, never retried.
pub(crate) fn user_errors(payload: &Value) -> Result<()> {
    let errors = payload
        .get("userErrors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty());
    let Some(errors) = errors else {
        return Ok(());
    };
    let described: Vec<String> = errors
        .iter()
        .map(|e| {
            let field = e
                .get("field")
                .and_then(Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
            if field.is_empty() {
                message.to_string()
            } else {
                format!("{field}: {message}")
            }
        })
        .collect();
    Err(Error::new(
        ErrorKind::ProviderRejected,
        format!("{PROVIDER} refused the change: {}", described.join("; ")),
    )
    .with_request_sent(true))
}
