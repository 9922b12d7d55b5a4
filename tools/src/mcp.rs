//! The MCP parts of a tool that the other formats lack: annotations from the catalog, and the
//! output schema of the tool's result (the execution answer with the action's output as `data`).

use integrations_core::catalog::{Action, ActionCategory, Idempotency};
use serde_json::{json, Value};

use crate::schema::inline_refs;

/// `readOnlyHint` for reads; `destructiveHint` for writes; `idempotentHint` when repeating has no
/// further effect (`natural`, or `provider_key`: the provider finds the first call's result).
pub fn annotations(action: &Action) -> Value {
    let read = action.category == ActionCategory::Read;
    let idempotent = !matches!(action.idempotency, Idempotency::None);
    json!({
        "readOnlyHint": read,
        "destructiveHint": !read,
        "idempotentHint": idempotent,
        "openWorldHint": true,
    })
}

/// The schema of a tool call's structured result: `status` always; `executionId` once an
/// execution exists; `data` (the action's output) when it succeeded; `error` when it failed or
/// the arguments were refused; `poll` while it is still running. Other fields may be present.
pub fn result_schema(action: &Action) -> Result<Value, String> {
    let data = inline_refs(&action.doc["outputSchema"])?;
    Ok(json!({
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {
                "type": "string",
                "description": "succeeded, failed, timed_out, dead_lettered; pending while the execution is still running (see poll); rejected when the arguments were invalid and nothing ran."
            },
            "executionId": {"type": "string"},
            "data": data,
            "error": {
                "type": "object",
                "required": ["code", "message", "retryable"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "retryable": {"type": "boolean"}
                }
            },
            "poll": {
                "type": "string",
                "description": "How to fetch or await the result of a pending execution."
            }
        }
    }))
}
