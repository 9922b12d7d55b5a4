//! The API role: the HTTP server over the backend.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use integrations_core::engine::TenantQuotas;
use integrations_core::model::new_id;
use integrations_core::outbox::{OutboxFeed, OutboxRelay};
use integrations_core::{Error, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use super::{Parts, Tuning};
use crate::app::{router, ApiSettings, AppState};
use crate::config::{ApiArgs, CommonArgs};

/// Bind and serve until `shutdown`, with the relay that publishes the provider events the API
/// records; returns the bound address (port 0 picks a free one) and the tasks.
pub(super) async fn start(
    parts: &Parts,
    common: &CommonArgs,
    a: &ApiArgs,
    tuning: &Tuning,
    quotas: &TenantQuotas,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, Vec<JoinHandle<()>>)> {
    let mut settings = ApiSettings {
        max_wait: Duration::from_millis(a.max_wait_ms),
        allow_private_urls: common.allow_private_urls,
        max_submissions_in_flight: a.max_submissions_in_flight,
        max_enqueue_backlog: a.max_enqueue_backlog,
        tenant_quotas: quotas.clone(),
        provider_base_urls: common.base_url_overrides().map_err(Error::validation)?,
        public_url: a
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string()),
        webhook_token_grace: Duration::from_secs(a.webhook_token_grace_secs),
        ..ApiSettings::default()
    };
    if !a.mcp_allowed_hosts.is_empty() {
        settings.mcp_allowed_hosts = a.mcp_allowed_hosts.clone();
    }
    if !a.mcp_allowed_origins.is_empty() {
        settings.mcp_allowed_origins = a.mcp_allowed_origins.clone();
    }
    // The API's own relay: webhooks are answered by the API, so their events must not wait
    // for a worker (there may be none in this process). Its sweep also takes what a dead API
    // process left.
    let owner = format!("api-{}", new_id());
    let claim = Duration::from_millis(a.outbox_claim_ms);
    let (feed, fed) = OutboxFeed::channel(owner.clone(), claim);
    let state = Arc::new(
        AppState::new(
            parts.backend.clone(),
            parts.catalog.clone(),
            parts.connectors.clone(),
            settings,
        )
        .with_event_feed(feed),
    );
    let relay = OutboxRelay::new(
        owner,
        parts.backend.executions.clone(),
        parts.backend.events.clone(),
        Some(fed),
        tuning.outbox_sweep,
        tuning.publish_linger,
    )
    .with_claim(claim)
    // Triggers act on the provider events this relay takes out of the outbox.
    .with_handler(Some(Arc::new(crate::triggers::TriggerFirer::new(
        state.clone(),
    ))));
    let relay = tokio::spawn(relay.run(shutdown.clone()));
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| Error::internal(format!("bind {}: {e}", a.listen)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::internal(e.to_string()))?;
    let app = router(state);
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "API server failed");
        }
    });
    info!(%bound, "API listening");
    Ok((bound, vec![task, relay]))
}
