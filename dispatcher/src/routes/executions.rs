//! `POST /execute`, `GET /executions/{id}`, `GET /executions`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use base64::Engine as _;
use integrations_core::backend::{
    CreateOutcome, ExecutionFilter, IdempotencyClaim, OutgoingMessage,
};
use integrations_core::engine::new_execution;
use integrations_core::model::{
    new_id, now, ConnectionStatus, Execution, ExecutionRequest, ExecutionStatus,
    EXECUTION_REQUEST_VERSION,
};
use integrations_core::trace::{new_trace_parent, parse_trace_parent, TRACEPARENT};
use integrations_core::{outbound, Error, ErrorKind};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteBody {
    connection_id: String,
    action_id: String,
    input: Value,
    caller_service: Option<String>,
    caller_ref: Option<String>,
    idempotency_key: Option<String>,
    callback_url: Option<String>,
    /// Wait up to this long for the result before answering.
    #[serde(default)]
    wait_ms: u64,
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
fn request_hash(b: &ExecuteBody) -> String {
    let canonical = json!([b.connection_id, b.action_id, b.input, b.callback_url]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn respond(e: Execution) -> (StatusCode, Json<Value>) {
    let status = if e.status.is_terminal() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(serde_json::to_value(e).unwrap_or_default()))
}

/// The `traceparent` the queue message carries: a child of the caller's when it sent exactly
/// one valid `traceparent` header, else a new trace.
fn trace_parent_for(headers: &HeaderMap) -> String {
    let mut values = headers.get_all(TRACEPARENT).iter();
    let parent = match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().ok().and_then(|v| parse_trace_parent(v.trim())),
        _ => None,
    };
    parent.map_or_else(new_trace_parent, |p| p.child().to_string())
}

pub async fn execute(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(body): Body<ExecuteBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let trace_parent = trace_parent_for(&headers);
    check_len("idempotencyKey", &body.idempotency_key, 255)?;
    check_len("callerService", &body.caller_service, 128)?;
    check_len("callerRef", &body.caller_ref, 256)?;
    if !body.input.is_object() {
        return Err(Error::validation("input: must be an object").into());
    }
    let wait = wait_duration(&state, body.wait_ms)?;
    if let Some(url) = &body.callback_url {
        outbound::check_url(url, state.settings.allow_private_urls)?;
    }
    let connection = state
        .backend
        .connections
        .get_connection(&caller.tenant_id, &body.connection_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::ConnectionNotFound,
                format!("connection '{}' not found", body.connection_id),
            )
        })?;
    if connection.status == ConnectionStatus::Inactive {
        return Err(ApiError::new(
            ErrorKind::ConnectionInactive,
            format!("connection '{}' is inactive", body.connection_id),
        ));
    }
    let action = state
        .catalog
        .action(&connection.integration_id, &body.action_id)?;
    action.validate_input(&body.input)?;

    let hash = request_hash(&body);
    let request = ExecutionRequest {
        version: EXECUTION_REQUEST_VERSION,
        execution_id: new_id(),
        tenant_id: caller.tenant_id.clone(),
        connection_id: body.connection_id,
        action_id: body.action_id,
        input: body.input,
        caller_service: body.caller_service.or(Some(caller.caller_service)),
        caller_ref: body.caller_ref,
        callback_url: body.callback_url,
        submitted_at: now(),
    };
    let claim = body.idempotency_key.clone().map(|key| IdempotencyClaim {
        key,
        request_hash: hash.clone(),
    });
    let execution = new_execution(
        &state.catalog,
        &request,
        &connection.integration_id,
        body.idempotency_key,
    );
    let store = &state.backend.executions;
    let execution = match store.create_execution(&execution, claim.as_ref()).await? {
        CreateOutcome::Created => {
            enqueue(&state, &request, &execution, &trace_parent).await?;
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
                enqueue(&state, &request, &existing, &trace_parent).await?;
            }
            *existing
        }
    };
    if wait.is_zero() || execution.status.is_terminal() {
        return Ok(respond(execution));
    }
    let done = wait_terminal(&state, &caller.tenant_id, &execution.execution_id, wait).await?;
    Ok(respond(done.unwrap_or(execution)))
}

