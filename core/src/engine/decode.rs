//! Decoding a queue message body into an [`ExecutionRequest`]: the one place where a body from
//! the queue — written by our API or by any producer — is trusted. Every body ends here in a
//! request or a classified error (`PAYLOAD_TOO_LARGE`, `VALIDATION_FAILED`), never a panic.

use serde_json::Value;

use crate::catalog::Catalog;
use crate::error::{Error, ErrorKind, Result};
use crate::model::ExecutionRequest;

/// The largest body decoded: SQS's own limit, and the API's request body limit, so that the
/// embedded queue (which stores any size) refuses what SQS could not carry. Larger bodies are
/// refused before being parsed.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Parse `body` and check it against the message schema (`execution-request`).
pub fn decode_request(catalog: &Catalog, body: &str) -> Result<ExecutionRequest> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!(
                "the message is {} bytes; at most {MAX_MESSAGE_BYTES} are accepted",
                body.len()
            ),
        ));
    }
    let value: Value =
        serde_json::from_str(body).map_err(|e| Error::validation(format!("not JSON: {e}")))?;
    crate::catalog::validate(
        catalog.message_schema("execution-request")?,
        &value,
        "message",
    )?;
    serde_json::from_value(value).map_err(|e| Error::validation(e.to_string()))
}

#[cfg(test)]
mod proptests;
