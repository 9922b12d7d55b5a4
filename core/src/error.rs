//! Error kinds with stable codes and retryability.
//!
//! Every error a caller can see is an [`Error`]: a stable [`ErrorKind`] (whose code string never
//! changes once shipped), a human message that never contains a credential, and a retryable flag.
//! The same type travels from connectors through the engine into stored executions and HTTP
//! responses, so classification happens once, where the failure is understood.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The stable error codes. Adding a kind is fine; renaming a code breaks callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorKind {
    // Caller errors (HTTP 4xx, never retryable as-is).
    ValidationFailed,
    Unauthenticated,
    Forbidden,
    NotFound,
    IntegrationNotFound,
    ActionNotFound,
    ConnectionNotFound,
    ExecutionNotFound,
    CallbackNotFound,
    /// `GET /events/{eventId}` named no provider event of the tenant's.
    EventNotFound,
    /// `POST /tools/call` or MCP `tools/call` named no tool of the tenant's.
    ToolNotFound,
    /// `/triggers/{triggerId}` named no trigger of the tenant's.
    TriggerNotFound,
    ConnectionInactive,
    /// The provider rejected the connection's credentials: executions fail fast until the
    /// connection is updated or tested successfully.
    ConnectionCredentialsRejected,
    /// An OAuth2 connection's grant is gone (the provider answered `invalid_grant`: revoked,
    /// expired or rotated away): only a new consent (`POST /connections/oauth/start`) helps, so
    /// its executions fail fast instead of retrying.
    ConnectionReauthRequired,
    ExecutionNotFinished,
    IdempotencyConflict,
    // The OAuth2 authorization flow (`/connections/oauth/start`, `/oauth/callback`).
    /// The callback's `state` is missing, malformed or not signed by this service.
    #[serde(rename = "OAUTH_STATE_INVALID")]
    OAuthStateInvalid,
    /// The `state` is older than its 10 minutes: start again.
    #[serde(rename = "OAUTH_STATE_EXPIRED")]
    OAuthStateExpired,
    /// The `state` was used already (a replayed or doubled callback).
    #[serde(rename = "OAUTH_STATE_REPLAYED")]
    OAuthStateReplayed,
    /// The user declined the consent (`error=access_denied`) or the provider refused it.
    #[serde(rename = "OAUTH_CONSENT_DENIED")]
    OAuthConsentDenied,
    /// The callback's provider signature (Shopify's `hmac`) does not verify.
    #[serde(rename = "OAUTH_HMAC_INVALID")]
    OAuthHmacInvalid,
    /// No OAuth app is registered for the integration (`integrations oauth-app register`).
    #[serde(rename = "OAUTH_APP_NOT_REGISTERED")]
    OAuthAppNotRegistered,
    PayloadTooLarge,
    MethodNotAllowed,
    // Provider outcomes, classified by the connectors.
    ProviderRejected,
    ProviderAuthFailed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
    ProviderTimeout,
    ProviderBadResponse,
    NetworkError,
    OutcomeUnknown,
    // Terminal states decided by the service.
    MaxAttemptsExceeded,
    DeadLettered,
    /// The tenant submits faster than its quota (`--tenant-rate`, `--tenant-quota`): answered
    /// 429 with Retry-After; trying again after that succeeds.
    TenantQuotaExceeded,
    // Our own failures.
    BackendUnavailable,
    /// The API is shedding load (too many submissions in flight, or the enqueue backlog is
    /// full): answered 503 with Retry-After at once rather than queueing behind a saturated
    /// store or queue. Nothing was recorded; trying again later succeeds.
    Overloaded,
    Internal,
    /// A caller service has no callback signing secret: an operator creates one
    /// (`integrations callback-secret rotate`); retrying before that does not help.
    CallbackSecretMissing,
}

