//! A fake Haravan under `/haravan` (standing for `https://apis.haravan.com`), its API at
//! `/com/…`: the shared Shopify-style fake ([`super::admin`]) with Haravan's auth — the
//! shop's access token as `Authorization: Bearer` — and its call limit: a bucket of 80 calls
//! leaking 4 per second, reported as `X-Haravan-Api-Call-Limit: used/80`, 429 with
//! `Retry-After` when full.

use axum::http::HeaderMap;

use super::admin::Platform;

/// The access token the fake accepts (what Haravan's OAuth consent would issue).
pub const ACCESS_TOKEN: &str = "haravan-fake-access-token-7c41e9a0";
/// Seeded orders: 1001 paid, 1002 pending (both open, unfulfilled), 1003 cancelled; each
/// with lines `<id>1` (2 units) and `<id>2` (1 unit).
pub const ORDER_IDS: [i64; 3] = [1001, 1002, 1003];
pub const PRODUCT_IDS: [i64; 2] = [501, 502];
pub const BUCKET_SIZE: u32 = 80;

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        == Some(ACCESS_TOKEN)
}

pub(crate) static PLATFORM: Platform = Platform {
    root: "/com",
    limit_header: "x-haravan-api-call-limit",
    bucket_size: BUCKET_SIZE,
    leak_per_sec: 4.0,
    authorized,
};
