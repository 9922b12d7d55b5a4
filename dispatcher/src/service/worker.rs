//! The worker role: the receive loop and engine, the outbox relay, the callback deliverer, and
//! the sweeps and housekeeping that any worker of the fleet may do.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::Backend;
use integrations_core::callbacks::deliver::{Deliverer, DelivererConfig};
use integrations_core::callbacks::Schedule;
use integrations_core::caller_secrets::CallerSecrets;
use integrations_core::engine::{Engine, EngineConfig, TenantQuotas};
use integrations_core::outbox::{OutboxFeed, OutboxRelay};
use integrations_core::{Error, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

use super::{Parts, Tuning};
use crate::config::{CommonArgs, WorkerArgs};

/// Caller services' signing secrets are read through this cache: a rotation reaches every
/// host within it.
const SIGNING_KEY_CACHE: Duration = Duration::from_secs(30);

/// Start every worker task; they stop on `shutdown`. Returns them with the feed of this
/// process's relay, for the API's webhooks when the process serves both.
pub(super) fn start(
    parts: &Parts,
    common: &CommonArgs,
    w: &WorkerArgs,
    tuning: &Tuning,
    quotas: &TenantQuotas,
    shutdown: &watch::Receiver<bool>,
) -> Result<(Vec<JoinHandle<()>>, OutboxFeed)> {
    let mut tasks = Vec::new();
    let engine = Arc::new(Engine::new(
        parts.backend.clone(),
        parts.catalog.clone(),
        parts.connectors.clone(),
        engine_config(common, w, quotas),
    ));
    let (outbox, fed) = engine
        .take_outbox_feed()
        .ok_or_else(|| Error::internal("the engine's outbox feed was taken"))?;
    let relay = OutboxRelay::new(
        engine.config().worker_id.clone(),
        parts.backend.executions.clone(),
        parts.backend.events.clone(),
        Some(fed),
        tuning.outbox_sweep,
        tuning.publish_linger,
    )
    .with_claim(engine.config().outbox_claim)
    // Triggers act on the provider events this relay takes out of the outbox: this process's
    // webhooks', and those of API processes that died.
    .with_handler(Some(crate::triggers::TriggerFirer::for_worker(
        parts, quotas,
    )));
    tasks.push(tokio::spawn(relay.run(shutdown.clone())));

    let deliverer = Deliverer::new(
        parts.backend.clone(),
        CallerSecrets::new(parts.backend.secrets.clone(), SIGNING_KEY_CACHE),
        deliverer_config(common, w, tuning, &engine.config().worker_id),
    )?;
    let feed = engine.take_callback_feed(deliverer.config());
    tasks.push(on_own_thread(
        "callbacks",
        deliverer.run(feed, shutdown.clone()),
    )?);

    if let Some(embedded) = parts.embedded.clone() {
        tasks.push(tokio::spawn(purge_expired(embedded, shutdown.clone())));
    }
    tasks.push(tokio::spawn(export_queue_depth(
        parts.backend.clone(),
        tuning.depth_every,
        shutdown.clone(),
    )));
    tasks.push(tokio::spawn(sweep_dead_letters(
        parts.backend.clone(),
        tuning.dead_letter_sweep,
        shutdown.clone(),
    )));
    let config = worker::WorkerConfig {
        concurrency: w.concurrency,
        batch_size: tuning.receive_batch,
        ack_linger: tuning.ack_linger,
        receive_linger: tuning.receive_linger,
        shutdown_grace: Duration::from_millis(w.shutdown_grace_ms),
        ..worker::WorkerConfig::default()
    };
    tasks.push(tokio::spawn(worker::run(engine, config, shutdown.clone())));
    Ok((tasks, outbox))
}

/// Run `task` on a thread of its own, with a current-thread runtime; the handle ends with it.
///
/// For the callback deliverer: its HTTP exchanges (each request's task, its connection's task
/// and their socket events) then stay on one thread, where on the runtime's workers they woke
/// other threads several times per callback. On the 2-core VM it took the throughput with
/// callbacks from 19 % to 11 % below the throughput without in one A/B run, from 18 % to 17 % in
/// another (docs/benchmarks.md, "Callbacks on a thread of their own"). The recording of attempts
/// stays on the main runtime (in batches, beside the other work, it measured no better here), and
/// so do the deliverer's other store calls, so that no store connection belongs to this thread.
fn on_own_thread(
    name: &str,
    task: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("{name} runtime: {e}")))?;
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            runtime.block_on(task);
            drop(done);
        })
        .map_err(|e| Error::internal(format!("{name} thread: {e}")))?;
    Ok(tokio::spawn(async move {
        let _ = finished.await;
    }))
}

