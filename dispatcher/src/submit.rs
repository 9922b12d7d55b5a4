//! The one submission path, shared by `POST /execute`, `POST /tools/call` and the MCP server:
//! resolve the connection and action, validate the input, reserve the idempotency key with the
//! `queued` record, enqueue, and optionally wait for the result. Also the answer every caller
//! gets: the execution with the seed's contract fields beside ours (see [`answer`]).

use std::time::Duration;

use integrations_core::backend::{CreateOutcome, IdempotencyClaim, OutgoingMessage};
use integrations_core::callbacks::Callback;
use integrations_core::completion::Completion;
use integrations_core::engine::new_execution;
use integrations_core::model::{
    new_id, now, Execution, ExecutionRequest, ExecutionStatus, EXECUTION_REQUEST_VERSION,
};
use integrations_core::trace::{new_trace_parent, parse_trace_parent, TRACEPARENT};
use integrations_core::{outbound, Error, ErrorKind};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// What a caller asks to run.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub connection_id: String,
    pub action_id: String,
    pub input: Value,
    pub caller_ref: Option<String>,
    pub idempotency_key: Option<String>,
    pub callback_url: Option<String>,
    /// Wait up to this long for the result before answering (at most the API's maximum).
    pub wait: Duration,
    /// The W3C `traceparent` the queue message carries; None starts a new trace.
    pub trace_parent: Option<String>,
}

/// The `traceparent` the queue message carries: a child of the caller's when it sent exactly
/// one valid `traceparent` header, else a new trace.
pub fn trace_parent_for(headers: &axum::http::HeaderMap) -> String {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let parent = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok().and_then(|v| parse_trace_parent(v.trim())),
        _ => None,
    };
    parent.map_or_else(new_trace_parent, |p| p.child().to_string())
}

fn check_len(field: &str, v: &Option<String>, max: usize) -> Result<(), Error> {
    match v {
        Some(s) if s.is_empty() || s.len() > max => {
            Err(Error::validation(format!("{field}: 1 to {max} characters")))
        }
        _ => Ok(()),
    }
}

