//! HubSpot for one call: the Bearer token the kit hands each attempt, and HubSpot's protocol —
//! plain JSON on success, `{status: "error", message, correlationId, category}` on failure
//! (the category refines 4xx answers), and 429 with `X-HubSpot-RateLimit-*` headers: the
//! ten-second window (`-Interval-Milliseconds`, `-Remaining`) or the daily one
//! (`-Daily-Remaining`, reset at midnight).

use std::time::Duration;

use chrono::{Timelike, Utc};
use integrations_core::connector::CallContext;
use integrations_core::{ErrorKind, Result};
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::HttpReply;
use crate::kit::protocol::interpret;
use crate::kit::{Auth, Envelope, Match, Protocol, ProviderClient, Request, ResultCode, TokenApi};

pub const PRODUCTION_URL: &str = "https://api.hubapi.com";
pub(crate) const PROVIDER: &str = "HubSpot";

pub(crate) struct HubSpot;

pub(crate) static HUBSPOT: HubSpot = HubSpot;

impl Protocol for HubSpot {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        if status.is_success() {
            return Some(Envelope {
                success: true,
                code: String::new(),
                message: String::new(),
                tag: None,
                data: body,
            });
        }
        let message = body.get("message").and_then(Value::as_str)?.to_string();
        let correlation = body.get("correlationId").and_then(Value::as_str);
        Some(Envelope {
            success: false,
            code: body
                .get("category")
                .and_then(Value::as_str)
                .unwrap_or("ERROR")
                .to_string(),
            message: match correlation {
                Some(id) => format!("{message} (correlationId {id})"),
                None => message,
            },
            tag: None,
            data: Value::Null,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        HUBSPOT_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "a JSON object"
    }
}

const HUBSPOT_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("OBJECT_NOT_FOUND"), ErrorKind::ProviderNotFound),
    ResultCode::on(Match::Code("RATE_LIMITS"), ErrorKind::ProviderRateLimited).not_applied(),
    ResultCode::on(
        Match::Code("INVALID_AUTHENTICATION"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(
        Match::Code("EXPIRED_AUTHENTICATION"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

/// HubSpot as seen by one attempt.
pub(crate) struct HubSpotApi {
    client: ProviderClient,
}

impl TokenApi for HubSpotApi {
    /// The base URL: HubSpot's, or the operator's.
    type Config = String;

    fn config(_: &CallContext<'_>, base_url_override: Option<&str>) -> Result<String> {
        Ok(base_url_override.unwrap_or(PRODUCTION_URL).to_string())
    }

    fn base_url(config: &String) -> &str {
        config
    }

    fn new(http: &reqwest::Client, base_url: String, auth: Auth, budget: Duration) -> Self {
        Self {
            client: ProviderClient::new(http, &base_url, &HUBSPOT, auth, budget),
        }
    }
}

impl HubSpotApi {
    /// One request: its JSON, or a classified error; a 429 carries the wait its rate-limit
    /// headers imply.
    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        let reply = self.client.send(request).await?;
        interpret(&HUBSPOT, &reply).map_err(|e| {
            if e.kind != ErrorKind::ProviderRateLimited || e.retry_after.is_some() {
                return e;
            }
            let wait = rate_limit_wait(&reply);
            e.with_retry_after(wait)
        })
    }

    /// The raw reply (for answers whose status the action reads itself).
    pub(crate) async fn send(&self, request: Request) -> Result<HttpReply> {
        self.client.send(request).await
    }
}

fn header_u64(reply: &HttpReply, name: &str) -> Option<u64> {
    reply.headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The daily limit spent: until midnight (UTC; HubSpot resets in the account's time zone, so
/// this may be early, and the next attempt waits again). Else the ten-second window.
pub(crate) fn rate_limit_wait(reply: &HttpReply) -> Option<Duration> {
    if header_u64(reply, "x-hubspot-ratelimit-daily-remaining") == Some(0) {
        let now = Utc::now();
        let left = 86_400 - u64::from(now.num_seconds_from_midnight());
        return Some(Duration::from_secs(left.max(1)));
    }
    if header_u64(reply, "x-hubspot-ratelimit-remaining") == Some(0) {
        let interval = header_u64(reply, "x-hubspot-ratelimit-interval-milliseconds")?;
        return Some(Duration::from_millis(interval.max(1)));
    }
    None
}