impl ErrorKind {
    /// The stable string code, as serialized.
    pub fn code(self) -> &'static str {
        match self {
            Self::ValidationFailed => "VALIDATION_FAILED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::IntegrationNotFound => "INTEGRATION_NOT_FOUND",
            Self::ActionNotFound => "ACTION_NOT_FOUND",
            Self::ConnectionNotFound => "CONNECTION_NOT_FOUND",
            Self::ExecutionNotFound => "EXECUTION_NOT_FOUND",
            Self::CallbackNotFound => "CALLBACK_NOT_FOUND",
            Self::EventNotFound => "EVENT_NOT_FOUND",
            Self::ToolNotFound => "TOOL_NOT_FOUND",
            Self::TriggerNotFound => "TRIGGER_NOT_FOUND",
            Self::ExecutionNotFinished => "EXECUTION_NOT_FINISHED",
            Self::ConnectionInactive => "CONNECTION_INACTIVE",
            Self::ConnectionCredentialsRejected => "CONNECTION_CREDENTIALS_REJECTED",
            Self::ConnectionReauthRequired => "CONNECTION_REAUTH_REQUIRED",
            Self::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            Self::OAuthStateInvalid => "OAUTH_STATE_INVALID",
            Self::OAuthStateExpired => "OAUTH_STATE_EXPIRED",
            Self::OAuthStateReplayed => "OAUTH_STATE_REPLAYED",
            Self::OAuthConsentDenied => "OAUTH_CONSENT_DENIED",
            Self::OAuthHmacInvalid => "OAUTH_HMAC_INVALID",
            Self::OAuthAppNotRegistered => "OAUTH_APP_NOT_REGISTERED",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::ProviderRejected => "PROVIDER_REJECTED",
            Self::ProviderAuthFailed => "PROVIDER_AUTH_FAILED",
            Self::ProviderNotFound => "PROVIDER_NOT_FOUND",
            Self::ProviderRateLimited => "PROVIDER_RATE_LIMITED",
            Self::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            Self::ProviderTimeout => "PROVIDER_TIMEOUT",
            Self::ProviderBadResponse => "PROVIDER_BAD_RESPONSE",
            Self::NetworkError => "NETWORK_ERROR",
            Self::OutcomeUnknown => "OUTCOME_UNKNOWN",
            Self::MaxAttemptsExceeded => "MAX_ATTEMPTS_EXCEEDED",
            Self::DeadLettered => "DEAD_LETTERED",
            Self::TenantQuotaExceeded => "TENANT_QUOTA_EXCEEDED",
            Self::BackendUnavailable => "BACKEND_UNAVAILABLE",
            Self::Overloaded => "OVERLOADED",
            Self::Internal => "INTERNAL",
            Self::CallbackSecretMissing => "CALLBACK_SECRET_MISSING",
        }
    }

    /// Whether trying the same thing again later can succeed.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            Self::ProviderRateLimited
                | Self::ProviderUnavailable
                | Self::ProviderTimeout
                | Self::NetworkError
                | Self::BackendUnavailable
                | Self::TenantQuotaExceeded
                | Self::Overloaded
        )
    }

    /// The HTTP status the API answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            Self::ValidationFailed
            | Self::OAuthStateInvalid
            | Self::OAuthStateExpired
            | Self::OAuthConsentDenied
            | Self::OAuthHmacInvalid => 400,
            Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::NotFound
            | Self::IntegrationNotFound
            | Self::ActionNotFound
            | Self::ConnectionNotFound
            | Self::ExecutionNotFound
            | Self::CallbackNotFound
            | Self::EventNotFound
            | Self::ToolNotFound
            | Self::TriggerNotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::ConnectionInactive
            | Self::ConnectionCredentialsRejected
            | Self::ConnectionReauthRequired
            | Self::IdempotencyConflict
            | Self::ExecutionNotFinished
            | Self::OAuthStateReplayed
            | Self::OAuthAppNotRegistered => 409,
            Self::PayloadTooLarge => 413,
            Self::ProviderRejected | Self::ProviderAuthFailed | Self::ProviderNotFound => 422,
            Self::ProviderRateLimited | Self::TenantQuotaExceeded => 429,
            Self::ProviderUnavailable
            | Self::ProviderBadResponse
            | Self::NetworkError
            | Self::OutcomeUnknown
            | Self::MaxAttemptsExceeded
            | Self::DeadLettered => 502,
            Self::ProviderTimeout => 504,
            Self::BackendUnavailable | Self::Overloaded => 503,
            Self::Internal | Self::CallbackSecretMissing => 500,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The failure underneath an [`Error`] (an SDK, SQLite or HTTP client error), kept for operators'
