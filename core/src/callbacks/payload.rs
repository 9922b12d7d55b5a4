//! The callback payload (`schemas/messages/callback-payload.schema.json`): the seed's result
//! contract (`success`, `data`, `error`, `latencyMs`, `executionId`) plus our status and ids.

use serde::Serialize;
use serde_json::Value;

use crate::error::ErrorBody;
use crate::model::{Execution, ExecutionStatus, Timestamp};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackPayload<'a> {
    pub execution_id: &'a str,
    pub tenant_id: &'a str,
    pub connection_id: &'a str,
    pub integration_id: &'a str,
    pub action_id: &'a str,
    pub status: ExecutionStatus,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a ErrorBody>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_service: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_ref: Option<&'a str>,
    pub occurred_at: Timestamp,
}

impl<'a> CallbackPayload<'a> {
    /// The payload of a terminal execution.
    pub fn of(e: &'a Execution) -> Self {
        Self {
            execution_id: &e.execution_id,
            tenant_id: &e.tenant_id,
            connection_id: &e.connection_id,
            integration_id: &e.integration_id,
            action_id: &e.action_id,
            status: e.status,
            success: e.status == ExecutionStatus::Succeeded,
            data: e.output.as_ref(),
            error: e.error.as_ref(),
            attempts: e.attempts,
            latency_ms: e.latency_ms,
            caller_service: e.caller_service.as_deref(),
            caller_ref: e.caller_ref.as_deref(),
            occurred_at: e.finished_at.unwrap_or(e.updated_at),
        }
    }

    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
