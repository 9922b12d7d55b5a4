//! The accept loop and the outer service that counts calls, adds latency and serves faults
//! before handing a call to the provider routes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::faults::{Fault, FaultKind};
use crate::state::State;
use crate::GHN_PREFIX;

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .nest(GHN_PREFIX, crate::ghn::routes())
        .merge(crate::shipping::routes())
        .merge(crate::ecommerce::routes())
        .merge(crate::crm::routes())
        .nest(crate::MOMO_PREFIX, crate::payment::momo::routes())
        .nest(crate::ZALOPAY_PREFIX, crate::payment::zalopay::routes())
        .nest(crate::VNPAY_PREFIX, crate::payment::vnpay::routes())
        .nest(crate::STRIPE_PREFIX, crate::payment::stripe::routes())
        .merge(crate::control::routes())
        .with_state(state)
}

pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let (state, router, mut shutdown) = (state.clone(), router.clone(), shutdown.clone());
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req| handle(state.clone(), router.clone(), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injected: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    state: Arc<State>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response, DropConnection> {
    let path = req.uri().path();
    if path.starts_with("/__") {
        return Ok(route(router, req).await);
    }
    let key = path.strip_prefix(GHN_PREFIX).unwrap_or(path).to_string();
    state.record_call(&key);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    let Some(fault) = state.faults.take(&key) else {
        return Ok(route(router, req).await);
    };
    match fault.kind {
        FaultKind::Drop => Err(DropConnection),
        FaultKind::Delay => {
            // Spawned so the call takes effect even if the caller hangs up while we wait.
            let done = tokio::spawn(route(router, req));
            tokio::time::sleep(Duration::from_millis(fault.delay_ms.unwrap_or(3000))).await;
            Ok(done
                .await
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
        }
        _ => Ok(fault_response(&fault)),
    }
}

fn with_retry_after(mut resp: Response, secs: Option<u64>) -> Response {
    if let Some(v) = secs.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

async fn route(router: Router, req: Request<Incoming>) -> Response {
    let result: Result<Response, Infallible> = router.oneshot(req.map(Body::new)).await;
    match result {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

fn fault_response(fault: &Fault) -> Response {
    let envelope = |status: u16, code: i64, message: &str, code_message: Option<&str>| {
        let mut body = json!({ "code": code, "message": message, "data": null });
        if let Some(cm) = code_message {
            body["code_message"] = json!(cm);
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    };
    match fault.kind {
        FaultKind::Status => {
            let status = fault.status.unwrap_or(500);
            let message = fault
                .message
                .clone()
                .unwrap_or_else(|| format!("fault injected: HTTP {status}"));
            let resp = envelope(
                status,
                i64::from(status),
                &message,
                fault.code_message.as_deref(),
            );
            with_retry_after(resp, fault.retry_after_secs)
        }
        FaultKind::RateLimit => with_retry_after(
            envelope(429, 429, "Too many request", None),
            fault.retry_after_secs,
        ),
        FaultKind::Oversize => {
            let size = usize::try_from(fault.bytes.unwrap_or(2 << 20)).unwrap_or(usize::MAX);
            let filler = "x".repeat(size.saturating_sub(40));
            let body = format!(r#"{{"code":200,"message":"Success","data":"{filler}"}}"#);
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        FaultKind::Malformed => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":200,"message":"Success","data":{"order_code":"#,
        )
            .into_response(),
        FaultKind::Envelope => envelope(
            fault.status.unwrap_or(200),
            fault.code.unwrap_or(500),
            fault.message.as_deref().unwrap_or("fault injected"),
            fault.code_message.as_deref(),
        ),
        // Handled by the caller; kept total so a new kind cannot be forgotten silently.
        FaultKind::Drop | FaultKind::Delay => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
