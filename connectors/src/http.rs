//! The transport under the kit: send one prepared request with a per-call timeout and a
//! response size cap, and classify transport failures and HTTP statuses into core [`Error`]s
//! (kind, retryable, request_sent, retry_after). Envelopes, auth and actions live in
//! [`crate::kit`], which builds on this.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use integrations_core::outbound::{self, Lookup, OutboundPolicy, SystemLookup};
use integrations_core::{Error, ErrorKind, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::Value;

pub use crate::kit::request::Outgoing;

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Provider answers larger than this are refused (they are never legitimate for our calls).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The tenant client's ceiling on a whole call; each call sets its own (shorter) timeout.
const TENANT_CLIENT_TIMEOUT: Duration = Duration::from_secs(300);

/// Integrations whose connections name the host to call (a shop on its own domain).
const TENANT_HOSTED: &[&str] = &[
    crate::ecommerce::woocommerce::INTEGRATION_ID,
    crate::ecommerce::prestashop::INTEGRATION_ID,
];

/// What every connector is built with.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// Shared by all connectors, so connection pools are reused across tenants.
    pub client: reqwest::Client,
    /// For hosts a tenant chose ([`TENANT_HOSTED`]): the outbound client callbacks use, whose
    /// resolver drops non-public addresses when connecting (unless private ones are allowed),
    /// so a shop URL cannot point our requests at the internal network.
    pub tenant_client: reqwest::Client,
    /// Base URL per integration id, replacing the provider's (tests, self-hosted proxies).
    pub base_urls: BTreeMap<String, String>,
    pub connect_timeout: Duration,
}

impl ConnectorSettings {
    /// Fails when an HTTP client cannot be built with its settings (no redirects): start-up
    /// stops rather than run with a default client. Tenant-chosen hosts must be public.
    pub fn new() -> integrations_core::Result<Self> {
        Self::with_connect_timeout(DEFAULT_CONNECT_TIMEOUT)
    }

    pub fn with_connect_timeout(connect_timeout: Duration) -> integrations_core::Result<Self> {
        Ok(Self {
            client: build_client(connect_timeout)?,
            tenant_client: tenant_client(connect_timeout, false, Arc::new(SystemLookup))?,
            base_urls: BTreeMap::new(),
            connect_timeout,
        })
    }

    /// The operator's switch for tenant-chosen hosts: `allow_private` lets them be private
    /// (tests, on-premises shops); `lookup` resolves their names (tests map names).
    pub fn with_tenant_hosts(
        mut self,
        allow_private: bool,
        lookup: Arc<dyn Lookup>,
    ) -> integrations_core::Result<Self> {
        self.tenant_client = tenant_client(self.connect_timeout, allow_private, lookup)?;
        Ok(self)
    }

    /// The client an integration's connector calls with: the tenant client for hosts the
    /// connection names, unless the operator replaced its base URL (then the host is the
    /// operator's choice, as for every other integration).
    pub fn client_for(&self, integration_id: &str) -> &reqwest::Client {
        let tenant_hosted = TENANT_HOSTED.contains(&integration_id);
        if tenant_hosted && self.base_url(integration_id).is_none() {
            &self.tenant_client
        } else {
            &self.client
        }
    }

    /// Point one integration at another base URL.
    pub fn with_base_url(mut self, integration_id: &str, base_url: &str) -> Self {
        self.base_urls
            .insert(integration_id.to_string(), base_url.to_string());
        self
    }

    pub fn base_url(&self, integration_id: &str) -> Option<&str> {
        self.base_urls.get(integration_id).map(String::as_str)
    }
}

fn tenant_client(
    connect_timeout: Duration,
    allow_private: bool,
    lookup: Arc<dyn Lookup>,
) -> integrations_core::Result<reqwest::Client> {
    let policy = OutboundPolicy {
        allow_private,
        timeout: TENANT_CLIENT_TIMEOUT,
        connect_timeout,
    };
    outbound::client_with_lookup(&policy, lookup)
}

