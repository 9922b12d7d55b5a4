//! A fake Shopify under `/shopify` (standing for `https://{shop}`): the OAuth authorize and
//! token endpoints ([`oauth`]) and the GraphQL Admin API at
//! `/admin/api/{version}/graphql.json` ([`store`]). It refuses what Shopify refuses: a missing,
//! unknown, expired or revoked `X-Shopify-Access-Token` (401 with Shopify's plain `errors`
//! string), an API version that is not a quarterly release (404), a body that is not a GraphQL
//! request, operations it does not know, an inventory adjustment without Shopify's `@idempotent`
//! key where the version requires it ([`idempotent`]); and it throttles on demand with Shopify's
//! `THROTTLED` error and `extensions.cost.throttleStatus`.

mod idempotent;
pub mod oauth;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::state::State;
pub use oauth::{callback_hmac, CLIENT_ID, CLIENT_SECRET, SHOP};

/// The cost every operation is charged, and the bucket's shape (a Shopify Plus-like shop).
const QUERY_COST: u64 = 10;
const MAXIMUM_AVAILABLE: f64 = 2000.0;
const RESTORE_RATE: f64 = 100.0;

#[derive(Default)]
pub struct Shopify {
    oauth: oauth::OAuth,
    shop: store::Shop,
    keys: idempotent::Keys,
    graphql_calls: AtomicU64,
    unauthorized: AtomicU64,
    throttle_next: AtomicU64,
    throttled: AtomicU64,
}

/// What `GET /__shopify/stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopifyStats {
    pub authorizations: u64,
    pub code_exchanges: u64,
    /// Refresh-token grants honoured (each rotated the refresh token).
    pub refreshes: u64,
    /// Refresh-token grants refused (`invalid_grant`: spent, revoked or unknown).
    pub refused_refreshes: u64,
    pub graphql_calls: u64,
    pub unauthorized: u64,
    pub throttled: u64,
}

pub(crate) fn routes(st: Arc<Shopify>) -> Router<Arc<State>> {
    Router::new()
        .route("/admin/oauth/authorize", get(authorize))
        .route("/admin/oauth/access_token", post(access_token))
        .route("/admin/api/{version}/graphql.json", post(graphql))
        .with_state(st)
}

pub(crate) fn control(st: Arc<Shopify>) -> Router<Arc<State>> {
    Router::new()
        .route("/stats", get(stats))
        .route("/expire-tokens", post(expire_tokens))
        .route("/expire-refresh-tokens", post(expire_refresh_tokens))
        .route("/revoke", post(revoke))
        .route("/deny-next", post(deny_next))
        .route("/throttle", post(throttle))
        .with_state(st)
}

fn count(n: &AtomicU64) -> u64 {
    n.load(Ordering::SeqCst)
}

async fn stats(AxState(st): AxState<Arc<Shopify>>) -> Response {
    let o = &st.oauth;
    Json(ShopifyStats {
        authorizations: count(&o.authorizations),
        code_exchanges: count(&o.exchanges),
        refreshes: count(&o.refreshes),
        refused_refreshes: count(&o.refused_refreshes),
        graphql_calls: count(&st.graphql_calls),
        unauthorized: count(&st.unauthorized),
        throttled: count(&st.throttled),
    })
    .into_response()
}

async fn expire_tokens(AxState(st): AxState<Arc<Shopify>>) -> Response {
    st.oauth.expire_all();
    Json(json!({"expired": true})).into_response()
}

async fn expire_refresh_tokens(AxState(st): AxState<Arc<Shopify>>) -> Response {
    st.oauth.expire_refresh_tokens();
    Json(json!({"expired": true})).into_response()
}

async fn revoke(AxState(st): AxState<Arc<Shopify>>) -> Response {
    st.oauth.revoke_all();
    Json(json!({"revoked": true})).into_response()
}

async fn deny_next(AxState(st): AxState<Arc<Shopify>>) -> Response {
    st.oauth.deny_next.store(true, Ordering::SeqCst);
    Json(json!({"denyNext": true})).into_response()
}

async fn throttle(AxState(st): AxState<Arc<Shopify>>, body: Bytes) -> Response {
    let times = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["times"].as_u64())
        .unwrap_or(1);
    st.throttle_next.store(times, Ordering::SeqCst);
    Json(json!({"throttleNext": times})).into_response()
}

/// The merchant consents (or declines) at once: a redirect to `redirect_uri` with the
/// callback's query.
async fn authorize(
    AxState(st): AxState<Arc<Shopify>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    consent(&st.oauth, &q, |redirect_uri, state| {
        st.oauth.authorize(redirect_uri, state)
    })
}

/// The authorize step as the OAuth fakes share it: the app, `redirect_uri`, `state` and a
/// scope are required, then the browser is sent to `redirect_uri` with `callback`'s query.
pub(crate) fn consent(
    oauth: &oauth::OAuth,
    q: &HashMap<String, String>,
    callback: impl FnOnce(&str, &str) -> Vec<(String, String)>,
) -> Response {
    let (Some(client_id), Some(redirect_uri), Some(state)) =
        (q.get("client_id"), q.get("redirect_uri"), q.get("state"))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "client_id, redirect_uri and state are required",
        )
            .into_response();
    };
    if client_id != oauth.client_id() || q.get("scope").is_none_or(|s| s.is_empty()) {
        return (StatusCode::BAD_REQUEST, "unknown app or no scope").into_response();
    }
    let Ok(mut target) = url::Url::parse(redirect_uri) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not a URL").into_response();
    };
    target
        .query_pairs_mut()
        .extend_pairs(callback(redirect_uri, state));
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

