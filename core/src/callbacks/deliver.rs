//! The callback deliverer: runs in every worker process beside the executions, with its own
//! bounded set of in-flight deliveries, so that a slow or dead endpoint never holds a worker
//! slot. Callbacks arrive two ways: straight from this process's engine (born leased to it, sent
//! at once), and from a sweep of the store for what is due: retries, and callbacks whose
//! deliverer died (its lease expired). Signed per Standard Webhooks with the caller service's
//! secret, over one HTTP client that refuses private addresses at connect time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::sync::{mpsc, watch, Semaphore};
use tracing::{debug, warn, Instrument};

use super::record::{record_batches, RECORD_BATCH};
use super::{AttemptOutcome, Callback, CallbackAttempt, Schedule};
use crate::backend::{AttemptRecord, Backend, Lease};
use crate::batch::Batches;
use crate::caller_secrets::CallerSecrets;
use crate::error::{Error, Result};
use crate::model::{now, EventType, ResultEvent};
use crate::outbound::{self, OutboundPolicy};
use crate::signing::{self, CallbackSecret};

/// How much of a receiver's answer is read (and thrown away) to keep its connection.
const MAX_ANSWER_READ: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct DelivererConfig {
    /// Lease owner name; unique per process (the engine's worker id).
    pub owner: String,
    pub schedule: Schedule,
    /// Per attempt, connection included.
    pub timeout: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// How often the store is read for due callbacks.
    pub sweep_every: Duration,
    /// Tests and on-premises setups may deliver to private addresses.
    pub allow_private: bool,
}

impl Default for DelivererConfig {
    fn default() -> Self {
        Self {
            owner: format!("worker-{}", crate::model::new_id()),
            schedule: Schedule::default(),
            timeout: Duration::from_secs(15),
            concurrency: 256,
            sweep_every: Duration::from_secs(1),
            allow_private: false,
        }
    }
}

impl DelivererConfig {
    /// A lease long enough for one attempt; when it ends, any deliverer may take over.
    pub fn lease(&self) -> Lease {
        Lease {
            owner: self.owner.clone(),
            until: now()
                + crate::engine::chrono_duration(self.timeout * 2 + Duration::from_secs(1)),
        }
    }
}

#[derive(Clone)]
pub struct Deliverer {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    secrets: Arc<CallerSecrets>,
    /// The runtime the deliverer was built on (the process's main one), where its store calls
    /// run: the deliverer itself may run on a thread of its own, and a store client connection
    /// opened from there (the AWS SDK's pool, shared with the engine and the recorder) would be
    /// driven by that thread's runtime and die with it at shutdown.
    home: tokio::runtime::Handle,
    http: reqwest::Client,
    config: DelivererConfig,
    slots: Arc<Semaphore>,
    /// Attempts to record, written in batches by one task (one store write for many).
    recorder: mpsc::UnboundedSender<AttemptRecord>,
    /// Attempts sent to the recorder and not yet written, for shutdown.
    unrecorded: Arc<AtomicUsize>,
}

impl Deliverer {
    /// Called on the runtime whose tasks share the backend's clients: the recorder and every
    /// store call run there, wherever [`Deliverer::run`] runs. Fails when the outbound client
    /// cannot be built with its safety settings.
    pub fn new(backend: Backend, secrets: CallerSecrets, config: DelivererConfig) -> Result<Self> {
        Self::with_lookup(backend, secrets, config, Arc::new(outbound::SystemLookup))
    }

