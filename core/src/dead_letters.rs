//! Dead letters: messages the queue gave up on (poison messages, repeated crashes, retries that
//! outlived the queue's receive limit). Their executions are marked `dead_lettered` so that
//! callers polling or awaiting them get an answer; the messages stay in the dead-letter queue
//! for inspection and redrive.

use std::time::Duration;

use serde_json::Value;
use tracing::{info, warn};

use crate::backend::{Backend, Delivery};
use crate::completion::Completion;
use crate::error::{Error, ErrorKind, Result};

/// The (tenant, execution) a dead letter belongs to, if its body says so.
pub fn execution_of(delivery: &Delivery) -> Option<(String, String)> {
    let body: Value = serde_json::from_str(&delivery.body).ok()?;
    let tenant = body["tenantId"].as_str()?.to_string();
    let id = delivery
        .execution_id
        .clone()
        .or_else(|| body["executionId"].as_str().map(String::from))?;
    Some((tenant, id))
}

/// Mark the execution of a dead letter `dead_lettered` (once; a terminal execution is left as
/// it is). Returns whether it changed.
pub async fn mark(backend: &Backend, delivery: &Delivery) -> Result<bool> {
    let Some((tenant, id)) = execution_of(delivery) else {
        return Ok(false);
    };
    let Some(e) = backend.executions.get_execution(&tenant, &id).await? else {
        return Ok(false);
    };
    if e.status.is_terminal() {
        return Ok(false);
    }
    let error = Error::new(
        ErrorKind::DeadLettered,
        format!(
            "the queue gave up on this execution after {} deliveries{}; it can be redriven",
            delivery.receive_count,
            e.error
                .as_ref()
                .map(|last| format!(" (last error: {}: {})", last.code, last.message))
                .unwrap_or_default()
        ),
    );
    let changed = Completion::new(e, Err(error), None)
        .store(backend.executions.as_ref(), None)
        .await?;
    if changed {
        info!(execution_id = %id, tenant_id = %tenant, "execution dead-lettered");
    }
    Ok(changed)
}

/// One pass over (up to `max` of) the dead-letter queue, marking executions. Messages become
/// visible again in the dead-letter queue after `visibility`.
pub async fn sweep(backend: &Backend, max: usize, visibility: Duration) -> Result<usize> {
    let mut marked = 0;
    let mut seen = 0;
    while seen < max {
        let batch = backend
            .queue
            .receive_dead_letters(10.min(max - seen), visibility)
            .await?;
        if batch.is_empty() {
            break;
        }
        seen += batch.len();
        for d in &batch {
            match mark(backend, d).await {
                Ok(true) => marked += 1,
                Ok(false) => {}
                Err(e) => {
                    warn!(message_id = %d.message_id, error = %e, "could not mark dead letter")
                }
            }
        }
    }
    Ok(marked)
}
