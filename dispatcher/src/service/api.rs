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

/// Bind and serve until `shutdown`; returns the bound address (port 0 picks a free one) and the
/// tasks. The provider events the API records go to `relay`, this process's worker's relay,
/// or, without one, to a relay of the API's own.
pub(super) async fn start(
    parts: &Parts,
    common: &CommonArgs,
    a: &ApiArgs,
    tuning: &Tuning,
    quotas: &TenantQuotas,
    relay: Option<OutboxFeed>,
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
    let mut tasks = Vec::new();
    // Webhooks are answered by the API: their events must not wait for a sweep.
    let (feed, own_relay) = match relay {
        Some(feed) => (feed, None),
        None => {
            let owner = format!("api-{}", new_id());
            let claim = Duration::from_millis(common.outbox_claim_ms);
            let (feed, fed) = OutboxFeed::channel(owner.clone(), claim);
            (feed, Some((owner, claim, fed)))
        }
    };
    let state = Arc::new(
        AppState::new(
            parts.backend.clone(),
            parts.catalog.clone(),
            parts.connectors.clone(),
            settings,
        )
        .with_event_feed(feed),
    );
    if let Some((owner, claim, fed)) = own_relay {
        // Its sweep also takes what a dead API process left.
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
        tasks.push(tokio::spawn(relay.run(shutdown.clone())));
    }
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
    tasks.push(task);
    Ok((bound, tasks))
}
