//! Fake shipping providers besides GHN, one module each under its own path prefix (the real
//! path shape after it), each with its own in-memory state. Calls under the prefixes pass
//! through the shared fault injection and call counts of [`crate::server`]; each provider's
//! control endpoints live under `/__<provider>/…`, outside the faults.
//!
//! | endpoint | effect |
//! |---|---|
//! | `POST /__ghtk/orders/{label}/status` | `{"status": 3}`: move a GHTK order along |
//! | `GET /__ghtk/stats` | `{"orders": n}` |
//! | `GET /__viettelpost/stats` | [`viettelpost::VtpStats`]: logins, token exchanges, orders |
//! | `POST /__viettelpost/expire-tokens` | every token issued so far answers "expired" |
//! | `POST /__viettelpost/orders/{code}/status` | `{"status": 200}`: move a VTP order along |
//!
//! Their state is per fake server: `POST /__reset` (GHN's) leaves it alone; start a new fake.

pub mod ghtk;
pub mod viettelpost;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;

use crate::state::State;
use crate::{FakeProvider, GHTK_PREFIX, VIETTELPOST_PREFIX};

/// Both providers and their control endpoints; state is per router, i.e. per fake server.
pub(crate) fn routes() -> Router<Arc<State>> {
    let ghtk = Arc::new(ghtk::Ghtk::default());
    let vtp = Arc::new(viettelpost::Vtp::default());
    Router::new()
        .nest(GHTK_PREFIX, ghtk::routes(ghtk.clone()))
        .nest("/__ghtk", ghtk::control(ghtk))
        .nest(VIETTELPOST_PREFIX, viettelpost::routes(vtp.clone()))
        .nest("/__viettelpost", viettelpost::control(vtp))
}

/// The GHTK base URL to configure a connector with: `http://HOST:PORT/ghtk`.
pub fn ghtk_base_url(fake: &FakeProvider) -> String {
    format!("{}{GHTK_PREFIX}", fake.url())
}

/// The Viettel Post base URL: `http://HOST:PORT/viettelpost/v2`.
pub fn viettelpost_base_url(fake: &FakeProvider) -> String {
    format!("{}{VIETTELPOST_PREFIX}", fake.url())
}

fn control_error(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// A Vietnamese number: 0 or +84 then 9–10 digits.
fn valid_phone(p: &str) -> bool {
    p.strip_prefix("+84")
        .or_else(|| p.strip_prefix('0'))
        .is_some_and(|r| (9..=10).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_digit()))
}

fn now_vn() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
