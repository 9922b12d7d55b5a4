//! Wiring: open the backend, start the API ([`api`]) and/or the workers ([`worker`]) with the
//! backend's tuning ([`tuning`]), stop them.

mod api;
mod tuning;
mod worker;

pub use tuning::Tuning;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::Backend;
use integrations_core::cache::CachedConnections;
use integrations_core::catalog::Catalog;
use integrations_core::{Error, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{ApiArgs, BackendKind, CommonArgs, WorkerArgs};

/// A started service; `stop` shuts it down gracefully.
pub struct Running {
    /// Where the API listens, if this process serves it.
    pub addr: Option<SocketAddr>,
    /// Where a worker-only process serves /metrics, if asked to.
    pub metrics_addr: Option<SocketAddr>,
    pub backend: Backend,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stop receiving, finish in-flight work, flush; returns when everything has stopped.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// An opened backend, and the embedded one's handle for its housekeeping.
pub struct Opened {
    pub backend: Backend,
    pub embedded: Option<backend_embedded::EmbeddedBackend>,
}

pub async fn open_backend(common: &CommonArgs) -> Result<Backend> {
    Ok(open_backends(common).await?.backend)
}

async fn open_backends(common: &CommonArgs) -> Result<Opened> {
    match common.backend {
        BackendKind::Embedded => {
            std::fs::create_dir_all(&common.data_dir).map_err(|e| {
                Error::internal(format!("create {}: {e}", common.data_dir.display()))
            })?;
            let secret_key = match &common.secret_key {
                Some(b64) => backend_embedded::SecretKeySource::from_base64(b64)?,
                None => backend_embedded::SecretKeySource::File(common.data_dir.join("secret.key")),
            };
            let config = backend_embedded::EmbeddedConfig {
                path: common.data_dir.join("integrations.db"),
                secret_key,
                max_receive_count: common.max_receive_count,
            };
            let embedded = backend_embedded::EmbeddedBackend::open(&config).await?;
            Ok(Opened {
                backend: embedded.backend(),
                embedded: Some(embedded),
            })
        }
        BackendKind::Aws => {
            let config = aws_config(common);
            if common.aws.provision {
                backend_aws::provision(&config).await?;
            }
            let (mut backend, handle) = backend_aws::open(&config).await?;
            // Connections are read by every submission and every execution: reuse reads for a
            // few seconds rather than pay a DynamoDB request each time.
            backend.connections = Arc::new(CachedConnections::new(
                backend.connections,
                Duration::from_millis(common.aws.connection_cache_ms),
            ));
            for warning in handle.warnings() {
                tracing::warn!("{warning}");
            }
            Ok(Opened {
                backend,
                embedded: None,
            })
        }
    }
}

pub(crate) fn aws_config(common: &CommonArgs) -> backend_aws::AwsConfig {
    let a = &common.aws;
    let mut config =
        backend_aws::AwsConfig::with_prefix(&a.prefix).with_resource_names(&a.resource_names());
    config.region = a.region.clone();
    config.max_receive_count = common.max_receive_count;
    config.secret_cache_ttl = Duration::from_millis(a.secret_cache_ms);
    config.listing_shards = a.listing_shards;
    config.outbox_shards = a.outbox_shards;
    match &a.emulator_endpoint {
        Some(endpoint) => config.for_emulator(endpoint),
        None => config,
    }
}

fn connectors(
    common: &CommonArgs,
    catalog: &Catalog,
) -> Result<integrations_core::connector::Connectors> {
    let overrides = common.base_url_overrides().map_err(Error::validation)?;
    // Shop URLs are the tenants' choice: public addresses only, unless the operator allows
    // private ones (--allow-private-urls), as for callbacks.
    let mut settings = connectors::ConnectorSettings::new()?.with_tenant_hosts(
        common.allow_private_urls,
        std::sync::Arc::new(integrations_core::outbound::SystemLookup),
    )?;
    for (id, url) in &overrides {
        settings = settings.with_base_url(id, url);
    }
    // A connector that disagrees with its catalog entry (auth strategy, actions) stops start-up
    // with the reason, not a panic.
    connectors::try_registry(&settings, catalog)
}

pub struct Parts {
    pub backend: Backend,
    pub embedded: Option<backend_embedded::EmbeddedBackend>,
    pub catalog: Arc<Catalog>,
    pub connectors: integrations_core::connector::Connectors,
}

pub async fn open(common: &CommonArgs) -> Result<Parts> {
    let opened = open_backends(common).await?;
    let catalog = Catalog::embedded()?;
    Ok(Parts {
        backend: opened.backend,
        embedded: opened.embedded,
        connectors: connectors(common, &catalog)?,
        catalog: Arc::new(catalog),
    })
}

/// Start the API (if `api`) and the workers (if `worker`).
pub async fn start(
    common: &CommonArgs,
    api: Option<&ApiArgs>,
    worker: Option<&WorkerArgs>,
) -> Result<Running> {
    // Installed before anything counts, in every role.
    crate::telemetry::Metrics::install();
    let parts = open(common).await?;
    let tuning = Tuning::for_backend(common.backend);
    // Parsed once for both roles; an invalid --tenant-quota stops start-up.
    let quotas = common.quotas.tenant_quotas().map_err(Error::validation)?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut addr = None;
    let mut metrics_addr = None;
    // The worker's relay, which the API's webhooks then share: one relay per process.
    let mut relay = None;
    if let Some(w) = worker {
        let (worker_tasks, feed) =
            worker::start(&parts, common, w, &tuning, &quotas, &shutdown_rx)?;
        tasks.extend(worker_tasks);
        relay = Some(feed);
        if let (None, Some(listen)) = (api, w.metrics_listen) {
            let (bound, task) = worker::serve_metrics(listen, shutdown_rx.clone()).await?;
            metrics_addr = Some(bound);
            tasks.push(task);
        }
    }
    if let Some(a) = api {
        let (bound, api_tasks) = api::start(
            &parts,
            common,
            a,
            &tuning,
            &quotas,
            relay,
            shutdown_rx.clone(),
        )
        .await?;
        addr = Some(bound);
        tasks.extend(api_tasks);
    }
    Ok(Running {
        addr,
        metrics_addr,
        backend: parts.backend,
        shutdown,
        tasks,
    })
}
