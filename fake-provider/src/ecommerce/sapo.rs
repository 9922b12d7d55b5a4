//! A fake Sapo store under `/sapo` (standing for `https://<store>.mysapo.net`), its Admin API
//! at `/admin/…` after it: the shared Shopify-style fake ([`super::admin`]) with Sapo's auth —
//! a private app's HTTP Basic key and secret, or an installed app's `X-Sapo-Access-Token` —
//! and its call limit, `X-Sapo-Api-Call-Limit` over a 40-call bucket leaking 2 per second
//! (Sapo's figures are UNCONFIRMED; they are Shopify's, whose API Sapo's follows).

use axum::http::HeaderMap;

use super::admin::Platform;
use super::basic_auth;
use super::shopify::oauth::OAuth;

/// The private app's key and secret the fake accepts.
pub const API_KEY: &str = "sapo-fake-api-key-4f1c";
pub const API_SECRET: &str = "sapo-fake-secret-9b2e77";
/// The installed app's access token the fake accepts.
pub const ACCESS_TOKEN: &str = "sapo-fake-access-token-31d0";
/// Seeded orders: 1001 paid, 1002 pending (both open), 1003 cancelled.
pub const ORDER_IDS: [i64; 3] = [1001, 1002, 1003];
pub const BUCKET_SIZE: u32 = 40;

fn authorized(headers: &HeaderMap, _: Option<&OAuth>) -> bool {
    if let Some(token) = headers.get("x-sapo-access-token") {
        return token.to_str().ok() == Some(ACCESS_TOKEN);
    }
    basic_auth(headers).is_some_and(|(k, s)| k == API_KEY && s == API_SECRET)
}

pub(crate) static PLATFORM: Platform = Platform {
    root: "/admin",
    limit_header: "x-sapo-api-call-limit",
    bucket_size: BUCKET_SIZE,
    leak_per_sec: 2.0,
    authorized,
};