/// logs and `std::error::Error::source` walks. Never serialized: callers see only the message.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// An error with a stable kind, a caller-safe message and retry hints.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    pub retryable: bool,
    /// The provider asked us to wait this long before trying again (Retry-After).
    pub retry_after: Option<Duration>,
    /// True when the request may have reached the provider (and so may have had an effect).
    /// A write whose outcome is unknown is not blindly re-sent.
    pub request_sent: bool,
    /// What failed underneath, when the failure came from a library (see [`Cause`]).
    #[source]
    pub source: Option<Cause>,
}

/// Errors are equal when a caller could not tell them apart: the cause is not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.retryable == other.retryable
            && self.retry_after == other.retry_after
            && self.request_sent == other.request_sent
    }
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            retryable: kind.default_retryable(),
            retry_after: None,
            request_sent: false,
            source: None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ValidationFailed, message)
    }

    pub fn not_found(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(kind, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    pub fn backend(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BackendUnavailable, message)
    }

    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    pub fn with_request_sent(mut self, sent: bool) -> Self {
        self.request_sent = sent;
        self
    }

    /// Keeps `cause` as this error's source. Only for causes whose text cannot carry a
    /// credential (SDK, SQLite and transport errors; not a provider's answer).
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(cause));
        self
    }

    /// The message followed by every cause underneath it, for operators' logs.
    pub fn chain(&self) -> Chain<'_> {
        Chain(self)
    }

    /// The caller-facing body: `{code, message, retryable}`.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.kind,
            message: self.message.clone(),
            retryable: self.retryable,
        }
    }
}

/// [`Error::chain`]'s display: `CODE: message: cause: cause's cause…`.
pub struct Chain<'a>(&'a Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = std::error::Error::source(self.0);
        while let Some(cause) = next {
            write!(f, ": {cause}")?;
            next = cause.source();
        }
        Ok(())
    }
}

/// The serialized shape of an error, in API responses, stored executions and events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub code: ErrorKind,
    pub message: String,
    pub retryable: bool,
}

impl From<ErrorBody> for Error {
    fn from(b: ErrorBody) -> Self {
        Error::new(b.code, b.message).with_retryable(b.retryable)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_strings() {
        for kind in [
            ErrorKind::ValidationFailed,
            ErrorKind::OutcomeUnknown,
            ErrorKind::ProviderRateLimited,
            ErrorKind::BackendUnavailable,
            ErrorKind::CallbackSecretMissing,
            ErrorKind::ConnectionReauthRequired,
            ErrorKind::OAuthStateInvalid,
            ErrorKind::OAuthAppNotRegistered,
        ] {
            let json = serde_json::to_value(kind).expect("serialize");
            assert_eq!(json, serde_json::Value::String(kind.code().to_string()));
        }
    }

    #[test]
    fn transient_kinds_are_retryable_and_caller_errors_are_not() {
        assert!(Error::new(ErrorKind::ProviderUnavailable, "x").retryable);
        assert!(Error::new(ErrorKind::ProviderRateLimited, "x").retryable);
        assert!(Error::new(ErrorKind::TenantQuotaExceeded, "x").retryable);
        assert!(Error::new(ErrorKind::Overloaded, "x").retryable);
        assert!(!Error::new(ErrorKind::ValidationFailed, "x").retryable);
        assert!(!Error::new(ErrorKind::ProviderRejected, "x").retryable);
        assert!(!Error::new(ErrorKind::OutcomeUnknown, "x").retryable);
        assert!(!Error::new(ErrorKind::CallbackSecretMissing, "x").retryable);
    }

    #[test]
    fn the_cause_is_kept_for_logs_but_never_reaches_the_caller() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = Error::backend("queue unreachable").with_source(io);
        let cause = std::error::Error::source(&e).expect("source kept");
        assert_eq!(cause.to_string(), "reset by peer");
        assert_eq!(
            e.chain().to_string(),
            "BACKEND_UNAVAILABLE: queue unreachable: reset by peer"
        );
        let body = serde_json::to_string(&e.body()).expect("serialize");
        assert!(!body.contains("reset by peer"), "{body}");
        // A clone keeps it; equality ignores it.
        assert!(std::error::Error::source(&e.clone()).is_some());
        assert_eq!(e, Error::backend("queue unreachable"));
    }
}