fn deliverer_config(
    common: &CommonArgs,
    w: &WorkerArgs,
    tuning: &Tuning,
    worker_id: &str,
) -> DelivererConfig {
    let schedule = if w.callback_schedule_ms.is_empty() {
        Schedule::default()
    } else {
        Schedule(
            w.callback_schedule_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        )
    };
    DelivererConfig {
        owner: worker_id.to_string(),
        schedule,
        timeout: Duration::from_millis(w.callback_timeout_ms),
        concurrency: w.callback_concurrency,
        sweep_every: tuning.callback_sweep,
        allow_private: common.allow_private_urls,
    }
}

/// `/metrics` and `/healthz` for a worker-only process.
pub(super) async fn serve_metrics(
    listen: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| Error::internal(format!("bind {listen}: {e}")))?;
    // Port 0 picks a free port: report the one bound.
    let bound = listener
        .local_addr()
        .map_err(|e| Error::internal(e.to_string()))?;
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
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    info!(%bound, "worker metrics listening");
    Ok((bound, task))
}

/// Delete expired executions, idempotency records, callbacks and events, hourly.
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
            Err(e) => tracing::warn!(error = %e.chain(), "purge failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Queue depth and the oldest message's age as gauges, now and then (the backlog a fleet
/// scales on, and the age that says work is stuck).
async fn export_queue_depth(
    backend: Backend,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        match backend.queue.depth().await {
            Ok(depth) => {
                if let Some(n) = depth.waiting {
                    metrics::gauge!("queue_depth_messages", "state" => "waiting").set(n as f64);
                }
                if let Some(n) = depth.in_flight {
                    metrics::gauge!("queue_depth_messages", "state" => "in_flight").set(n as f64);
                }
                if let Some(age) = depth.oldest_age {
                    metrics::gauge!("queue_oldest_message_age_seconds").set(age.as_secs_f64());
                }
            }
            Err(e) => tracing::debug!(error = %e, "reading the queue depth failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
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
            tracing::warn!(error = %e.chain(), "dead-letter sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn engine_config(common: &CommonArgs, w: &WorkerArgs, quotas: &TenantQuotas) -> EngineConfig {
    EngineConfig {
        outbox_claim: Duration::from_millis(common.outbox_claim_ms),
        max_attempts: w.max_attempts,
        backoff_base: Duration::from_millis(w.backoff_base_ms),
        backoff_max: Duration::from_millis(w.backoff_max_ms),
        lease: Duration::from_millis(w.lease_ms),
        poison_delay: Duration::from_millis(w.poison_delay_ms),
        action_timeout_cap: w.action_timeout_cap_ms.map(Duration::from_millis),
        catalog_rate_limits: !w.no_catalog_rate_limits,
        tenant_quotas: quotas.clone(),
        tenant_requeue_delay: Duration::from_millis(w.tenant_requeue_delay_ms),
        breaker: integrations_core::limits::BreakerConfig {
            failure_threshold: w.breaker_failure_threshold,
            open_for: Duration::from_millis(w.breaker_open_ms),
        },
        ..EngineConfig::default()
    }
}
