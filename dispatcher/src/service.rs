//! Wiring: open the backend, build the engine, start the API and/or the workers, stop them.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::Backend;
use integrations_core::cache::CachedConnections;
use integrations_core::catalog::Catalog;
use integrations_core::engine::{Engine, EngineConfig};
use integrations_core::outbox::{CallbackConfig, OutboxRelay};
use integrations_core::{Error, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use crate::app::{router, ApiSettings, AppState};
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

/// Read a key file in the data directory, creating it (32 random bytes, mode 0600) first.
pub fn load_or_create_key(file: &Path) -> Result<Vec<u8>> {
    if let Ok(bytes) = std::fs::read(file) {
        return Ok(bytes);
    }
    let mut key = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut key);
    write_private(file, &key)?;
    Ok(key)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts
        .open(path)
        .map_err(|e| Error::internal(format!("create {}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| Error::internal(format!("write {}: {e}", path.display())))
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

fn aws_config(common: &CommonArgs) -> backend_aws::AwsConfig {
    let a = &common.aws;
    let mut config = backend_aws::AwsConfig::with_prefix(&a.prefix);
    config.region = a.region.clone();
    config.queue_url = a.queue_url.clone();
    config.max_receive_count = common.max_receive_count;
    config.secret_cache_ttl = Duration::from_millis(a.secret_cache_ms);
    match &a.emulator_endpoint {
        Some(endpoint) => config.for_emulator(endpoint),
        None => config,
    }
}

/// Delete expired executions, idempotency records and events, hourly.
async fn purge_expired(
    embedded: backend_embedded::EmbeddedBackend,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match embedded
            .purge_expired(integrations_core::model::now())
            .await
        {
            Ok(report) => tracing::debug!(?report, "expired records purged"),
            Err(e) => tracing::warn!(error = %e, "purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn connectors(common: &CommonArgs) -> Result<integrations_core::connector::Connectors> {
    let overrides = common.base_url_overrides().map_err(Error::validation)?;
    let mut settings = connectors::ConnectorSettings::new();
    for (id, url) in &overrides {
        settings = settings.with_base_url(id, url);
    }
    Ok(connectors::registry(&settings))
}

pub struct Parts {
    pub backend: Backend,
    pub embedded: Option<backend_embedded::EmbeddedBackend>,
    pub catalog: Arc<Catalog>,
    pub connectors: integrations_core::connector::Connectors,
}

pub async fn open(common: &CommonArgs) -> Result<Parts> {
    let opened = open_backends(common).await?;
    Ok(Parts {
        backend: opened.backend,
        embedded: opened.embedded,
        catalog: Arc::new(Catalog::embedded()?),
        connectors: connectors(common)?,
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
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut addr = None;
    let mut metrics_addr = None;

    if let Some(w) = worker {
        let engine = Arc::new(Engine::new(
            parts.backend.clone(),
            parts.catalog.clone(),
            parts.connectors.clone(),
            engine_config(w),
        ));
        let callback_secret = match &w.callback_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => load_or_create_key(&common.data_dir.join("callback.key"))?,
        };
        let relay = OutboxRelay::new(
            parts.backend.executions.clone(),
            parts.backend.events.clone(),
            engine.take_outbox_feed(),
            CallbackConfig {
                secret: callback_secret,
                timeout: Duration::from_secs(10),
                attempts: 3,
                allow_private: common.allow_private_urls,
            },
            Duration::from_secs(10),
            // Remote buses and tables bill per request: let events share them.
            if common.backend == BackendKind::Embedded {
                Duration::ZERO
            } else {
                Duration::from_millis(100)
            },
        );
        tasks.push(tokio::spawn(relay.run(shutdown_rx.clone())));
        if let Some(embedded) = parts.embedded.clone() {
            tasks.push(tokio::spawn(purge_expired(embedded, shutdown_rx.clone())));
        }
        // Each sweep is a receive on the dead-letter queue: cheap locally, billed on SQS.
        let sweep_every = if common.backend == BackendKind::Embedded {
            Duration::from_secs(2)
        } else {
            Duration::from_secs(30)
        };
        tasks.push(tokio::spawn(sweep_dead_letters(
            parts.backend.clone(),
            sweep_every,
            shutdown_rx.clone(),
        )));
        let local_queue = common.backend == BackendKind::Embedded;
        let config = worker::WorkerConfig {
            concurrency: w.concurrency,
            // SQS hands out at most 10 per request; the embedded queue takes a batch per
            // write transaction, and larger batches keep up with high concurrency.
            batch_size: if local_queue { 100 } else { 10 },
            ack_linger: if local_queue {
                Duration::ZERO
            } else {
                Duration::from_millis(200)
            },
            receive_linger: if local_queue {
                Duration::ZERO
            } else {
                Duration::from_millis(50)
            },
            shutdown_grace: Duration::from_millis(w.shutdown_grace_ms),
            ..worker::WorkerConfig::default()
        };
        tasks.push(tokio::spawn(worker::run(
            engine,
            config,
            shutdown_rx.clone(),
        )));
    }

    if let (None, Some(listen)) = (api, worker.and_then(|w| w.metrics_listen)) {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::internal(format!("bind {listen}: {e}")))?;
        // Port 0 picks a free port: report the one bound.
        let bound = listener
            .local_addr()
            .map_err(|e| Error::internal(e.to_string()))?;
        metrics_addr = Some(bound);
        let metrics = crate::telemetry::Metrics::install();
        let app = axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let m = metrics.clone();
                    async move { m.render() }
                }),
            );
        let mut stop = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "metrics server failed");
            }
        }));
        info!(%bound, "worker metrics listening");
    }

    if let Some(a) = api {
        let settings = ApiSettings {
            max_wait: Duration::from_millis(a.max_wait_ms),
            allow_private_urls: common.allow_private_urls,
            ..ApiSettings::default()
        };
        let state = Arc::new(AppState::new(
            parts.backend.clone(),
            parts.catalog.clone(),
            parts.connectors.clone(),
            settings,
        ));
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .map_err(|e| Error::internal(format!("bind {}: {e}", a.listen)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::internal(e.to_string()))?;
        addr = Some(bound);
        let mut stop = shutdown_rx.clone();
        let app = router(state);
        tasks.push(tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "API server failed");
            }
        }));
        info!(%bound, "API listening");
    }
    Ok(Running {
        addr,
        metrics_addr,
        backend: parts.backend,
        shutdown,
        tasks,
    })
}

/// Mark the executions of dead letters, now and then.
async fn sweep_dead_letters(
    backend: Backend,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) =
            integrations_core::dead_letters::sweep(&backend, 100, Duration::from_secs(1)).await
        {
            tracing::warn!(error = %e, "dead-letter sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn engine_config(w: &WorkerArgs) -> EngineConfig {
    EngineConfig {
        max_attempts: w.max_attempts,
        backoff_base: Duration::from_millis(w.backoff_base_ms),
        backoff_max: Duration::from_millis(w.backoff_max_ms),
        lease: Duration::from_millis(w.lease_ms),
        poison_delay: Duration::from_millis(w.poison_delay_ms),
        action_timeout_cap: w.action_timeout_cap_ms.map(Duration::from_millis),
        catalog_rate_limits: !w.no_catalog_rate_limits,
        ..EngineConfig::default()
    }
}