    /// [`Deliverer::new`] resolving names through `lookup` (under the same address filter).
    pub fn with_lookup(
        backend: Backend,
        secrets: CallerSecrets,
        config: DelivererConfig,
        lookup: Arc<dyn outbound::Lookup>,
    ) -> Result<Self> {
        let policy = OutboundPolicy {
            allow_private: config.allow_private,
            timeout: config.timeout,
            connect_timeout: config.timeout.min(Duration::from_secs(5)),
        };
        let http = outbound::client_with_lookup(&policy, lookup)?;
        let (recorder, records) = mpsc::unbounded_channel();
        let unrecorded = Arc::new(AtomicUsize::new(0));
        let home = tokio::runtime::Handle::current();
        home.spawn(record_batches(
            backend.clone(),
            Batches::new(records, RECORD_BATCH, Duration::ZERO),
            unrecorded.clone(),
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
                backend,
                secrets: Arc::new(secrets),
                home,
                http,
                config,
                recorder,
                unrecorded,
            }),
        })
    }

    pub fn config(&self) -> &DelivererConfig {
        &self.inner.config
    }

    /// Deliver what `feed` hands over and what the store holds due, until `shutdown`; then wait
    /// (up to one attempt's timeout) for deliveries in flight.
    pub async fn run(
        self,
        mut feed: Option<mpsc::UnboundedReceiver<Callback>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut sweep = tokio::time::interval(self.inner.config.sweep_every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = async {
                match feed.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                callback = next => match callback {
                    Some(c) => self.spawn(c).await,
                    None => feed = None,
                },
                _ = sweep.tick() => {
                    if let Err(e) = self.sweep().await {
                        warn!(error = %e, "callback sweep failed; will retry");
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        let all = u32::try_from(self.inner.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(
            self.inner.config.timeout,
            self.inner.slots.acquire_many(all),
        )
        .await;
    }

    /// Claim and start what is due, as many as there are free slots; returns how many.
    pub async fn sweep(&self) -> Result<usize> {
        let free = self.inner.slots.available_permits();
        if free == 0 {
            return Ok(0);
        }
        let lease = self.inner.config.lease();
        let backend = self.inner.backend.clone();
        let due = self
            .at_home(async move {
                backend
                    .callbacks
                    .claim_due_callbacks(now(), &lease, free)
                    .await
            })
            .await?;
        let n = due.len();
        for c in due {
            self.spawn(c).await;
        }
        Ok(n)
    }

    /// Start one attempt when a slot is free.
    async fn spawn(&self, callback: Callback) {
        let Ok(permit) = self.inner.slots.clone().acquire_owned().await else {
            return;
        };
        let this = self.clone();
        let span = tracing::info_span!(
            "callback",
            execution_id = %callback.execution_id,
            tenant_id = %callback.tenant_id,
        );
        tokio::spawn(
            async move {
                if let Err(e) = this.attempt(&callback).await {
                    warn!(error = %e, "recording a callback attempt failed; it will be retried");
                }
                drop(permit);
            }
            .instrument(span),
        );
    }

    /// One attempt, recorded with what follows from it.
    pub async fn attempt(&self, callback: &Callback) -> Result<()> {
        let config = &self.inner.config;
        // A callback that waited for a slot past its lease may be another deliverer's now.
        if callback.lease.as_ref().is_none_or(|l| l.until <= now()) {
            debug!("lease ended before the attempt; the sweep takes it");
            return Ok(());
        }
        let at = now();
        let started = Instant::now();
        let answer = self.post(callback).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status_code, error, retry_after) = match &answer {
            Ok((status, retry_after)) => (
                Some(status.as_u16()),
                (!status.is_success()).then(|| format!("receiver answered {status}")),
                *retry_after,
            ),
            Err(e) => (None, Some(e.clone()), None),
        };
        let outcome = match answer {
            Ok((status, _)) if status.is_success() => AttemptOutcome::Delivered,
            Ok((StatusCode::GONE, _)) => AttemptOutcome::Failed,
            _ => match config
                .schedule
                .next_delay(callback.round_attempts + 1, retry_after)
            {
                Some(delay) => {
                    AttemptOutcome::RetryAt(now() + crate::engine::chrono_duration(delay))
                }
                None => AttemptOutcome::Failed,
            },
        };
        let attempt = CallbackAttempt {
            at,
            status_code,
            duration_ms,
            error,
        };
        let failed_event = match outcome {
            AttemptOutcome::Failed => self.failed_event(callback).await?,
            _ => None,
        };
        let record = AttemptRecord {
            callback: callback.clone(),
            attempt,
            outcome,
            failed_event,
        };
        self.inner.unrecorded.fetch_add(1, Ordering::AcqRel);
        if self.inner.recorder.send(record).is_err() {
            self.inner.unrecorded.fetch_sub(1, Ordering::AcqRel);
            warn!("the callback recorder has stopped; the attempt is made again later");
        }
        Ok(())
    }

    /// The `CallbackFailed` event, about the execution as stored.
    async fn failed_event(&self, callback: &Callback) -> Result<Option<ResultEvent>> {
        let backend = self.inner.backend.clone();
        let key = (callback.tenant_id.clone(), callback.execution_id.clone());
        let execution = self
            .at_home(async move { backend.executions.get_execution(&key.0, &key.1).await })
            .await?;
        Ok(execution.map(|e| ResultEvent::of(&e, EventType::CallbackFailed)))
    }

    /// Run a store call on [`Inner::home`].
    async fn at_home<T: Send + 'static>(
        &self,
        call: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.inner
            .home
            .spawn(call)
            .await
            .map_err(|e| Error::internal(format!("a callback store call: {e}")))?
    }

    /// The caller service's signing keys: from the cache, or read on [`Inner::home`].
    async fn signing_keys(&self, signer: &str) -> Result<Vec<CallbackSecret>> {
        if let Some(keys) = self.inner.secrets.cached_signing_keys(signer) {
            return keys;
        }
        let secrets = self.inner.secrets.clone();
        let signer = signer.to_string();
        self.at_home(async move { secrets.signing_keys(&signer).await })
            .await
    }

    /// POST the signed payload. Ok with the receiver's status (and Retry-After); Err with why
    /// no answer came (refused address, no signing secret, network, timeout).
    async fn post(
        &self,
        callback: &Callback,
    ) -> std::result::Result<(StatusCode, Option<Duration>), String> {
        let inner = &self.inner;
        let url = url::Url::parse(&callback.url).map_err(|e| format!("callbackUrl: {e}"))?;
        outbound::check_target(&url, inner.config.allow_private).map_err(|e| e.message)?;
        let signer = callback
            .signer
            .as_deref()
            .ok_or("the execution has no caller service to sign its callback with")?;
        let keys = self.signing_keys(signer).await.map_err(|e| e.message)?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signing::sign(
            &keys,
            &callback.webhook_id,
            timestamp,
            callback.body.as_bytes(),
        );
        let resp = inner
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signing::WEBHOOK_ID, &callback.webhook_id)
            .header(signing::WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(signing::WEBHOOK_SIGNATURE, signature)
            .body(callback.body.clone())
            .send()
            .await
            .map_err(|e| outbound::describe(&e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read a short answer to its end so that the connection goes back to the pool; stop
        // reading a long one (the connection then closes): its content is never used.
        let mut resp = resp;
        let mut read = 0;
        while let Ok(Some(chunk)) = resp.chunk().await {
            read += chunk.len();
            if read > MAX_ANSWER_READ {
                break;
            }
        }
        Ok((status, retry_after))
    }
}
