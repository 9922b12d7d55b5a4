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
use serde_json::Value;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path, Query};
use crate::openapi::errors;
use crate::openapi::views;
use crate::submit::{self, trace_parent_for, Submission};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ExecuteRequest)]
pub struct ExecuteBody {
    connection_id: String,
    action_id: String,
    /// Validated against the action's inputSchema.
    #[schema(value_type = Object)]
    input: Value,
    /// The seed sends it "for logging"; it must name the API key's own caller service, whose
    /// secret signs the callback.
    caller_service: Option<String>,
    #[schema(min_length = 1, max_length = 256)]
    caller_ref: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    idempotency_key: Option<String>,
    /// https and public unless the service runs with --allow-private-urls.
    #[schema(format = "uri")]
    callback_url: Option<String>,
    /// Wait up to this long (ms) for the result before answering (at most the service's
    /// --max-wait-ms, 30000 by default).
    #[serde(default)]
    #[schema(maximum = 30000)]
    wait_ms: u64,
}

/// The headers [`trace_parent_for`] reads (from the `HeaderMap`, so this only describes them).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct TraceHeaders {
    /// W3C trace context; the execution continues it when valid.
    #[param(value_type = String, required = false)]
    traceparent: Option<String>,
}

fn respond(e: &Execution, callback: Option<&Callback>) -> (StatusCode, Json<views::Execution>) {
    let status = if e.status.is_terminal() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    (status, Json(submit::answer(e, callback)))
}

/// Submit an execution.
#[utoipa::path(
    post,
    path = "/execute",
    operation_id = "execute",
    tag = "executions",
    params(TraceHeaders),
    request_body = ExecuteBody,
    responses(
        (status = 200, description = "Finished within waitMs", body = views::Execution,
         links(
            ("GetExecution" = (operation_id = "getExecution",
                parameters(("executionId" = "$response.body#/executionId")))),
            ("RedeliverCallback" = (operation_id = "redeliverCallback",
                parameters(("executionId" = "$response.body#/executionId"))))
        )),
        (status = 202, description = "Accepted (queued or running)", body = views::Execution,
         links(
            ("GetExecution" = (operation_id = "getExecution",
                parameters(("executionId" = "$response.body#/executionId")))),
            ("RedeliverCallback" = (operation_id = "redeliverCallback",
                parameters(("executionId" = "$response.body#/executionId"))))
        )),
        errors::Submit
    )
)]
pub async fn execute(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(body): Body<ExecuteBody>,
) -> ApiResult<(StatusCode, Json<views::Execution>)> {
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

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GetQuery {
    /// Wait up to this long (ms) until the execution is terminal (at most --max-wait-ms, 30000
    /// by default).
    #[serde(default)]
    #[param(maximum = 30000)]
    wait_ms: u64,
}

/// One execution, optionally waiting until it is terminal.
#[utoipa::path(
    get,
    path = "/executions/{executionId}",
    operation_id = "getExecution",
    tag = "executions",
    params(("executionId" = String, Path, min_length = 1), GetQuery),
    responses(
        (status = 200, description = "The execution", body = views::Execution),
        errors::Lookup
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(execution_id): Path<String>,
    Query(q): Query<GetQuery>,
) -> ApiResult<Json<views::Execution>> {
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

/// Deliver the execution's callback again now.
///
/// A new round of the schedule when it was delivered or failed. 202 with the callback's state.
#[utoipa::path(
    post,
    path = "/executions/{executionId}/callback",
    operation_id = "redeliverCallback",
    tag = "executions",
    params(("executionId" = String, Path, min_length = 1)),
    responses(
        (status = 202, description = "The callback's delivery state",
         body = views::CallbackDelivery),
        errors::Redeliver
    )
)]
pub async fn redeliver_callback(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(execution_id): Path<String>,
) -> ApiResult<(StatusCode, Json<views::CallbackDelivery>)> {
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
    Ok((
        StatusCode::ACCEPTED,
        Json(views::CallbackDelivery::of(&callback)),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    connection_id: Option<String>,
    integration_id: Option<String>,
    /// Ours, or the seed's success, error, timeout.
    #[param(value_type = Option<StatusName>, inline)]
    status: Option<String>,
    #[param(format = DateTime)]
    start_date: Option<String>,
    #[param(format = DateTime)]
    end_date: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<usize>,
    /// nextCursor of the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
}

/// A status in `?status=`: what [`submit::parse_status`] accepts (only described: [`list`]
/// parses the string, to name the field when it is wrong).
pub enum StatusName {}

impl utoipa::PartialSchema for StatusName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(submit::status_names()))
            .into()
    }
}

impl utoipa::ToSchema for StatusName {}

pub(crate) fn parse_date(
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
pub(crate) fn encode_cursor(c: String) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c)
}

pub(crate) fn decode_cursor(c: String) -> Result<String, Error> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::validation("cursor: not a cursor from this API"))
}

/// Executions, newest first.
#[utoipa::path(
    get,
    path = "/executions",
    operation_id = "listExecutions",
    tag = "executions",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = views::ExecutionList),
        errors::Common
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<views::ExecutionList>> {
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
    Ok(Json(views::ExecutionList {
        executions: page.items.iter().map(|e| submit::answer(e, None)).collect(),
        next_cursor: page.next_cursor.map(encode_cursor),
    }))
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
