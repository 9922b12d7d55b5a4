//! `POST /execute`, `GET /executions/{id}`, `GET /executions`, `POST /executions/{id}/callback`.
//! Submission itself is [`crate::submit`], shared with the tool surfaces.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use base64::Engine as _;
use integrations_core::backend::ExecutionFilter;
use integrations_core::callbacks::Callback;
use integrations_core::model::{now, Execution};
use integrations_core::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path, Query};
use crate::submit::{self, trace_parent_for, Submission};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteBody {
    connection_id: String,
    action_id: String,
    input: Value,
    /// The seed sends it "for logging"; it must name the API key's own caller service, whose
    /// secret signs the callback.
    caller_service: Option<String>,
    caller_ref: Option<String>,
    idempotency_key: Option<String>,
    callback_url: Option<String>,
    /// Wait up to this long for the result before answering.
    #[serde(default)]
    wait_ms: u64,
}

fn respond(e: &Execution, callback: Option<&Callback>) -> (StatusCode, Json<Value>) {
    let status = if e.status.is_terminal() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(submit::answer(e, callback)))
}

pub async fn execute(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(body): Body<ExecuteBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if let Some(named) = &body.caller_service {
        if named != &caller.caller_service {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!(
                    "callerService: this API key belongs to '{}'; omit callerService or send that",
                    caller.caller_service
                ),
            ));
        }
    }
    let submission = Submission {
        connection_id: body.connection_id,
        action_id: body.action_id,
        input: body.input,
        caller_ref: body.caller_ref,
        idempotency_key: body.idempotency_key,
        callback_url: body.callback_url,
        wait: Duration::from_millis(body.wait_ms),
        trace_parent: Some(trace_parent_for(&headers)),
    };
    let execution = submit::submit(&state, &caller, submission).await?;
    // Its callback has only just been written (or not yet): `pending` without a read, so that
    // answering costs nothing extra; GET /executions/{id} shows the delivery.
    Ok(respond(&execution, None))
}

/// The execution's callback record, once it is terminal and asked for one.
async fn callback_of(state: &AppState, e: &Execution) -> ApiResult<Option<Callback>> {
    if e.callback_url.is_none() || !e.status.is_terminal() {
        return Ok(None);
    }
    Ok(state
        .backend
        .callbacks
        .get_callback(&e.tenant_id, &e.execution_id)
        .await?)
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
    let wait = submit::check_wait(&state, Duration::from_millis(q.wait_ms))?;
    let found = submit::wait_terminal(&state, &caller.tenant_id, &execution_id, wait).await?;
    let execution = found.ok_or_else(|| not_found(&execution_id))?;
    let callback = callback_of(&state, &execution).await?;
    Ok(Json(submit::answer(&execution, callback.as_ref())))
}

fn not_found(execution_id: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ExecutionNotFound,
        format!("execution '{execution_id}' not found"),
    )
}

/// `POST /executions/{id}/callback`: deliver the callback again now (a new round of the
/// schedule when it was delivered or failed). 202 with the callback's state.
pub async fn redeliver_callback(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(execution_id): Path<String>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let execution = state
        .backend
        .executions
        .get_execution(&caller.tenant_id, &execution_id)
        .await?
        .ok_or_else(|| not_found(&execution_id))?;
    if execution.callback_url.is_none() {
        return Err(ApiError::new(
            ErrorKind::CallbackNotFound,
            format!("execution '{execution_id}' was submitted without a callbackUrl"),
        ));
    }
    if !execution.status.is_terminal() {
        return Err(ApiError::new(
            ErrorKind::ExecutionNotFinished,
            format!(
                "execution '{execution_id}' has not finished; its callback follows when it does"
            ),
        ));
    }
    let callback = state
        .backend
        .callbacks
        .redeliver_callback(&caller.tenant_id, &execution_id, now())
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::CallbackNotFound,
                format!("execution '{execution_id}' has no callback record"),
            )
        })?;
    tracing::info!(tenant_id = %caller.tenant_id, execution_id = %execution_id, "callback redelivery requested");
    let view = submit::answer(&execution, Some(&callback));
    Ok((StatusCode::ACCEPTED, Json(view["callback"].clone())))
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
            submit::parse_status(&s).ok_or_else(|| {
                Error::validation(
                    "status: one of queued, running, succeeded, failed, timed_out, \
                     dead_lettered, or the seed's success, error, timeout",
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
    let items: Vec<Value> = page.items.iter().map(|e| submit::answer(e, None)).collect();
    let mut out = json!({ "executions": items });
    if let Some(c) = page.next_cursor {
        out["nextCursor"] = Value::String(encode_cursor(c));
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use integrations_core::trace::{parse_trace_parent, TRACEPARENT};

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
