//! An execution as every caller sees it ([`crate::submit::answer`] builds it), its callback's
//! delivery, and a page of executions.

use integrations_core::callbacks::{Callback, CallbackAttempt, CallbackStatus};
use integrations_core::error::ErrorBody;
use integrations_core::model::{self, ExecutionStatus};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Timestamp;
use crate::openapi::errors::error_ref;

/// The delivery of an execution's callback (docs/callbacks.md); pending until the execution
/// finishes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallbackDelivery {
    url: String,
    status: CallbackStatus,
    attempts: Vec<CallbackAttempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    next_attempt_at: Option<Timestamp>,
}

impl CallbackDelivery {
    /// The state of the delivery `c` records.
    pub fn of(c: &Callback) -> Self {
        Self {
            url: c.url.clone(),
            status: c.status,
            attempts: c.attempts.clone(),
            next_attempt_at: c.next_attempt_at,
        }
    }

    /// A delivery to `url` whose record is not written yet (the execution runs).
    fn pending(url: &str) -> Self {
        Self {
            url: url.to_string(),
            status: CallbackStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: None,
        }
    }
}

/// An execution as every caller sees it: the stored record plus the seed's contract fields
/// success (true only when succeeded), data (the output), latencyMs, and, when it asked for one,
/// its callback's delivery.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Execution {
    execution_id: String,
    tenant_id: String,
    connection_id: String,
    integration_id: String,
    action_id: String,
    status: ExecutionStatus,
    /// Sanitized input.
    #[schema(value_type = Object)]
    input: Value,
    /// Sanitized output (succeeded only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Value, required = false)]
    output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = error_ref, required = false)]
    error: Option<ErrorBody>,
    attempts: u32,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    caller_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    caller_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    next_attempt_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    finished_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
    success: bool,
    /// The output (the seed's name for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Value, required = false)]
    data: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = CallbackDelivery)]
    callback: Option<CallbackDelivery>,
}

impl Execution {
    /// `e` with the seed's fields, and `callback` (the delivery's record, when there is one yet)
    /// when it asked for one.
    pub fn new(e: &model::Execution, callback: Option<&Callback>) -> Self {
        // Every field of the record, spelled out: a field added to it is not shown until it is
        // added here (and documented with it).
        Self {
            execution_id: e.execution_id.clone(),
            tenant_id: e.tenant_id.clone(),
            connection_id: e.connection_id.clone(),
            integration_id: e.integration_id.clone(),
            action_id: e.action_id.clone(),
            status: e.status,
            input: e.input.clone(),
            output: e.output.clone(),
            error: e.error.clone(),
            attempts: e.attempts,
            latency_ms: e.latency_ms.unwrap_or(0),
            caller_service: e.caller_service.clone(),
            caller_ref: e.caller_ref.clone(),
            callback_url: e.callback_url.clone(),
            idempotency_key: e.idempotency_key.clone(),
            next_attempt_at: e.next_attempt_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
            finished_at: e.finished_at,
            expires_at: e.expires_at,
            success: e.status == ExecutionStatus::Succeeded,
            data: e.output.clone(),
            callback: e.callback_url.as_deref().map(|url| {
                callback.map_or_else(|| CallbackDelivery::pending(url), CallbackDelivery::of)
            }),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionList {
    pub executions: Vec<Execution>,
    /// Opaque; pass as cursor for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub next_cursor: Option<String>,
}
