//! Fake shop platforms, one module each under its own path prefix with the platform's real
//! paths after it, each with its own in-memory shop. Calls under the prefixes pass through
//! the shared fault injection and call counts of [`crate::server`]; each platform's control
//! endpoints live under `/__<platform>/…`, outside the faults:
//!
//! | endpoint | effect |
//! |---|---|
//! | `POST /__woocommerce/throttle` | `{"times": n, "resetSecs": s}`: the next n calls answer WooCommerce's 429 |
//! | `GET /__woocommerce/stats` | `{"notes": n, "orders": n}` |
//! | `POST /__prestashop/throttle` | `{"times": n, "retryAfterSecs": s}`: the next n calls answer a host's 429 |
//! | `GET /__prestashop/stats` | `{"histories": n}` |
//! | `POST /__haravan/bucket` | `{"level": n}`: fill the shop's call-limit bucket (80 calls, 4 leak per second) |
//! | `GET /__haravan/stats` | `{"fulfillments": n, "bucket": level}` |
//! | `POST /__haravan/deny-next` | the next authorization is declined (`error=access_denied`) |
//! | `POST /__haravan/revoke` | the app was removed from the shop: every access token answers 401 |
//! | `POST /__sapo/bucket` | `{"level": n}`: fill the store's call-limit bucket (40 calls, 2 leak per second) |
//! | `GET /__sapo/stats` | `{"fulfillments": n, "bucket": level}` |
//! | `GET /__shopify/stats` | [`shopify::ShopifyStats`]: authorizations, code exchanges, refreshes, GraphQL calls |
//! | `POST /__shopify/expire-tokens` | every access token issued so far has expired |
//! | `POST /__shopify/expire-refresh-tokens` | every refresh token is past its 90 days: refreshing answers `invalid_grant` |
//! | `POST /__shopify/revoke` | the merchant uninstalled the app: every token and refresh token is refused |
//! | `POST /__shopify/deny-next` | the next authorization is declined (`error=access_denied`) |
//! | `POST /__shopify/throttle` | `{"times": n}`: the next n GraphQL queries answer `THROTTLED` |
//!
//! Their state is per fake server: `POST /__reset` leaves it alone; start a new fake.

mod admin;
pub mod haravan;
pub mod prestashop;
pub mod sapo;
pub mod shopify;
pub mod woocommerce;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::http::HeaderMap;
use axum::Router;
use base64::Engine as _;

use crate::faults::lock;
use crate::state::State;
use crate::{FakeProvider, HARAVAN_PREFIX, PRESTASHOP_PREFIX, SAPO_PREFIX, WOOCOMMERCE_PREFIX};

pub(crate) fn routes() -> Router<Arc<State>> {
    let woo = Arc::new(woocommerce::Woo::seeded());
    let sapo = Arc::new(admin::AdminShop::new(&sapo::PLATFORM));
    let (presta, presta_control) = prestashop::routes();
    let haravan_oauth = haravan::oauth();
    let haravan = Arc::new(admin::AdminShop::with_oauth(
        &haravan::PLATFORM,
        haravan_oauth.clone(),
    ));
    let shopify = Arc::new(shopify::Shopify::default());
    Router::new()
        .nest(crate::SHOPIFY_PREFIX, shopify::routes(shopify.clone()))
        .nest("/__shopify", shopify::control(shopify))
        .nest(
            HARAVAN_PREFIX,
            admin::routes(haravan.clone()).merge(haravan::routes(haravan_oauth.clone())),
        )
        .nest(
            "/__haravan",
            admin::control(haravan).merge(haravan::control(haravan_oauth)),
        )
        .nest(PRESTASHOP_PREFIX, presta)
        .nest("/__prestashop", presta_control)
        .nest(WOOCOMMERCE_PREFIX, woocommerce::routes(woo.clone()))
        .nest("/__woocommerce", woocommerce::control(woo))
        .nest(SAPO_PREFIX, admin::routes(sapo.clone()))
        .nest("/__sapo", admin::control(sapo))
}

/// The Shopify base URL (for `https://{shop}`): `http://HOST:PORT/shopify`.
pub fn shopify_base_url(fake: &FakeProvider) -> String {
    format!("{}{}", fake.url(), crate::SHOPIFY_PREFIX)
}

/// The shop URL of the fake PrestaShop (`http://HOST:PORT/prestashop`): the connector adds
/// `/api`.
pub fn prestashop_shop_url(fake: &FakeProvider) -> String {
    format!("{}{PRESTASHOP_PREFIX}", fake.url())
}

/// The fake PrestaShop's webservice base, for a base-URL override.
pub fn prestashop_api_url(fake: &FakeProvider) -> String {
    format!("{}/api", prestashop_shop_url(fake))
}

/// The fake Haravan's base URL (`http://HOST:PORT/haravan`), standing for
/// `https://apis.haravan.com`.
pub fn haravan_base_url(fake: &FakeProvider) -> String {
    format!("{}{HARAVAN_PREFIX}", fake.url())
}

/// The fake Sapo store's base URL (`http://HOST:PORT/sapo`), standing for
/// `https://<store>.mysapo.net`.
pub fn sapo_base_url(fake: &FakeProvider) -> String {
    format!("{}{SAPO_PREFIX}", fake.url())
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

/// A leaky bucket as the Shopify-style platforms meter calls: each call adds one, the bucket
/// leaks `rate` per second, a call that would overflow it is refused with the wait in seconds.
pub(crate) struct LeakyBucket {
    size: f64,
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl LeakyBucket {
    pub(crate) fn new(size: u32, rate: f64) -> Self {
        Self {
            size: f64::from(size),
            rate,
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    fn leaked(&self, state: &mut (f64, Instant)) -> f64 {
        let now = Instant::now();
        state.0 = (state.0 - now.duration_since(state.1).as_secs_f64() * self.rate).max(0.0);
        state.1 = now;
        state.0
    }

    /// Ok when admitted, else the seconds until one call fits.
    pub(crate) fn take(&self) -> Result<(), u64> {
        let mut state = lock(&self.state);
        let level = self.leaked(&mut state);
        if level + 1.0 > self.size {
            return Err((((level + 1.0 - self.size) / self.rate).ceil() as u64).max(1));
        }
        state.0 = level + 1.0;
        Ok(())
    }

    /// Calls in the bucket now, as the call-limit header reports them.
    pub(crate) fn used(&self) -> u64 {
        self.level().ceil() as u64
    }

    pub(crate) fn level(&self) -> f64 {
        let mut state = lock(&self.state);
        self.leaked(&mut state)
    }

    pub(crate) fn fill(&self, level: f64) {
        let mut state = lock(&self.state);
        *state = (level.clamp(0.0, self.size), Instant::now());
    }
}
