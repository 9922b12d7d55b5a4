//! SDK errors mapped to the service's error kinds.
//!
//! Anything that may pass by itself (network, timeouts, throttling, 5xx, an unreadable response
//! from a restarting emulator) is BACKEND_UNAVAILABLE and retryable; a missing resource or a
//! refused identity is BACKEND_UNAVAILABLE but not retryable (the stack or the role needs fixing);
//! anything else is our own bug (INTERNAL).

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use integrations_core::{Error, ErrorKind};

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionInProgressException",
    "TransactionConflict",
    "LimitExceededException",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerError",
    "InternalError",
    "KMSThrottlingException",
    "AWS.SimpleQueueService.RequestThrottled",
];

const MISSING: &[&str] = &[
    "ResourceNotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
];

const IDENTITY: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "MissingAuthenticationToken",
];

/// Maps an SDK error; `what` names the call ("DynamoDB UpdateItem on table x").
pub(crate) fn sdk_error<E>(what: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map(what, err, true)
}

/// As [`sdk_error`] without the service's message: for Secrets Manager, whose validation
/// messages could quote what was sent.
pub(crate) fn sdk_error_quiet<E>(what: &str, err: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    map(what, err, false)
}

fn map<E>(what: &str, err: SdkError<E, HttpResponse>, with_message: bool) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = |detail: String| Error::backend(format!("{what}: {detail}"));
    let mapped = match &err {
        SdkError::ConstructionFailure(_) => Error::internal(format!(
            "{what}: request could not be built: {}",
            DisplayErrorContext(&err)
        )),
        SdkError::TimeoutError(_) => unavailable("timed out".into()),
        SdkError::DispatchFailure(_) => {
            unavailable(format!("not reachable: {}", DisplayErrorContext(&err)))
        }
        SdkError::ResponseError(_) => unavailable("unreadable response".into()),
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = err.code().unwrap_or("unknown");
            let detail = match (with_message, err.message()) {
                (true, Some(m)) => format!("{code} (HTTP {status}): {m}"),
                _ => format!("{code} (HTTP {status})"),
            };
            classify(code, status, format!("{what}: {detail}"))
        }
        _ => unavailable(format!("failed: {}", DisplayErrorContext(&err))),
    };
    // The quiet variant keeps no cause either: the service's message is in it.
    if with_message {
        mapped.with_source(err)
    } else {
        mapped
    }
}

/// An SDK builder's missing-field error: always our bug.
pub(crate) fn built<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Result<T, Error> {
    r.map_err(|e| Error::internal(format!("{what}: {e}")))
}

fn classify(code: &str, status: u16, message: String) -> Error {
    if THROTTLING.contains(&code) || status == 429 || status >= 500 {
        Error::backend(message)
    } else if MISSING.contains(&code) {
        Error::backend(format!("{message} (is the stack provisioned?)")).with_retryable(false)
    } else if IDENTITY.contains(&code) {
        Error::backend(message).with_retryable(false)
    } else {
        Error::new(ErrorKind::Internal, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_retryable_backend_errors() {
        let e = classify("ProvisionedThroughputExceededException", 400, "x".into());
        assert_eq!((e.kind, e.retryable), (ErrorKind::BackendUnavailable, true));
        let e = classify("Whatever", 503, "x".into());
        assert_eq!((e.kind, e.retryable), (ErrorKind::BackendUnavailable, true));
        let e = classify("ResourceNotFoundException", 400, "x".into());
        assert_eq!(
            (e.kind, e.retryable),
            (ErrorKind::BackendUnavailable, false)
        );
        let e = classify("ValidationException", 400, "x".into());
        assert_eq!((e.kind, e.retryable), (ErrorKind::Internal, false));
    }

    #[test]
    fn no_service_error_reaches_a_caller_as_a_4xx() {
        let codes = THROTTLING.iter().chain(MISSING).chain(IDENTITY);
        for code in codes.chain(&["ValidationException", "InvalidParameterValue", "Unknown"]) {
            for status in [400, 403, 404, 409, 413, 429, 500, 503] {
                let e = classify(code, status, "x".into());
                assert!(
                    e.kind.http_status() >= 500,
                    "{code} (HTTP {status}) became {} ({})",
                    e.kind,
                    e.kind.http_status()
                );
            }
        }
    }
}
