//! A fake Haravan under `/haravan` (standing for `https://apis.haravan.com`, and for
//! `https://accounts.haravan.com`, served under the same prefix), its API at `/com/…`: the
//! shared Shopify-style fake ([`super::admin`]) with Haravan's auth — an access token from
//! Haravan's OAuth as `Authorization: Bearer` — and its call limit: a bucket of 80 calls
//! leaking 4 per second, reported as `X-Haravan-Api-Call-Limit: used/80`, 429 with
//! `Retry-After` when full.
//!
//! OAuth (the grants are the fake Shopify's, [`super::shopify::oauth::OAuth`]):
//! `GET /connect/authorize` wants `response_type=code` and `response_mode=query` and
//! redirects at once with `code` and `state` (or `error=access_denied` when told to decline);
//! `POST /connect/token` takes only a form-encoded `authorization_code` grant with the app's
//! client id and secret and the authorization's `redirect_uri`, and answers a token that does
//! not expire and no refresh token. A wrong secret is `invalid_client`; a used, unknown or
//! differently redirected code is `invalid_grant`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::admin::Platform;
use super::shopify::oauth::{denied, OAuth, Refusal};
use super::shopify::{consent, token_error};
use crate::state::State;

/// A token issued before the fake started (an earlier consent): what tests that do not go
/// through the OAuth flow connect with. Revoking the grants refuses it too.
pub const ACCESS_TOKEN: &str = "haravan-fake-access-token-7c41e9a0";
/// The operator's Haravan app.
pub const CLIENT_ID: &str = "fake-haravan-client";
pub const CLIENT_SECRET: &str = "fake-haravan-secret-3b9d";
/// Seeded orders: 1001 paid, 1002 pending (both open, unfulfilled), 1003 cancelled; each
/// with lines `<id>1` (2 units) and `<id>2` (1 unit).
pub const ORDER_IDS: [i64; 3] = [1001, 1002, 1003];
pub const PRODUCT_IDS: [i64; 2] = [501, 502];
pub const BUCKET_SIZE: u32 = 80;

fn authorized(headers: &HeaderMap, oauth: Option<&OAuth>) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    token.zip(oauth).is_some_and(|(t, o)| o.valid(t))
}

pub(crate) static PLATFORM: Platform = Platform {
    root: "/com",
    limit_header: "x-haravan-api-call-limit",
    bucket_size: BUCKET_SIZE,
    leak_per_sec: 4.0,
    authorized,
};

/// Haravan's grants, with [`ACCESS_TOKEN`] already issued.
pub(crate) fn oauth() -> Arc<OAuth> {
    Arc::new(OAuth::new((CLIENT_ID, CLIENT_SECRET), ("hrv_at_", "hrv_rt_")).seeded(ACCESS_TOKEN))
}

pub(crate) fn routes(oauth: Arc<OAuth>) -> Router<Arc<State>> {
    Router::new()
        .route("/connect/authorize", get(authorize))
        .route("/connect/token", post(token))
        .with_state(oauth)
}

/// `POST /__haravan/deny-next`: the next consent is declined; `POST /__haravan/revoke`: the
/// shop removed the app, every token is refused (401).
pub(crate) fn control(oauth: Arc<OAuth>) -> Router<Arc<State>> {
    Router::new()
        .route(
            "/deny-next",
            post(|AxState(o): AxState<Arc<OAuth>>| async move {
                o.deny_next.store(true, Ordering::SeqCst);
                Json(json!({"denyNext": true}))
            }),
        )
        .route(
            "/revoke",
            post(|AxState(o): AxState<Arc<OAuth>>| async move {
                o.revoke_all();
                Json(json!({"revoked": true}))
            }),
        )
        .with_state(oauth)
}

async fn authorize(
    AxState(oauth): AxState<Arc<OAuth>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let text = |k: &str| q.get(k).map(String::as_str);
    if text("response_type") != Some("code") || text("response_mode") != Some("query") {
        return (
            StatusCode::BAD_REQUEST,
            "response_type=code and response_mode=query are required",
        )
            .into_response();
    }
    consent(&oauth, &q, |redirect_uri, state| {
        match oauth.grant_code(redirect_uri) {
            Some(code) => vec![("code".into(), code), ("state".into(), state.into())],
            None => denied(state),
        }
    })
}

async fn token(AxState(oauth): AxState<Arc<OAuth>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token request must be application/x-www-form-urlencoded",
        );
    }
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let text = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    if text("grant_type") != "authorization_code" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only the authorization_code grant is supported",
        );
    }
    let client = (text("client_id"), text("client_secret"));
    // The redirect_uri is required here (it must equal the authorization's).
    match oauth.exchange(client, text("code"), Some(text("redirect_uri")), false) {
        Ok(issued) => Json(json!({
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "scope": "openid profile email org userinfo com.read_orders com.write_orders com.read_products",
        }))
        .into_response(),
        Err(Refusal::Client) => token_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client authentication failed",
        ),
        Err(Refusal::Grant(why)) => token_error(StatusCode::BAD_REQUEST, "invalid_grant", why),
    }
}
