//! A fake HubSpot under `/hubspot` (standing for `https://api.hubapi.com`; the authorize page,
//! really on app.hubspot.com, is served under the same prefix): OAuth ([`oauth`]), the CRM v3
//! contacts and deals and the v4 default associations ([`store`]). It refuses what HubSpot
//! refuses: no, an unknown or an expired Bearer token (401 `INVALID_AUTHENTICATION` /
//! `EXPIRED_AUTHENTICATION`), a token request that is not form-encoded, invalid property
//! values, a second contact with one email (409 `CONFLICT` naming the first), unknown objects
//! (404 `OBJECT_NOT_FOUND`); every error is `{status: "error", message, correlationId,
//! category}`, and every API answer carries the `X-HubSpot-RateLimit-*` headers (429 when
//! throttled on demand).

pub mod oauth;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::state::State;
pub use oauth::{CLIENT_ID, CLIENT_SECRET, PRIVATE_APP_TOKEN};
use store::Refused;

const TEN_SECONDLY_MAX: u64 = 190;
const DAILY_MAX: u64 = 250_000;

#[derive(Default)]
pub struct HubSpot {
    oauth: oauth::OAuth,
    portal: store::Portal,
    calls: AtomicU64,
    unauthorized: AtomicU64,
    throttle_next: AtomicU64,
    throttle_daily: AtomicBool,
    throttled: AtomicU64,
    /// The rolling window the limit headers announce, in ms (0: HubSpot's 10 s). Tests shorten
    /// it so that a wait for the window takes a second, not ten.
    interval_ms: AtomicU64,
}

/// What `GET /__hubspot/stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubSpotStats {
    pub authorizations: u64,
    pub code_exchanges: u64,
    pub refreshes: u64,
    pub refused_refreshes: u64,
    pub api_calls: u64,
    pub unauthorized: u64,
    pub throttled: u64,
}

pub(crate) fn routes(st: Arc<HubSpot>) -> Router<Arc<State>> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/v1/token", post(token))
        .route("/crm/v3/objects/contacts", get(list).post(create_contact))
        .route("/crm/v3/objects/contacts/search", post(search))
        .route(
            "/crm/v3/objects/contacts/{id}",
            get(get_contact).patch(update_contact),
        )
        .route("/crm/v3/objects/deals", post(create_deal))
        .route(
            "/crm/v4/objects/deal/{deal}/associations/default/contact/{contact}",
            put(associate),
        )
        .with_state(st)
}

pub(crate) fn control(st: Arc<HubSpot>) -> Router<Arc<State>> {
    Router::new()
        .route("/stats", get(stats))
        .route("/expire-tokens", post(expire_tokens))
        .route("/revoke", post(revoke))
        .route("/throttle", post(throttle))
        .with_state(st)
}

fn n(a: &AtomicU64) -> u64 {
    a.load(Ordering::SeqCst)
}

async fn stats(AxState(st): AxState<Arc<HubSpot>>) -> Response {
    let o = &st.oauth;
    Json(HubSpotStats {
        authorizations: n(&o.authorizations),
        code_exchanges: n(&o.exchanges),
        refreshes: n(&o.refreshes),
        refused_refreshes: n(&o.refused_refreshes),
        api_calls: n(&st.calls),
        unauthorized: n(&st.unauthorized),
        throttled: n(&st.throttled),
    })
    .into_response()
}

async fn expire_tokens(AxState(st): AxState<Arc<HubSpot>>) -> Response {
    st.oauth.expire_all();
    Json(json!({"expired": true})).into_response()
}

async fn revoke(AxState(st): AxState<Arc<HubSpot>>) -> Response {
    st.oauth.revoke_all();
    Json(json!({"revoked": true})).into_response()
}

