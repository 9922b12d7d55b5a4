//! Control endpoints (outside the provider prefix), so tests and benchmarks in other processes
//! can inject faults, read counters and reset the fake.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::state::State;

pub(crate) fn routes() -> Router<Arc<State>> {
    Router::new()
        .route(
            "/__faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/__stats", get(stats))
        .route("/__reset", post(reset))
        .route("/__orders/{order_code}/status", post(set_status))
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn list_faults(AxState(st): AxState<Arc<State>>) -> Response {
    Json(json!({ "faults": st.faults.pending() })).into_response()
}

async fn add_fault(AxState(st): AxState<Arc<State>>, body: Bytes) -> Response {
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(format!("invalid fault: {e}")),
    };
    match st.faults.push(fault) {
        Ok(()) => Json(json!({ "pending": st.faults.pending().len() })).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn clear_faults(AxState(st): AxState<Arc<State>>) -> Response {
    Json(json!({ "cleared": st.faults.clear() })).into_response()
}

async fn stats(AxState(st): AxState<Arc<State>>) -> Response {
    Json(st.stats()).into_response()
}

async fn reset(AxState(st): AxState<Arc<State>>) -> Response {
    st.reset();
    Json(json!({ "reset": true })).into_response()
}

async fn set_status(
    AxState(st): AxState<Arc<State>>,
    Path(order_code): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("invalid body: {e}")),
    };
    let Some(status) = body.get("status").and_then(Value::as_str) else {
        return bad_request("body must be {\"status\": \"<GHN status>\"}");
    };
    match st.orders.set_status(&order_code, status) {
        Ok(()) => Json(json!({ "orderCode": order_code, "status": status })).into_response(),
        Err(e) => bad_request(e),
    }
}
