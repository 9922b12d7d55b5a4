//! Execution records: the `queued` record of a request (from the API, or from a message published
//! straight onto the queue).

use std::time::Duration;

use super::{Engine, RETENTION};
use crate::backend::CreateOutcome;
use crate::catalog::Catalog;
use crate::error::Result;
use crate::model::{now, Execution, ExecutionRequest, ExecutionStatus};
use crate::sanitize::sanitize;

impl Engine {
    /// Record a request that came straight onto the queue (no API call created it).
    pub(super) async fn record_from_request(&self, request: &ExecutionRequest) -> Result<()> {
        let connection = self
            .backend
            .connections
            .get_connection(&request.tenant_id, &request.connection_id)
            .await?;
        let integration_id = connection
            .map(|c| c.integration_id)
            .unwrap_or_else(|| "unknown".to_string());
        let execution = new_execution(&self.catalog, request, &integration_id, None);
        match self
            .backend
            .executions
            .create_execution(&execution, None)
            .await?
        {
            CreateOutcome::Created | CreateOutcome::Existing { .. } => Ok(()),
        }
    }
}

/// A `queued` execution for `request`, with a sanitized copy of its input.
pub fn new_execution(
    catalog: &Catalog,
    request: &ExecutionRequest,
    integration_id: &str,
    idempotency_key: Option<String>,
) -> Execution {
    let secret_fields: Vec<&str> = catalog
        .integration(integration_id)
        .map(|i| i.secret_fields.iter().map(String::as_str).collect())
        .unwrap_or_default();
    queued_execution(request, integration_id, idempotency_key, &secret_fields)
}

/// [`new_execution`] with the integration's secret fields given rather than read from the
/// catalog (the dead-letter sweep has no catalog; the well-known secret keys are dropped anyway).
pub fn queued_execution(
    request: &ExecutionRequest,
    integration_id: &str,
    idempotency_key: Option<String>,
    secret_fields: &[&str],
) -> Execution {
    let t = now();
    Execution {
        execution_id: request.execution_id.clone(),
        tenant_id: request.tenant_id.clone(),
        connection_id: request.connection_id.clone(),
        integration_id: integration_id.to_string(),
        action_id: request.action_id.clone(),
        status: ExecutionStatus::Queued,
        input: sanitize(&request.input, secret_fields, &[]),
        output: None,
        error: None,
        attempts: 0,
        latency_ms: None,
        caller_service: request.caller_service.clone(),
        caller_ref: request.caller_ref.clone(),
        callback_url: request.callback_url.clone(),
        idempotency_key,
        next_attempt_at: None,
        created_at: t,
        updated_at: t,
        finished_at: None,
        expires_at: t + RETENTION,
    }
}

pub fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