async fn enqueue(
    state: &AppState,
    request: &ExecutionRequest,
    execution: &Execution,
    trace_parent: &str,
) -> ApiResult<()> {
    let message = OutgoingMessage {
        body: serde_json::to_string(request).map_err(|e| Error::internal(e.to_string()))?,
        execution_id: request.execution_id.clone(),
        delay: Duration::ZERO,
        trace_parent: Some(trace_parent.to_string()),
    };
    tracing::debug!(
        execution_id = %request.execution_id,
        trace_id = %parse_trace_parent(trace_parent)
            .map(|tp| tp.trace_id_hex())
            .unwrap_or_default(),
        "enqueueing execution"
    );
    if let Err(e) = state.enqueuer.send(message).await {
        // Don't leave an execution that no worker will ever see as `queued`.
        let mut failed = execution.clone();
        failed.status = ExecutionStatus::Failed;
        failed.error = Some(e.body());
        failed.finished_at = Some(now());
        failed.updated_at = now();
        if let Some(event) = integrations_core::model::ResultEvent::for_execution(&failed) {
            let _ = state
                .backend
                .executions
                .complete_execution(&failed, None, &event)
                .await;
        }
        return Err(e.into());
    }
    Ok(())
}

fn wait_duration(state: &AppState, wait_ms: u64) -> Result<Duration, Error> {
    let wait = Duration::from_millis(wait_ms);
    if wait > state.settings.max_wait {
        return Err(Error::validation(format!(
            "waitMs: at most {}",
            state.settings.max_wait.as_millis()
        )));
    }
    Ok(wait)
}

/// Wait until the execution is terminal or `wait` has passed: woken at once by an in-process
/// completion, and polling in case the worker is elsewhere.
async fn wait_terminal(
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetQuery {
    #[serde(default)]
    wait_ms: u64,
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(execution_id): Path<String>,
    Query(q): Query<GetQuery>,
) -> ApiResult<Json<Value>> {
    let wait = wait_duration(&state, q.wait_ms)?;
    let found = wait_terminal(&state, &caller.tenant_id, &execution_id, wait).await?;
    let execution = found.ok_or_else(|| {
        ApiError::new(
            ErrorKind::ExecutionNotFound,
            format!("execution '{execution_id}' not found"),
        )
    })?;
    Ok(Json(serde_json::to_value(execution).unwrap_or_default()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    connection_id: Option<String>,
    integration_id: Option<String>,
    status: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

fn parse_date(
    field: &str,
    v: Option<String>,
) -> Result<Option<integrations_core::model::Timestamp>, Error> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|_| Error::validation(format!("{field}: an RFC 3339 date-time")))
    })
    .transpose()
}

/// Cursors are the backend's, wrapped so that callers treat them as opaque.
fn encode_cursor(c: String) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c)
}

fn decode_cursor(c: String) -> Result<String, Error> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::validation("cursor: not a cursor from this API"))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let status = q
        .status
        .map(|s| {
            ExecutionStatus::parse(&s).ok_or_else(|| {
                Error::validation(
                    "status: one of queued, running, succeeded, failed, timed_out, dead_lettered",
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::validation("limit: 1 to 200").into());
    }
    let filter = ExecutionFilter {
        connection_id: q.connection_id,
        integration_id: q.integration_id,
        status,
        start: parse_date("startDate", q.start_date)?,
        end: parse_date("endDate", q.end_date)?,
        limit,
        cursor: q.cursor.map(decode_cursor).transpose()?,
    };
    let page = state
        .backend
        .executions
        .list_executions(&caller.tenant_id, &filter)
        .await?;
    let mut out = json!({ "executions": page.items });
    if let Some(c) = page.next_cursor {
        out["nextCursor"] = Value::String(encode_cursor(c));
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(TRACEPARENT, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    #[test]
    fn a_valid_traceparent_is_continued_as_a_child() {
        let parent = parse_trace_parent(PARENT).expect("valid");
        let sent = parse_trace_parent(&trace_parent_for(&headers(&[PARENT]))).expect("valid");
        assert_eq!(sent.trace_id, parent.trace_id);
        assert_eq!(sent.flags, parent.flags);
        assert_ne!(sent.span_id, parent.span_id);
    }

    #[test]
    fn a_missing_invalid_or_repeated_traceparent_starts_a_new_trace() {
        let parent = parse_trace_parent(PARENT).expect("valid");
        for h in [
            headers(&[]),
            headers(&["garbage"]),
            headers(&["00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"]),
            headers(&[PARENT, PARENT]),
        ] {
            let sent = parse_trace_parent(&trace_parent_for(&h)).expect("a valid new trace");
            assert_ne!(sent.trace_id, parent.trace_id, "{h:?}");
        }
    }
}
