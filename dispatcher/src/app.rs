//! The HTTP application, built by a function of its state so tests can run it in process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use integrations_core::backend::Backend;
use integrations_core::catalog::Catalog;
use integrations_core::connector::Connectors;
use integrations_core::ErrorKind;

use crate::auth::{authenticate, KeyCache};
use crate::error::ApiError;
use crate::routes::{catalog, connections, executions, tools};

#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Upper bound of `waitMs` on execute and get.
    pub max_wait: Duration,
    /// Callback URLs may point at private addresses (tests, on-premises).
    pub allow_private_urls: bool,
    pub connection_test_timeout: Duration,
    pub max_body_bytes: usize,
    /// `Host` values `/mcp` accepts (DNS-rebinding protection; empty accepts any): rmcp's
    /// loopback default, to be widened for a public deployment.
    pub mcp_allowed_hosts: Vec<String>,
    /// Browser `Origin`s `/mcp` accepts (`scheme://host:port`, `:*` for any port); requests
    /// without an `Origin` (non-browser clients) always pass.
    pub mcp_allowed_origins: Vec<String>,
    /// Submissions recorded and enqueued at once; beyond it 503 OVERLOADED.
    pub max_submissions_in_flight: usize,
    /// Messages waiting for the enqueue batcher; beyond it 503 OVERLOADED.
    pub max_enqueue_backlog: usize,
    /// Per-tenant quotas; the API enforces their submission rate.
    pub tenant_quotas: integrations_core::engine::TenantQuotas,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(30),
            allow_private_urls: false,
            connection_test_timeout: Duration::from_secs(15),
            max_body_bytes: 256 * 1024,
            mcp_allowed_hosts: ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec(),
            mcp_allowed_origins: ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
                .map(String::from)
                .to_vec(),
            max_submissions_in_flight: 1024,
            max_enqueue_backlog: 1024,
            tenant_quotas: integrations_core::engine::TenantQuotas::default(),
        }
    }
}

pub struct AppState {
    pub backend: Backend,
    pub catalog: Arc<Catalog>,
    pub connectors: Connectors,
    pub settings: ApiSettings,
    pub metrics: crate::telemetry::Metrics,
    pub(crate) key_cache: KeyCache,
    pub(crate) enqueuer: crate::enqueue::Enqueuer,
    pub(crate) admission: crate::admission::Admission,
    pub(crate) waiters: Arc<crate::waiters::Waiters>,
    /// Renews connections' credentials during connection tests (as the engine does).
    pub(crate) renewer: integrations_core::renewal::Renewer,
}

impl AppState {
    pub fn new(
        backend: Backend,
        catalog: Arc<Catalog>,
        connectors: Connectors,
        settings: ApiSettings,
    ) -> Self {
        let enqueuer =
            crate::enqueue::Enqueuer::spawn(backend.queue.clone(), settings.max_enqueue_backlog);
        let admission = crate::admission::Admission::new(
            settings.tenant_quotas.clone(),
            settings.max_submissions_in_flight,
            backend.rate_limits.clone(),
        );
        let waiters = crate::waiters::Waiters::spawn(&backend.executions);
        let renewer = integrations_core::renewal::Renewer::new(
            backend.secrets.clone(),
            backend.leases.clone(),
            format!("api-{}", integrations_core::model::new_id()),
        );
        Self {
            renewer,
            backend,
            catalog,
            connectors,
            settings,
            metrics: crate::telemetry::Metrics::install(),
            key_cache: KeyCache::default(),
            enqueuer,
            admission,
            waiters,
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let authed = Router::new()
        .route("/catalog", get(catalog::list))
        .route("/catalog/{integration_id}", get(catalog::get))
        .route(
            "/catalog/{integration_id}/actions/{action_id}",
            get(catalog::action),
        )
        .route(
            "/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/connections/{connection_id}",
            get(connections::get)
                .patch(connections::update)
                .delete(connections::delete),
        )
        .route("/connections/{connection_id}/test", post(connections::test))
        .route("/execute", post(executions::execute))
        .route("/executions", get(executions::list))
        .route("/executions/{execution_id}", get(executions::get))
        .route(
            "/executions/{execution_id}/callback",
            post(executions::redeliver_callback),
        )
        .route("/tools", get(tools::list))
        .route("/tools/call", post(tools::call))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(crate::routes::openapi::document))
        .merge(authed)
        .nest_service("/mcp", crate::mcp::service(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(middleware::from_fn(track))
        .with_state(state)
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    // A cheap read proves the store answers.
    match state.backend.api_keys.find_api_key("healthz").await {
        Ok(_) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorKind::NotFound, "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "method not allowed on this route",
    )
}

/// Request count and duration by route template (never by raw path: ids would explode the
/// label set).
async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    resp
}
