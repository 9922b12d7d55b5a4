//! How an attempt ends: a terminal state with its outbox event, or a retry through the queue with
//! exponential backoff and jitter.

use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use tracing::{info, warn};

use super::{chrono_duration, Disposition, Engine, Job};
use crate::backend::Release;
use crate::catalog::Action;
use crate::completion::Completion;
use crate::error::{Error, ErrorKind, Result};
use crate::model::now;

impl Engine {
    pub(super) async fn retry_or_give_up(
        &self,
        job: &mut Job<'_>,
        action: &Action,
        error: Error,
    ) -> Result<Disposition> {
        if error.request_sent && action.unsafe_to_repeat() {
            let err = Error::new(
                ErrorKind::OutcomeUnknown,
                format!(
                    "{} ({}); not retried because '{}' could act twice: check the provider",
                    error.message, error.kind, action.action_id
                ),
            );
            return self.finish(job, Err(err)).await;
        }
        let attempts = job.execution.attempts;
        if attempts >= self.config.max_attempts {
            let mut err = error;
            err.message = format!("{} (gave up after {attempts} attempts)", err.message);
            return self.finish(job, Err(err)).await;
        }
        let delay = self.backoff(attempts, error.retry_after);
        info!(attempt = attempts, delay_ms = delay.as_millis() as u64, error = %error, "retry scheduled");
        metrics::counter!("executions_retried_total", "code" => error.kind.code()).increment(1);
        let release = Release {
            next_attempt_at: now() + chrono_duration(delay),
            error: Some(error.body()),
            refund_attempt: false,
        };
        if !self.release(job, &release).await? {
            return Ok(Disposition::Leave);
        }
        Ok(Disposition::RetryIn(delay))
    }

    /// Exponential backoff with jitter (half fixed, half random), never below Retry-After.
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.config.backoff_max);
        let half = exp / 2;
        let jitter = half.mul_f64(rand::thread_rng().gen::<f64>());
        (half + jitter).max(retry_after.unwrap_or_default())
    }

    /// Put the execution back to `queued`; false when this worker no longer held its lease
    /// (another took it over and settles the message).
    pub(super) async fn release(&self, job: &Job<'_>, release: &Release) -> Result<bool> {
        let e = &job.execution;
        let held = self
            .backend
            .executions
            .release_execution(
                &e.tenant_id,
                &e.execution_id,
                &self.config.worker_id,
                release,
            )
            .await?;
        if !held {
            warn!("lease lost before the retry was recorded; another worker owns it");
        }
        Ok(held)
    }

    /// Record the terminal state with its event and callback (one atomic write), hand the event
    /// and callback to this process's relay and deliverer, then acknowledge.
    pub(super) async fn finish(
        &self,
        job: &mut Job<'_>,
        outcome: std::result::Result<Value, Error>,
    ) -> Result<Disposition> {
        job.execution.latency_ms = Some(job.started.elapsed().as_millis() as u64);
        let completion = Completion::new(job.execution.clone(), outcome, self.callback_lease())
            .with_event_claim(self.event_claim());
        let stored = completion
            .store(
                self.backend.executions.as_ref(),
                Some(&self.config.worker_id),
            )
            .await?;
        if !stored {
            warn!("lease lost before the result was stored; another worker owns it");
            return Ok(Disposition::Leave);
        }
        let Completion {
            execution,
            event,
            callback,
            event_claim,
        } = completion;
        // Nobody listening (no relay, no deliverer) is fine: sweeps find both in the store.
        if let Some(claim) = event_claim {
            self.outbox.send(event.into(), &claim);
        }
        if let Some(callback) = callback.filter(|c| c.lease.is_some()) {
            let _ = self.callback_feed.send(callback);
        }
        info!(
            status = execution.status.as_str(),
            attempts = execution.attempts,
            "execution finished"
        );
        job.execution = execution;
        Ok(Disposition::Ack)
    }
}