async fn throttle(AxState(st): AxState<Arc<HubSpot>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    st.throttle_next
        .store(v["times"].as_u64().unwrap_or(1), Ordering::SeqCst);
    st.throttle_daily
        .store(v["daily"].as_bool().unwrap_or(false), Ordering::SeqCst);
    st.interval_ms
        .store(v["intervalMs"].as_u64().unwrap_or(0), Ordering::SeqCst);
    Json(json!({"throttleNext": v["times"]})).into_response()
}

fn correlation() -> String {
    format!("{:032x}", rand_id())
}

fn rand_id() -> u128 {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    u128::from(SEQ.fetch_add(1, Ordering::Relaxed)).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C)
}

fn error(status: StatusCode, category: &str, message: &str) -> Response {
    let body = json!({"status": "error", "message": message,
        "correlationId": correlation(), "category": category});
    (status, Json(body)).into_response()
}

async fn authorize(
    AxState(st): AxState<Arc<HubSpot>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(client), Some(redirect), Some(state)) =
        (q.get("client_id"), q.get("redirect_uri"), q.get("state"))
    else {
        return (
            StatusCode::BAD_REQUEST,
            "client_id, redirect_uri and state are required",
        )
            .into_response();
    };
    let Ok(mut target) = url::Url::parse(redirect) else {
        return (StatusCode::BAD_REQUEST, "redirect_uri is not a URL").into_response();
    };
    if client != CLIENT_ID || q.get("scope").is_none_or(|s| s.is_empty()) {
        return (StatusCode::BAD_REQUEST, "unknown app or no scope").into_response();
    }
    let code = st.oauth.authorize(redirect);
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

fn token_error(status: &str, message: &str) -> Response {
    let body = json!({"status": status, "message": message, "correlationId": correlation()});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `POST /oauth/v1/token`, form-encoded only (HubSpot refuses JSON bodies here).
async fn token(AxState(st): AxState<Arc<HubSpot>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return token_error("BAD_REQUEST", "the token request must be form-encoded");
    }
    let f: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let text = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let client = (text("client_id"), text("client_secret"));
    let result = match text("grant_type") {
        "authorization_code" => st
            .oauth
            .exchange(client, text("code"), text("redirect_uri")),
        "refresh_token" => st.oauth.refresh(client, text("refresh_token")),
        _ => return token_error("BAD_GRANT_TYPE", "grant_type is not supported"),
    };
    match result {
        Ok((access, refresh)) => Json(json!({
            "token_type": "bearer", "access_token": access, "refresh_token": refresh,
            "expires_in": 1800,
        }))
        .into_response(),
        Err(oauth::Refusal::Client) => token_error("BAD_CLIENT_ID", "missing or unknown client id"),
        Err(oauth::Refusal::Code) => token_error("BAD_AUTH_CODE", "missing or unknown auth code"),
        Err(oauth::Refusal::RefreshToken) => {
            token_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token")
        }
    }
}

/// Auth and throttling for every API call; the rate-limit headers go on every answer.
fn admit(st: &HubSpot, headers: &HeaderMap) -> Result<(), Box<Response>> {
    st.calls.fetch_add(1, Ordering::Relaxed);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let refused = match bearer.map(|b| st.oauth.check(b)) {
        Some(oauth::Check::Valid) => None,
        Some(oauth::Check::Expired) => Some((
            "EXPIRED_AUTHENTICATION",
            "The OAuth token used to make this call expired.",
        )),
        _ => Some((
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found.",
        )),
    };
    if let Some((category, message)) = refused {
        st.unauthorized.fetch_add(1, Ordering::Relaxed);
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, category, message)));
    }
    let throttled = st
        .throttle_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if !throttled {
        return Ok(());
    }
    st.throttled.fetch_add(1, Ordering::Relaxed);
    let daily = st.throttle_daily.load(Ordering::SeqCst);
    let (policy, message) = if daily {
        ("DAILY", "You have reached your daily limit.")
    } else {
        (
            "TEN_SECONDLY_ROLLING",
            "You have reached your ten_secondly_rolling limit.",
        )
    };
    let body = json!({"status": "error", "message": message, "errorType": "RATE_LIMIT",
        "correlationId": correlation(), "category": "RATE_LIMITS", "policyName": policy});
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    limit_headers(st, &mut resp, 0, if daily { 0 } else { DAILY_MAX - 1 });
    Err(Box::new(resp))
}