fn build_client(connect_timeout: Duration) -> integrations_core::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        // Credentials travel in custom headers that reqwest would not strip on a cross-host
        // redirect, and provider APIs do not redirect: a 3xx is an error.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "integrations-connectors/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| {
            integrations_core::Error::internal(format!(
                "connectors' HTTP client: {}",
                integrations_core::outbound::describe(&e)
            ))
        })
}

/// One prepared request on its way out: where to, the exact bytes (see [`Outgoing`]), and the
/// limits it runs under.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// Named in error messages ("GHN answered HTTP 500 …").
    pub provider: &'a str,
    /// Scheme, host and base path, without a trailing slash; the request adds path and query.
    pub base_url: &'a str,
    pub request: &'a Outgoing,
    /// The whole call, connect to last body byte.
    pub timeout: Duration,
    pub max_response_bytes: usize,
}

/// Rate-limit headers some providers send beside (or instead of) Retry-After.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls left in the current window (`RateLimit-Remaining`, `X-RateLimit-Remaining`).
    pub remaining: Option<u64>,
    /// When the window resets (`RateLimit-Reset`, `X-RateLimit-Reset`), as a delay from now.
    pub reset_after: Option<Duration>,
}

/// A complete answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub retry_after: Option<Duration>,
    pub rate_limit: RateLimit,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// How long to wait before retrying: Retry-After, else the rate-limit window's reset
    /// (unless the window still has calls left: then its reset is no reason to wait).
    pub fn retry_hint(&self) -> Option<Duration> {
        let window = self
            .rate_limit
            .reset_after
            .filter(|_| self.rate_limit.remaining.is_none_or(|n| n == 0));
        self.retry_after.or(window)
    }

    /// The body as JSON; a body that does not parse is PROVIDER_BAD_RESPONSE (retryable: a
    /// garbled answer is usually a transient proxy or gateway fault).
    pub fn json(&self, provider: &str) -> Result<Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::ProviderBadResponse,
                format!(
                    "{provider} answered HTTP {} with malformed JSON: {e}",
                    self.status.as_u16()
                ),
            )
            .with_retryable(true)
            .with_request_sent(true)
        })
    }
}

/// Send exactly `call.request` (its bytes are what a signer saw) and read the whole answer, up
/// to the size cap. Transport failures come back classified; HTTP statuses do not (see
/// [`status_error`]), since providers' bodies refine them.
pub async fn send(client: &reqwest::Client, call: &Call<'_>) -> Result<HttpReply> {
    let request = call.request;
    let url = format!("{}{}", call.base_url, request.target());
    let mut req = client
        .request(request.method.clone(), url)
        .timeout(call.timeout);
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes());
        let value = HeaderValue::from_str(value);
        match (name, value) {
            (Ok(n), Ok(mut v)) => {
                v.set_sensitive(true);
                req = req.header(n, v);
            }
            // Never echo the value: it may be a credential.
            _ => {
                return Err(Error::validation(format!(
                    "invalid characters in a {} request header",
                    call.provider
                )))
            }
        }
    }
    if !request.body.is_empty() {
        req = req.body(request.body.clone());
    }
    let mut resp = req.send().await.map_err(|e| transport_error(call, e))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let now = Utc::now();
    let retry_after =
        header_str(&headers, RETRY_AFTER.as_str()).and_then(|v| parse_retry_after(v, now));
    let rate_limit = parse_rate_limit(&headers, now);
    let too_large = || {
        Error::new(
            ErrorKind::ProviderBadResponse,
            format!(
                "{} answer exceeds {} bytes",
                call.provider, call.max_response_bytes
            ),
        )
        .with_request_sent(true)
    };
    if resp
        .content_length()
        .is_some_and(|n| n > call.max_response_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(call, e))? {
        if body.len() + chunk.len() > call.max_response_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(HttpReply {
        status,
        headers,
        retry_after,
        rate_limit,
        body,
    })
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The IETF draft's `RateLimit-*` names first, then the common `X-RateLimit-*` ones.
pub fn parse_rate_limit(headers: &HeaderMap, now: DateTime<Utc>) -> RateLimit {
    let first = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| header_str(headers, n))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let remaining = first(["ratelimit-remaining", "x-ratelimit-remaining"]);
    let reset_after = first(["ratelimit-reset", "x-ratelimit-reset"]).map(|n| {
        // Some providers send a delay, others (GitHub, Stripe-like APIs) a Unix time; no
        // window lasts 30 years, so a value that large is a timestamp.
        if n > EPOCH_THRESHOLD {
            let secs = u64::try_from(now.timestamp()).unwrap_or(0);
            Duration::from_secs(n.saturating_sub(secs))
        } else {
            Duration::from_secs(n)
        }
    });
    RateLimit {
        remaining,
        reset_after,
    }
}

