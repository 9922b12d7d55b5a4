//! The HTTP application, built by a function of its state so tests can run it in process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use integrations_core::backend::Backend;
use integrations_core::catalog::Catalog;
use integrations_core::connector::Connectors;
use integrations_core::ErrorKind;

use crate::auth::authenticate;
use crate::error::ApiError;
use crate::openapi::errors;
use crate::openapi::views;
use crate::routes::{catalog, connections, events, executions, tools, triggers, webhooks};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    /// The operator's provider base-URL overrides (`--provider-base-urls`), for the OAuth
    /// flow's authorize and token endpoints as for the connectors.
    pub provider_base_urls: std::collections::BTreeMap<String, String>,
    /// The service's public origin (`--public-url`), to show a connection's full webhook URL;
    /// without it only the path is shown.
    pub public_url: Option<String>,
    /// How long a rotated webhook URL token keeps working beside its successor.
    pub webhook_token_grace: Duration,
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
            provider_base_urls: Default::default(),
            public_url: None,
            webhook_token_grace: Duration::from_secs(24 * 3600),
        }
    }
}

pub struct AppState {
    pub backend: Backend,
    pub catalog: Arc<Catalog>,
    pub connectors: Connectors,
    pub settings: ApiSettings,
    pub metrics: crate::telemetry::Metrics,
    pub(crate) enqueuer: crate::enqueue::Enqueuer,
    pub(crate) admission: crate::admission::Admission,
    pub(crate) waiters: Arc<crate::waiters::Waiters>,
    /// Renews connections' credentials during connection tests (as the engine does).
    pub(crate) renewer: integrations_core::renewal::Renewer,
    pub(crate) oauth: crate::oauth::Flow,
    /// The feed of this process's relay: provider events recorded by the webhook route are born
    /// claimed by it and handed over at once (None: they wait for a sweep).
    pub(crate) event_feed: Option<integrations_core::outbox::OutboxFeed>,
}

impl AppState {
    pub fn new(
        mut backend: Backend,
        catalog: Arc<Catalog>,
        connectors: Connectors,
        settings: ApiSettings,
    ) -> Self {
        // Every request is authenticated: reuse found keys briefly (revocation: KEY_CACHE_TTL).
        backend.api_keys = Arc::new(integrations_core::cache::CachedApiKeys::new(
            backend.api_keys,
            crate::auth::KEY_CACHE_TTL,
        ));
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
        let oauth = crate::oauth::Flow::new(settings.provider_base_urls.clone());
        Self {
            oauth,
            renewer,
            backend,
            catalog,
            connectors,
            settings,
            metrics: crate::telemetry::Metrics::install(),
            enqueuer,
            admission,
            waiters,
            event_feed: None,
        }
    }

    /// Hand the provider events this API records to the relay reading `feed`.
    pub fn with_event_feed(mut self, feed: integrations_core::outbox::OutboxFeed) -> Self {
        self.event_feed = Some(feed);
        self
    }
}

/// Where rmcp's MCP service is mounted (documented by [`crate::openapi::document`]).
const MCP_PATH: &str = "/mcp";

/// Routes served without an API key.
fn public_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
        .routes(routes!(crate::openapi::served))
        .routes(routes!(crate::oauth::callback))
        .routes(routes!(webhooks::receive_post, webhooks::receive_get))
}

/// Routes behind [`authenticate`]. One `routes!` per path: each handler's `#[utoipa::path]`
/// gives both its route and its documentation.
fn authed_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(catalog::list))
        .routes(routes!(catalog::get))
        .routes(routes!(catalog::action))
        .routes(routes!(connections::list, connections::create))
        .routes(routes!(
            connections::get,
            connections::update,
            connections::delete
        ))
        .routes(routes!(connections::probe::test))
        .routes(routes!(connections::webhook::get))
        .routes(routes!(connections::webhook::rotate))
        .routes(routes!(crate::oauth::start))
        .routes(routes!(executions::execute))
        .routes(routes!(executions::list))
        .routes(routes!(executions::get))
        .routes(routes!(executions::redeliver_callback))
        .routes(routes!(events::list))
        .routes(routes!(events::get))
        .routes(routes!(tools::list))
        .routes(routes!(tools::call))
        .routes(routes!(triggers::list, triggers::create))
        .routes(routes!(triggers::get, triggers::delete))
}

/// The public and the authenticated routers and the document, from the same declarations.
fn parts() -> (
    Router<Arc<AppState>>,
    Router<Arc<AppState>>,
    serde_json::Value,
) {
    let (public, public_doc) = public_routes().split_for_parts();
    let (authed, authed_doc) = authed_routes().split_for_parts();
    let doc = crate::openapi::document(public_doc, authed_doc, MCP_PATH);
    (public, authed, doc)
}

/// The OpenAPI document of [`router`]'s routes (what `GET /openapi.json` serves).
pub fn openapi() -> serde_json::Value {
    parts().2
}

pub fn router(state: Arc<AppState>) -> Router {
    let (public, authed, doc) = parts();
    let authed = authed.route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    public
        .merge(authed)
        .nest_service(MCP_PATH, crate::mcp::service(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(crate::openapi::Served::new(&doc)))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(middleware::from_fn(track))
        .with_state(state)
}

/// Health: the store answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "Healthy", body = views::Health),
        errors::Store
    )
)]
async fn health(State(state): State<Arc<AppState>>) -> Response {
    // A cheap read proves the store answers.
    match state.backend.api_keys.find_api_key("healthz").await {
        Ok(_) => axum::Json(views::Health::OK).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

/// Prometheus metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text exposition format", body = String,
         content_type = "text/plain")
    )
)]
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