pub(crate) fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Code exchange (`{client_id, client_secret, code[, expiring: 1]}`) and the refresh-token
/// grant (`grant_type: "refresh_token"`), JSON or form bodies as Shopify takes both.
async fn access_token(AxState(st): AxState<Arc<Shopify>>, body: Bytes) -> Response {
    let fields: HashMap<String, Value> = serde_json::from_slice(&body)
        .ok()
        .or_else(|| {
            url::form_urlencoded::parse(&body)
                .map(|(k, v)| Some((k.into_owned(), Value::String(v.into_owned()))))
                .collect()
        })
        .unwrap_or_default();
    let text = |k: &str| fields.get(k).and_then(Value::as_str).unwrap_or_default();
    let client = (text("client_id"), text("client_secret"));
    let result = match text("grant_type") {
        "refresh_token" => st.oauth.refresh(client, text("refresh_token")),
        "" | "authorization_code" => {
            let expiring = fields.get("expiring").is_some_and(|v| v == 1 || v == "1");
            let redirect = Some(text("redirect_uri")).filter(|r| !r.is_empty());
            st.oauth.exchange(client, text("code"), redirect, expiring)
        }
        other => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type {other} is not supported"),
            )
        }
    };
    match result {
        Ok(issued) => {
            let mut answer = json!({
                "access_token": issued.access_token,
                "scope": "read_orders,write_orders,read_products,write_inventory",
            });
            if issued.expiring {
                answer["expires_in"] = json!(3600);
                answer["refresh_token"] = json!(issued.refresh_token);
                answer["refresh_token_expires_in"] = json!(oauth::REFRESH_TTL.num_seconds());
            }
            Json(answer).into_response()
        }
        Err(oauth::Refusal::Client) => token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        ),
        Err(oauth::Refusal::Grant(why)) => {
            token_error(StatusCode::BAD_REQUEST, "invalid_grant", why)
        }
    }
}

fn graphql_errors(message: &str, code: &str) -> Response {
    Json(json!({"errors": [{"message": message, "extensions": {"code": code}}]})).into_response()
}

fn cost(available: f64) -> Value {
    json!({"cost": {
        "requestedQueryCost": QUERY_COST, "actualQueryCost": QUERY_COST,
        "throttleStatus": {
            "maximumAvailable": MAXIMUM_AVAILABLE, "currentlyAvailable": available,
            "restoreRate": RESTORE_RATE,
        },
    }})
}

/// The first field of the operation's selection set: `query X($a: T) { order(…) {…} }` →
/// `order`.
fn root_field(query: &str) -> Option<&str> {
    let rest = &query[query.find('{')? + 1..];
    let rest = rest.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|f| !f.is_empty())
}

async fn graphql(
    AxState(st): AxState<Arc<Shopify>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    st.graphql_calls.fetch_add(1, Ordering::Relaxed);
    let quarterly = version.len() == 7
        && version[..4].bytes().all(|b| b.is_ascii_digit())
        && ["-01", "-04", "-07", "-10"].contains(&&version[4..]);
    if !quarterly {
        return (StatusCode::NOT_FOUND, Json(json!({"errors": "Not Found"}))).into_response();
    }
    let token = headers
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    if !token.is_some_and(|t| st.oauth.valid(t)) {
        st.unauthorized.fetch_add(1, Ordering::Relaxed);
        let message =
            "[API] Invalid API key or access token (unrecognized login or wrong password)";
        return (StatusCode::UNAUTHORIZED, Json(json!({"errors": message}))).into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": {"query": "Required parameter missing or invalid"}})),
        )
            .into_response();
    };
    let Some(query) = request["query"].as_str() else {
        return graphql_errors("No query string was present", "BAD_REQUEST");
    };
    let throttled = st
        .throttle_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if throttled {
        st.throttled.fetch_add(1, Ordering::Relaxed);
        let mut body = json!({"errors": [{
            "message": "Throttled",
            "extensions": {"code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }]});
        body["extensions"] = cost(0.0);
        return Json(body).into_response();
    }
    let vars = &request["variables"];
    let mutation = query.trim_start().starts_with("mutation");
    let data = match (mutation, root_field(query)) {
        (false, Some("shop")) => json!({"shop": {"name": "Fake Shop"}}),
        (false, Some("order")) => st.shop.order(vars),
        (false, Some("orders")) => st.shop.orders(vars),
        (false, Some("product")) => st.shop.product(vars),
        (true, Some("inventoryAdjustQuantities")) => {
            match st.keys.run(&version, query, vars, || st.shop.adjust(vars)) {
                Ok(data) => data,
                Err(message) => return graphql_errors(&message, "BAD_REQUEST"),
            }
        }
        (true, Some("fulfillmentCreate")) => st.shop.fulfill(vars),
        (true, Some("orderUpdate")) => st.shop.update(vars),
        (_, field) => {
            return graphql_errors(
                &format!(
                    "Field '{}' doesn't exist on type '{}'",
                    field.unwrap_or_default(),
                    if mutation { "Mutation" } else { "QueryRoot" }
                ),
                "undefinedField",
            )
        }
    };
    Json(json!({"data": data, "extensions": cost(MAXIMUM_AVAILABLE - QUERY_COST as f64)}))
        .into_response()
}