const EPOCH_THRESHOLD: u64 = 1_000_000_000;

/// The reqwest error is kept as the cause without its URL: a query string may carry a
/// credential (a token or signature parameter).
fn transport_error(call: &Call<'_>, e: reqwest::Error) -> Error {
    let e = e.without_url();
    let provider = call.provider;
    // A tenant-chosen host that resolves only to non-public addresses: the connection's
    // configuration is wrong, and retrying changes nothing while its DNS says the same.
    if let Some(refused) = outbound::refused_by_policy(&e) {
        return Error::validation(format!(
            "the {provider} connection is misconfigured: {refused}"
        ))
        .with_request_sent(false)
        .with_source(e);
    }
    // Checked first: a connect timeout is also a timeout, but nothing was sent.
    if e.is_connect() {
        return Error::new(
            ErrorKind::NetworkError,
            format!("could not connect to {provider}: {}", root_cause(&e)),
        )
        .with_request_sent(false)
        .with_source(e);
    }
    if e.is_timeout() {
        return Error::new(
            ErrorKind::ProviderTimeout,
            format!(
                "{provider} did not answer within {} ms",
                call.timeout.as_millis()
            ),
        )
        .with_request_sent(true)
        .with_source(e);
    }
    Error::new(
        ErrorKind::NetworkError,
        format!(
            "connection to {provider} failed after the request was sent: {}",
            root_cause(&e)
        ),
    )
    .with_request_sent(true)
    .with_source(e)
}

/// The innermost cause ("Connection refused", "connection closed before message completed"),
/// which says more than reqwest's outer message and never contains the URL.
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The error for a non-success HTTP status. `detail` is the provider's own message, if any.
pub fn status_error(
    provider: &str,
    status: StatusCode,
    retry_after: Option<Duration>,
    detail: Option<&str>,
) -> Error {
    let code = status.as_u16();
    let kind = match code {
        429 => ErrorKind::ProviderRateLimited,
        500..=599 => ErrorKind::ProviderUnavailable,
        408 => ErrorKind::ProviderTimeout,
        401 | 403 => ErrorKind::ProviderAuthFailed,
        404 => ErrorKind::ProviderNotFound,
        400..=499 => ErrorKind::ProviderRejected,
        _ => ErrorKind::ProviderBadResponse,
    };
    let message = match detail.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => format!("{provider} answered HTTP {code}: {d}"),
        None => format!("{provider} answered HTTP {code}"),
    };
    let retry_after = retry_after.filter(|_| kind.default_retryable());
    Error::new(kind, message)
        .with_retry_after(retry_after)
        // A 429 refuses the request before acting on it (RFC 6585): even a write that has no
        // idempotency key may be sent again once the limit allows, instead of ending
        // OUTCOME_UNKNOWN. Every other status may follow an effect.
        .with_request_sent(code != 429)
}

/// `Retry-After` as delay-seconds or an HTTP-date (a past date means "now").
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        at.with_timezone(&Utc)
            .signed_duration_since(now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// An error whose message is scrubbed of every credential value ([`scrub`], the one redactor
/// for free text): anything built from provider text could echo a credential back.
///
/// [`scrub`]: integrations_core::sanitize::scrub
pub fn redact_error(mut err: Error, secrets: &[&str]) -> Error {
    err.message = integrations_core::sanitize::scrub(&err.message, secrets);
    err
}

#[cfg(test)]
mod tests;