/// The hash of what makes two requests "the same" for an idempotency key.
fn request_hash(s: &Submission) -> String {
    let canonical = json!([s.connection_id, s.action_id, s.input, s.callback_url]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Check `wait` against the API's maximum.
pub fn check_wait(state: &AppState, wait: Duration) -> Result<Duration, Error> {
    if wait > state.settings.max_wait {
        return Err(Error::validation(format!(
            "waitMs: at most {}",
            state.settings.max_wait.as_millis()
        )));
    }
    Ok(wait)
}

/// Accept `s` for `caller`'s tenant and answer with the execution: `queued` (or further along),
/// or terminal when it finished within `s.wait`. A repeated idempotency key answers with the
/// first execution (and a different request under the same key is a conflict).
pub async fn submit(state: &AppState, caller: &Caller, s: Submission) -> ApiResult<Execution> {
    // Shed before doing any work; held until the execution is enqueued (not while waiting).
    let admitted = state.admission.enter()?;
    check_len("idempotencyKey", &s.idempotency_key, 255)?;
    check_len("callerRef", &s.caller_ref, 256)?;
    if !s.input.is_object() {
        return Err(Error::validation("input: must be an object").into());
    }
    let wait = check_wait(state, s.wait)?;
    if let Some(url) = &s.callback_url {
        outbound::check_url(url, state.settings.allow_private_urls)?;
    }
    state.admission.check_rate(&caller.tenant_id).await?;
    let (connection, _action) = integrations_core::resolve::resolve(
        state.backend.connections.as_ref(),
        &state.catalog,
        &caller.tenant_id,
        &s.connection_id,
        &s.action_id,
        &s.input,
    )
    .await??;

    let hash = request_hash(&s);
    let trace_parent = s
        .trace_parent
        .clone()
        .filter(|tp| parse_trace_parent(tp).is_some())
        .unwrap_or_else(new_trace_parent);
    let request = ExecutionRequest {
        version: EXECUTION_REQUEST_VERSION,
        execution_id: new_id(),
        tenant_id: caller.tenant_id.clone(),
        connection_id: s.connection_id,
        action_id: s.action_id,
        input: s.input,
        // The key's caller service signs the callback: it is not the caller's to choose.
        caller_service: Some(caller.caller_service.clone()),
        caller_ref: s.caller_ref,
        callback_url: s.callback_url,
        submitted_at: now(),
    };
    let claim = s.idempotency_key.clone().map(|key| IdempotencyClaim {
        key,
        request_hash: hash.clone(),
    });
    let execution = new_execution(
        &state.catalog,
        &request,
        &connection.integration_id,
        s.idempotency_key,
    );
    // A place in the enqueue backlog before anything is recorded: shedding then leaves no
    // execution behind, and a recorded one always gets its message.
    let place = state.enqueuer.reserve()?;
    let store = &state.backend.executions;
    let execution = match store.create_execution(&execution, claim.as_ref()).await? {
        CreateOutcome::Created => {
            enqueue(state, place, &request, &execution, &trace_parent).await?;
            metrics::counter!("executions_submitted_total").increment(1);
            execution
        }
        CreateOutcome::Existing {
            execution: existing,
            request_hash,
        } => {
            if request_hash.as_deref() != Some(hash.as_str()) {
                return Err(ApiError::new(
                    ErrorKind::IdempotencyConflict,
                    "this idempotencyKey was used with a different request",
                ));
            }
            if existing.status == ExecutionStatus::Queued && existing.attempts == 0 {
                // A first submission may have died between recording and enqueueing; a
                // duplicate message is harmless (the worker's claim dedupes), a missing one not.
                let request = ExecutionRequest {
                    execution_id: existing.execution_id.clone(),
                    ..request
                };
                enqueue(state, place, &request, &existing, &trace_parent).await?;
            }
            *existing
        }
    };
    drop(admitted);
    if wait.is_zero() || execution.status.is_terminal() {
        return Ok(execution);
    }
    let done = wait_terminal(state, &caller.tenant_id, &execution.execution_id, wait).await?;
    Ok(done.unwrap_or(execution))
}

async fn enqueue(
    state: &AppState,
    place: crate::enqueue::Reservation,
    request: &ExecutionRequest,
    execution: &Execution,
    trace_parent: &str,
) -> ApiResult<()> {
    let message = OutgoingMessage {
        body: serde_json::to_string(request).map_err(|e| Error::internal(e.to_string()))?,
        execution_id: request.execution_id.clone(),
        delay: Duration::ZERO,
        trace_parent: Some(trace_parent.to_string()),
        fair_group: Some(request.tenant_id.clone()),
    };
    tracing::debug!(
        execution_id = %request.execution_id,
        trace_id = %parse_trace_parent(trace_parent)
            .map(|tp| tp.trace_id_hex())
            .unwrap_or_default(),
        "enqueueing execution"
    );
    if let Err(e) = place.send(message).await {
        // Don't leave an execution that no worker will ever see as `queued`; its callback (if
        // any) is born due, for any worker's deliverer.
        let failed = Completion::new(execution.clone(), Err(e.clone()), None);
        if let Err(write) = failed.store(state.backend.executions.as_ref(), None).await {
            tracing::error!(
                execution_id = %execution.execution_id,
                error = %write,
                "enqueueing failed, and so did recording the failure: the execution stays queued"
            );
        }
        return Err(e.into());
    }
    Ok(())
}

/// Wait until the execution is terminal or `wait` has passed: woken at once by an in-process
/// completion, and polling in case the worker is elsewhere. None if there is no such execution.
pub async fn wait_terminal(
    state: &AppState,
    tenant_id: &str,
    execution_id: &str,
    wait: Duration,
) -> ApiResult<Option<Execution>> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut poll = Duration::from_millis(20);
    let result = loop {
        let woken = state.waiters.register(execution_id);
        let current = state
            .backend
            .executions
            .get_execution(tenant_id, execution_id)
            .await;
        let current = match current {
            Ok(Some(c)) => c,
            other => break other.map_err(ApiError::from),
        };
        if current.status.is_terminal() || tokio::time::Instant::now() >= deadline {
            break Ok(Some(current));
        }
        // With in-process signals polling only covers workers in other processes.
        let next_poll = if state.waiters.signalled() {
            Duration::from_millis(250)
        } else {
            poll
        };
        let until = deadline.min(tokio::time::Instant::now() + next_poll);
        tokio::select! {
            _ = woken => {}
            _ = tokio::time::sleep_until(until) => {}
        }
        state.waiters.forget(execution_id);
        poll = (poll * 2).min(Duration::from_millis(500));
    };
    state.waiters.forget(execution_id);
    result
}

/// A listing's status filter: ours, or the seed's `success` (succeeded), `error` (failed) and
/// `timeout` (timed_out). Dead letters are listed by their own name, `dead_lettered`.
pub fn parse_status(s: &str) -> Option<ExecutionStatus> {
    SEED_STATUSES
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, status)| *status)
        .or_else(|| ExecutionStatus::parse(s))
}

/// The seed's names of statuses, accepted beside ours by [`parse_status`].
pub const SEED_STATUSES: [(&str, ExecutionStatus); 3] = [
    ("success", ExecutionStatus::Succeeded),
    ("error", ExecutionStatus::Failed),
    ("timeout", ExecutionStatus::TimedOut),
];

/// Every status, ours then the seed's: what [`parse_status`] accepts.
pub fn status_names() -> Vec<&'static str> {
    use ExecutionStatus::*;
    [Queued, Running, Succeeded, Failed, TimedOut, DeadLettered]
        .iter()
        .map(|s| s.as_str())
        .chain(SEED_STATUSES.iter().map(|(name, _)| *name))
        .collect()
}

/// An execution as every caller sees it: our fields, plus the seed's contract — `success`
/// (true only when succeeded), `data` (the output), `error {code, message, retryable}`,
/// `latencyMs`, `executionId` — and, when it asked for one, its callback's delivery.
pub fn answer(e: &Execution, callback: Option<&Callback>) -> crate::openapi::views::Execution {
    crate::openapi::views::Execution::new(e, callback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_status_names_are_exactly_what_the_filter_accepts() {
        let names = status_names();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for name in &names {
            assert!(
                parse_status(name).is_some(),
                "{name} is documented but refused"
            );
        }
        assert!(parse_status("done").is_none());
    }
}
