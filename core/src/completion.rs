//! How an execution ends, in one place: its terminal state, its result event and (when it asked
//! for one) its callback, written together by [`crate::backend::ExecutionStore::complete_execution`]
//! in one atomic write. The engine, the dead-letter sweep and the API (an enqueue that failed) all
//! build their endings here.

use serde_json::Value;

use crate::backend::{ExecutionStore, Lease};
use crate::callbacks::{Callback, CallbackPayload};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{new_id, now, EventType, Execution, ExecutionStatus, ResultEvent};

/// A terminal execution with what is written alongside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub execution: Execution,
    pub event: ResultEvent,
    pub callback: Option<Callback>,
    /// The outbox claim the event is born with: the relay of the process that finishes the
    /// execution, which publishes it at once (so no other relay's sweep takes it meanwhile).
    /// None: any relay's sweep may claim it now.
    pub event_claim: Option<Lease>,
}

impl Completion {
    /// End `execution` with `outcome`. The status follows the error kind: a provider timeout is
    /// `timed_out`, a dead letter `dead_lettered`, any other error `failed`. With
    /// `callback_lease`, the callback is born leased to the process that will deliver it at
    /// once; without, it is due now for any deliverer of the fleet.
    pub fn new(
        mut execution: Execution,
        outcome: std::result::Result<Value, Error>,
        callback_lease: Option<Lease>,
    ) -> Self {
        let t = now();
        let e = &mut execution;
        match outcome {
            Ok(output) => {
                e.status = ExecutionStatus::Succeeded;
                e.output = Some(output);
                e.error = None;
            }
            Err(err) => {
                e.status = match err.kind {
                    ErrorKind::ProviderTimeout => ExecutionStatus::TimedOut,
                    ErrorKind::DeadLettered => ExecutionStatus::DeadLettered,
                    _ => ExecutionStatus::Failed,
                };
                e.output = None;
                e.error = Some(err.body());
            }
        }
        e.finished_at = Some(t);
        e.updated_at = t;
        e.next_attempt_at = None;
        let event = ResultEvent::of(e, event_type(e.status));
        let callback = e.callback_url.as_deref().map(|url| {
            let body = CallbackPayload::of(e).to_json();
            Callback::new(
                &e.tenant_id,
                &e.execution_id,
                url,
                e.caller_service.as_deref(),
                body,
                t,
                callback_lease,
            )
        });
        Self {
            execution,
            event,
            callback,
            event_claim: None,
        }
    }

    /// The same, its event born claimed by `claim` (see [`Completion::event_claim`]).
    pub fn with_event_claim(self, claim: Option<Lease>) -> Self {
        Self {
            event_claim: claim,
            ..self
        }
    }

    /// A completion of given parts, without a callback (tests, tools).
    pub fn without_callback(execution: Execution, event: ResultEvent) -> Self {
        Self {
            execution,
            event,
            callback: None,
            event_claim: None,
        }
    }

    /// Write it; with `owner`, only while that worker holds the execution's lease, without, only
    /// if the execution is not terminal yet. False when that condition failed (nothing written).
    pub async fn store(&self, store: &dyn ExecutionStore, owner: Option<&str>) -> Result<bool> {
        let stored = store.complete_execution(self, owner).await?;
        if stored {
            let e = &self.execution;
            metrics::counter!("executions_finished_total", "status" => e.status.as_str())
                .increment(1);
            // Submission to terminal state: what a caller waits.
            let took = (e.updated_at - e.created_at).num_milliseconds().max(0) as f64 / 1000.0;
            metrics::histogram!("execution_duration_seconds",
                "integration" => e.integration_id.clone(), "action" => e.action_id.clone(),
                "status" => e.status.as_str())
            .record(took);
        }
        Ok(stored)
    }
}

fn event_type(status: ExecutionStatus) -> EventType {
    match status {
        ExecutionStatus::Succeeded => EventType::ExecutionSucceeded,
        ExecutionStatus::TimedOut => EventType::ExecutionTimedOut,
        ExecutionStatus::DeadLettered => EventType::ExecutionDeadLettered,
        // `new` sets no other status.
        ExecutionStatus::Failed | ExecutionStatus::Queued | ExecutionStatus::Running => {
            EventType::ExecutionFailed
        }
    }
}

impl ResultEvent {
    /// An event about `e` (its terminal state, or its callback's failure).
    pub fn of(e: &Execution, event_type: EventType) -> Self {
        Self {
            event_id: new_id(),
            event_type,
            execution_id: e.execution_id.clone(),
            tenant_id: e.tenant_id.clone(),
            connection_id: e.connection_id.clone(),
            integration_id: e.integration_id.clone(),
            action_id: e.action_id.clone(),
            status: e.status,
            output: e.output.clone(),
            error: e.error.clone(),
            attempts: e.attempts,
            latency_ms: e.latency_ms,
            caller_service: e.caller_service.clone(),
            caller_ref: e.caller_ref.clone(),
            callback_url: e.callback_url.clone(),
            occurred_at: e.finished_at.unwrap_or(e.updated_at),
        }
    }
}
