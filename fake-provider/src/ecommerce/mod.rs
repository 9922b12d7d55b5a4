//! Fake shop platforms, one module each under its own path prefix with the platform's real
//! paths after it, each with its own in-memory shop. Calls under the prefixes pass through
//! the shared fault injection and call counts of [`crate::server`]; each platform's control
//! endpoints live under `/__<platform>/…`, outside the faults:
//!
//! | endpoint | effect |
//! |---|---|
//! | `POST /__woocommerce/throttle` | `{"times": n, "resetSecs": s}`: the next n calls answer WooCommerce's 429 |
//! | `GET /__woocommerce/stats` | `{"notes": n, "orders": n}` |
//!
//! Their state is per fake server: `POST /__reset` leaves it alone; start a new fake.

pub mod woocommerce;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use axum::http::HeaderMap;
use axum::Router;
use base64::Engine as _;

use crate::state::State;
use crate::{FakeProvider, WOOCOMMERCE_PREFIX};

pub(crate) fn routes() -> Router<Arc<State>> {
    let woo = Arc::new(woocommerce::Woo::seeded());
    Router::new()
        .nest(WOOCOMMERCE_PREFIX, woocommerce::routes(woo.clone()))
        .nest("/__woocommerce", woocommerce::control(woo))
}

/// The store URL of the fake WooCommerce (`http://HOST:PORT/woocommerce`): the connector adds
/// `/wp-json/wc/v3`.
pub fn woocommerce_store_url(fake: &FakeProvider) -> String {
    format!("{}{WOOCOMMERCE_PREFIX}", fake.url())
}

/// The fake WooCommerce's REST API v3 base, for a base-URL override.
pub fn woocommerce_api_url(fake: &FakeProvider) -> String {
    format!("{}/wp-json/wc/v3", woocommerce_store_url(fake))
}

/// `Authorization: Basic` as `(user, password)`; None when absent or not Basic.
pub(crate) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// A query string as name → value (the last of repeated names).
pub(crate) fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// "Answer the next n calls with the platform's throttling": set by a control endpoint, taken
/// by the platform's handlers (each answers in its own words and headers).
#[derive(Default)]
pub(crate) struct Throttle {
    left: AtomicU32,
    secs: AtomicU64,
}

impl Throttle {
    pub(crate) fn set(&self, times: u32, secs: u64) {
        self.secs.store(secs, Ordering::SeqCst);
        self.left.store(times, Ordering::SeqCst);
    }

    /// Some(seconds to wait) when this call is throttled.
    pub(crate) fn take(&self) -> Option<u64> {
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .ok()
            .map(|_| self.secs.load(Ordering::SeqCst))
    }
}

/// A page of `items` (pages from 1).
pub(crate) fn page<T: Clone>(items: &[T], page: usize, per_page: usize) -> Vec<T> {
    items
        .iter()
        .skip(page.saturating_sub(1).saturating_mul(per_page))
        .take(per_page)
        .cloned()
        .collect()
}
