//! Recording callback attempts: one task writes them as they come, in batches, so that under
//! load one store write records many.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tracing::{debug, info, warn};

use super::AttemptOutcome;
use crate::backend::{AttemptRecord, Backend};
use crate::batch::Batches;

/// Attempts recorded in one store write at most.
pub(super) const RECORD_BATCH: usize = 100;

/// Write attempts as they come, in batches: under load, one store write records many.
pub(super) async fn record_batches(
    backend: Backend,
    mut records: Batches<AttemptRecord>,
    unrecorded: Arc<AtomicUsize>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while records.next(&mut batch).await {
        match backend.callbacks.record_callback_attempts(&batch).await {
            Ok(recorded) => {
                for (r, ok) in batch.iter().zip(recorded) {
                    report(r, ok);
                }
            }
            Err(e) => warn!(
                count = batch.len(),
                error = %e,
                "recording callback attempts failed; they are made again once their leases end"
            ),
        }
        unrecorded.fetch_sub(batch.len(), Ordering::AcqRel);
        batch.clear();
    }
}

/// Metrics and a log line for a recorded attempt.
fn report(r: &AttemptRecord, recorded: bool) {
    let span = tracing::info_span!(
        "callback",
        execution_id = %r.callback.execution_id,
        tenant_id = %r.callback.tenant_id,
    );
    let _entered = span.enter();
    if !recorded {
        warn!("the callback's lease was lost during the attempt; its holder goes on");
        return;
    }
    let label = match &r.outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::RetryAt(_) => "retry",
        AttemptOutcome::Failed => "failed",
    };
    metrics::counter!("callback_attempts_total", "outcome" => label).increment(1);
    metrics::histogram!("callback_attempt_duration_seconds")
        .record(r.attempt.duration_ms as f64 / 1000.0);
    let error = r.attempt.error.as_deref().unwrap_or("");
    match r.outcome {
        AttemptOutcome::Delivered => debug!("callback delivered"),
        AttemptOutcome::RetryAt(t) => {
            info!(error, next_attempt_at = %t, "callback attempt failed; retry scheduled")
        }
        AttemptOutcome::Failed => warn!(error, "callback failed for good"),
    }
}
