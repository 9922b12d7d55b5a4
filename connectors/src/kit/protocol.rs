//! A provider's protocol: how its answers are wrapped (the envelope), which of its result codes
//! mean what (a table in the connector, first match wins), and its response size cap. The kit
//! turns any reply into the envelope's data or a classified error with one function,
//! [`interpret`], so "HTTP 200 with an error inside", 4xx refined by the body, Retry-After and
//! rate-limit headers are handled the same way for every provider.

use std::time::Duration;

use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::{self, HttpReply, DEFAULT_MAX_RESPONSE_BYTES};

/// A provider's answer split into its result and its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Whether the provider's own result code means success.
    pub success: bool,
    /// The result code as text (`"200"`, `"00"`, `"-49"`), so numeric and string codes share
    /// one table.
    pub code: String,
    pub message: String,
    /// A symbolic code some providers add (GHN `code_message`), matched by [`Match::Tag`].
    pub tag: Option<String>,
    pub data: Value,
}

impl Envelope {
    /// A success whose payload is the whole body: providers that answer plain objects and
    /// say failure with the HTTP status (Stripe, WooCommerce, the shop Admin APIs).
    pub fn ok(status: StatusCode, body: Value) -> Self {
        Self {
            success: true,
            code: status.as_u16().to_string(),
            message: String::new(),
            tag: None,
            data: body,
        }
    }

    pub fn describe(&self) -> String {
        match &self.tag {
            Some(tag) => format!("{} [{tag}]", self.message),
            None => self.message.clone(),
        }
    }
}

/// What a [`ResultCode`] row matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Any,
    Code(&'static str),
    /// Numeric codes in an inclusive range.
    CodeRange(i64, i64),
    Tag(&'static str),
    /// A fragment of the message, case-insensitively: some providers put the real cause only
    /// in free text.
    MessageContains(&'static str),
}

impl Match {
    fn matches(self, env: &Envelope) -> bool {
        match self {
            Self::Any => true,
            Self::Code(code) => env.code == code,
            Self::CodeRange(lo, hi) => env
                .code
                .trim()
                .parse::<i64>()
                .is_ok_and(|c| (lo..=hi).contains(&c)),
            Self::Tag(tag) => env.tag.as_deref() == Some(tag),
            Self::MessageContains(fragment) => env
                .message
                .to_lowercase()
                .contains(&fragment.to_lowercase()),
        }
    }
}

/// One row of a provider's result-code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultCode {
    pub when: Match,
    pub kind: ErrorKind,
    /// None: the kind's default (rate limits and outages retry, rejections do not).
    pub retryable: Option<bool>,
    /// False when the provider states it did nothing (e.g. "busy, not processed"), which lets
    /// the engine retry even a write that has no idempotency key.
    pub request_sent: bool,
}

impl ResultCode {
    pub const fn on(when: Match, kind: ErrorKind) -> Self {
        Self {
            when,
            kind,
            retryable: None,
            request_sent: true,
        }
    }

    pub const fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    pub const fn not_applied(mut self) -> Self {
        self.request_sent = false;
        self
    }
}

/// Implemented once per provider, as data: the connector's envelope parser and code table.
pub trait Protocol: Send + Sync {
    /// Named in error messages.
    fn provider(&self) -> &'static str;

    /// Split a JSON answer into its envelope; None when it has none. Sees the HTTP status for
    /// providers whose envelope differs between success and failure.
    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope>;

    /// First match wins; an envelope no row matches is a non-retryable PROVIDER_REJECTED.
    fn result_codes(&self) -> &'static [ResultCode];

    /// Described in the error when a success answer has no envelope.
    fn envelope_shape(&self) -> &'static str {
        "its envelope"
    }

    fn max_response_bytes(&self) -> usize {
        DEFAULT_MAX_RESPONSE_BYTES
    }

    /// For an HTTP error status carrying an envelope: whether the envelope's code decides
    /// the error (bodies refine plain 4xx answers, e.g. a 400 that is really a 404) or the
    /// status does (auth, throttling and outages are clearer from the status).
    fn envelope_decides(&self, status: StatusCode) -> bool {
        status.is_client_error() && !matches!(status.as_u16(), 401 | 403 | 429)
    }
}

/// The error an unsuccessful envelope stands for, through the protocol's table.
pub fn classify(protocol: &dyn Protocol, env: &Envelope, retry_hint: Option<Duration>) -> Error {
    let row = protocol
        .result_codes()
        .iter()
        .find(|row| row.when.matches(env));
    let (kind, retryable, sent) = match row {
        Some(row) => (
            row.kind,
            row.retryable.unwrap_or(row.kind.default_retryable()),
            row.request_sent,
        ),
        None => (ErrorKind::ProviderRejected, false, true),
    };
    Error::new(
        kind,
        format!(
            "{} error {}: {}",
            protocol.provider(),
            env.code,
            env.describe()
        ),
    )
    .with_retryable(retryable)
    .with_request_sent(sent)
    .with_retry_after(retry_hint.filter(|_| retryable))
}

/// A complete reply as the envelope's data, or as a classified error.
pub fn interpret(protocol: &dyn Protocol, reply: &HttpReply) -> Result<Value> {
    let provider = protocol.provider();
    let parsed = reply.json(provider);
    if !reply.is_success() {
        let env = parsed.ok().and_then(|v| protocol.envelope(reply.status, v));
        return Err(match env {
            Some(env) if protocol.envelope_decides(reply.status) => {
                classify(protocol, &env, reply.retry_hint())
            }
            env => http::status_error(
                provider,
                reply.status,
                reply.retry_hint(),
                env.as_ref().map(Envelope::describe).as_deref(),
            ),
        });
    }
    let Some(env) = protocol.envelope(reply.status, parsed?) else {
        return Err(Error::new(
            ErrorKind::ProviderBadResponse,
            format!("{provider} answered without {}", protocol.envelope_shape()),
        )
        .with_retryable(true)
        .with_request_sent(true));
    };
    if !env.success {
        // Many providers fail with HTTP 200: the envelope's code is what counts.
        return Err(classify(protocol, &env, reply.retry_hint()));
    }
    Ok(env.data)
}

#[cfg(test)]
mod tests;