fn limit_headers(st: &HubSpot, resp: &mut Response, remaining: u64, daily_remaining: u64) {
    let interval = match st.interval_ms.load(Ordering::SeqCst) {
        0 => 10_000,
        ms => ms,
    };
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-hubspot-ratelimit-interval-milliseconds", interval),
        ("x-hubspot-ratelimit-max", TEN_SECONDLY_MAX),
        ("x-hubspot-ratelimit-remaining", remaining),
        ("x-hubspot-ratelimit-daily", DAILY_MAX),
        ("x-hubspot-ratelimit-daily-remaining", daily_remaining),
    ] {
        h.insert(name, HeaderValue::from(value));
    }
}

fn answer(st: &HubSpot, result: Result<Value, Refused>, created: bool) -> Response {
    let mut resp = match result {
        Ok(v) if created => (StatusCode::CREATED, Json(v)).into_response(),
        Ok(v) => Json(v).into_response(),
        Err(Refused::NotFound) => error(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "resource not found",
        ),
        Err(Refused::Conflict(id)) => error(
            StatusCode::CONFLICT,
            "CONFLICT",
            &format!("Contact already exists. Existing ID: {id}"),
        ),
        Err(Refused::Invalid(m)) => error(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &m),
    };
    limit_headers(st, &mut resp, TEN_SECONDLY_MAX - 1, DAILY_MAX - 1);
    resp
}

fn parse(body: &Bytes) -> Result<Value, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR",
            &format!("Invalid input JSON: {e}"),
        ))
    })
}

async fn list(AxState(st): AxState<Arc<HubSpot>>, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&st, &headers) {
        return *r;
    }
    answer(&st, st.portal.search(&json!({"limit": 1})), false)
}

async fn search(AxState(st): AxState<Arc<HubSpot>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = admit(&st, &headers).and_then(|_| parse(&body).map(drop)) {
        return *r;
    }
    answer(
        &st,
        st.portal.search(&parse(&body).unwrap_or_default()),
        false,
    )
}

async fn get_contact(
    AxState(st): AxState<Arc<HubSpot>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&st, &headers) {
        return *r;
    }
    let by_email = q.get("idProperty").map(String::as_str) == Some("email");
    let names: Option<Vec<String>> = q
        .get("properties")
        .map(|p| p.split(',').map(str::to_string).collect());
    let found = st.portal.get_contact(&id, by_email, names.as_deref());
    answer(&st, found.ok_or(Refused::NotFound), false)
}

async fn create_contact(
    AxState(st): AxState<Arc<HubSpot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match admit(&st, &headers).and_then(|_| parse(&body)) {
        Ok(v) => answer(&st, st.portal.create_contact(&v), true),
        Err(r) => *r,
    }
}

async fn update_contact(
    AxState(st): AxState<Arc<HubSpot>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match admit(&st, &headers).and_then(|_| parse(&body)) {
        Ok(v) => answer(&st, st.portal.update_contact(&id, &v), false),
        Err(r) => *r,
    }
}

async fn create_deal(
    AxState(st): AxState<Arc<HubSpot>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match admit(&st, &headers).and_then(|_| parse(&body)) {
        Ok(v) => answer(&st, st.portal.create_deal(&v), true),
        Err(r) => *r,
    }
}

async fn associate(
    AxState(st): AxState<Arc<HubSpot>>,
    Path((deal, contact)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = admit(&st, &headers) {
        return *r;
    }
    answer(&st, st.portal.associate(&deal, &contact), false)
}
