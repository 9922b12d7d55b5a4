//! Haravan for one call: its OAuth access token as a Bearer token, the Shopify-style Admin API protocol shared with Sapo,
//! and Haravan's call limit — a bucket of 80 calls per shop leaking 4 per second, reported on
//! every answer as `X-Haravan-Api-Call-Limit: used/80`. The last report per shop is kept in
//! this process, and a call that would bring the bucket within [`HEADROOM`] of full waits for
//! it to leak first, so the shop is slowed down before Haravan answers 429 (which, when it
//! comes anyway, is a retryable rate limit after its `Retry-After`).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use integrations_core::cache::TtlCache;
use integrations_core::connector::CallContext;
use integrations_core::Result;
use serde::Deserialize;
use serde_json::Value;

use crate::ecommerce::admin_api::AdminApi;
use crate::http::HttpReply;
use crate::kit::auth::token::oauth2::{self, TokenEndpoint};
use crate::kit::auth::token::{rejected_as_auth_failure, Grant};
use crate::kit::config;
use crate::kit::protocol::interpret;
use crate::kit::{Auth, KeyPlace, LoginStep, ProviderClient, Request, TokenApi, TokenLogin};

pub const BASE_URL: &str = "https://apis.haravan.com";

pub(crate) const PROVIDER: &str = "Haravan";

static TOKEN_ENDPOINT: TokenEndpoint = TokenEndpoint {
    provider: "Haravan",
    codes: oauth2::RFC6749_CODES,
};

/// `oauth2`: the access token from Haravan's OAuth callback as `Authorization: Bearer`.
/// Haravan's tokens do not expire and come without a refresh token, so the refresh step never
/// sends anything: a refused token answers CONNECTION_REAUTH_REQUIRED (authorize again).
pub(crate) static HARAVAN_OAUTH: TokenLogin = TokenLogin {
    grant: Grant::RefreshToken,
    protocol: &TOKEN_ENDPOINT,
    steps: &[LoginStep {
        request: |input| oauth2::refresh_request("/connect/token", input),
        token: "/access_token",
        expires: None,
        keep: oauth2::KEEP_REFRESH_TOKEN,
    }],
    place: KeyPlace::Bearer,
    secret_field: oauth2::ACCESS_TOKEN,
    rejected: rejected_as_auth_failure,
};

static HARAVAN: AdminApi = AdminApi(PROVIDER);

const LIMIT_HEADER: &str = "x-haravan-api-call-limit";
/// Calls per second the bucket leaks.
const LEAK_PER_SEC: f64 = 4.0;
/// Calls kept free in the bucket for other processes of the fleet and for the shop's other
/// apps, which share it.
pub(crate) const HEADROOM: f64 = 8.0;
/// The longest wait for the bucket: more than this and the call goes anyway (Haravan's 429 is
/// then the signal, retried by the engine).
const MAX_PACE: Duration = Duration::from_secs(5);

const SHOP_SUFFIX: &str = ".myharavan.com";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    shop_domain: String,
}

/// What a call needs: the shop (its rate-limit bucket and name) and where the API is.
#[derive(Debug, Clone)]
pub(crate) struct HaravanConfig {
    shop: String,
    base_url: String,
}

/// A bucket report: calls used of the size, when it was seen.
#[derive(Debug, Clone, Copy)]
struct Report {
    used: f64,
    size: f64,
    at: Instant,
}

/// The last report per shop. Stale after 30 s: by then a bucket of 80 has long leaked empty.
fn reports() -> &'static TtlCache<String, Report> {
    static REPORTS: OnceLock<TtlCache<String, Report>> = OnceLock::new();
    REPORTS.get_or_init(|| TtlCache::new(Duration::from_secs(30), 10_000))
}

/// How long to wait before one more call, given the last report.
fn pace(report: Option<Report>, now: Instant) -> Duration {
    let Some(r) = report else {
        return Duration::ZERO;
    };
    let leaked = now.saturating_duration_since(r.at).as_secs_f64() * LEAK_PER_SEC;
    let after = (r.used - leaked).max(0.0) + 1.0;
    let over = after - (r.size - HEADROOM);
    if over <= 0.0 {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(over / LEAK_PER_SEC).min(MAX_PACE)
}

/// `used/size` from the header.
fn parse_limit(reply: &HttpReply) -> Option<(f64, f64)> {
    let raw = reply.headers.get(LIMIT_HEADER)?.to_str().ok()?;
    let (used, size) = raw.trim().split_once('/')?;
    let (used, size) = (used.trim().parse().ok()?, size.trim().parse().ok()?);
    (size > 0.0).then_some((used, size))
}

pub(crate) struct HaravanApi {
    client: ProviderClient,
    shop: String,
}

impl TokenApi for HaravanApi {
    type Config = HaravanConfig;

    fn config(ctx: &CallContext<'_>, base_url_override: Option<&str>) -> Result<HaravanConfig> {
        let raw: RawConfig = config::load(PROVIDER, ctx)?;
        Ok(HaravanConfig {
            shop: config::platform_subdomain(
                PROVIDER,
                "shopDomain",
                &raw.shop_domain,
                SHOP_SUFFIX,
            )?,
            base_url: base_url_override.unwrap_or(BASE_URL).to_string(),
        })
    }

    fn base_url(config: &HaravanConfig) -> &str {
        &config.base_url
    }

    fn new(http: &reqwest::Client, config: HaravanConfig, auth: Auth, budget: Duration) -> Self {
        Self {
            client: ProviderClient::new(http, &config.base_url, &HARAVAN, auth, budget),
            shop: config.shop,
        }
    }
}

impl HaravanApi {
    pub(crate) fn shop(&self) -> &str {
        &self.shop
    }

    /// Wait for room in the shop's bucket, call, and keep the bucket's new report.
    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        let wait = pace(reports().get(&self.shop), Instant::now());
        if !wait.is_zero() {
            tracing::debug!(shop = %self.shop, wait_ms = wait.as_millis() as u64, "pacing Haravan calls");
            tokio::time::sleep(wait).await;
        }
        let reply = self.client.send(request).await?;
        if let Some((used, size)) = parse_limit(&reply) {
            let report = Report {
                used,
                size,
                at: Instant::now(),
            };
            reports().insert(self.shop.clone(), report);
        }
        interpret(&HARAVAN, &reply)
    }
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn calls_wait_only_when_the_bucket_nears_full() {
        let now = Instant::now();
        let seen = |used: f64, ago_ms: u64| {
            Some(Report {
                used,
                size: 80.0,
                at: now - Duration::from_millis(ago_ms),
            })
        };
        assert_eq!(pace(None, now), Duration::ZERO);
        assert_eq!(pace(seen(40.0, 0), now), Duration::ZERO);
        assert_eq!(pace(seen(71.0, 0), now), Duration::ZERO, "72 still fits");
        // 80 used: 9 calls over the 72 threshold, leaking 4 a second.
        assert_eq!(pace(seen(80.0, 0), now), Duration::from_secs_f64(9.0 / 4.0));
        assert_eq!(
            pace(seen(80.0, 1000), now),
            Duration::from_secs_f64(5.0 / 4.0)
        );
        assert_eq!(
            pace(seen(80.0, 10_000), now),
            Duration::ZERO,
            "leaked empty"
        );
        let huge = Some(Report {
            used: 500.0,
            size: 80.0,
            at: now,
        });
        assert_eq!(pace(huge, now), MAX_PACE);
    }
}
