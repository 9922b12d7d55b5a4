//! The outbox relay: publishes result events written with terminal states, and delivers
//! callbacks, then forgets them. Events are delivered at least once: a crash after publishing and
//! before removal publishes again, and consumers deduplicate on `eventId` / `executionId`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{mpsc, watch, Semaphore};
use tracing::{debug, warn};

use crate::backend::{EventBus, ExecutionStore};
use crate::error::Result;
use crate::model::ResultEvent;
use crate::outbound;

#[derive(Clone)]
pub struct CallbackConfig {
    /// HMAC-SHA256 key for `X-Integrations-Signature`.
    pub secret: Vec<u8>,
    pub timeout: Duration,
    pub attempts: u32,
    pub allow_private: bool,
}

pub struct OutboxRelay {
    executions: Arc<dyn ExecutionStore>,
    bus: Arc<dyn EventBus>,
    /// Events as the engine writes them: published without reading the outbox back.
    feed: Option<mpsc::UnboundedReceiver<ResultEvent>>,
    callbacks: Callbacks,
    /// How often the outbox itself is read, for events left by processes that died before
    /// publishing them.
    sweep_every: Duration,
    /// How long to wait for more events to share a publish (a remote bus bills per request).
    linger: Duration,
    /// Events the feed delivered late (old enough for a sweep to take them), and when: an outbox
    /// read through a lagging index (a DynamoDB GSI) may still list them after their removal.
    /// Empty while the feed keeps up.
    late: HashMap<String, Instant>,
}

const BATCH: usize = 100;

/// Events younger than this are left to the feed by the sweep: they are being published.
const SWEEP_MIN_AGE: chrono::Duration = chrono::Duration::seconds(5);
/// How long a late delivery is remembered: well beyond an index's lag.
const LATE_MEMORY: Duration = Duration::from_secs(30);
/// A bound on that memory (a bus slower than the executions for a long time); beyond it the
/// oldest half is forgotten, at the price of possible duplicates, which consumers tolerate.
const MAX_LATE: usize = 100_000;

impl OutboxRelay {
    pub fn new(
        executions: Arc<dyn ExecutionStore>,
        bus: Arc<dyn EventBus>,
        feed: Option<mpsc::UnboundedReceiver<ResultEvent>>,
        callbacks: CallbackConfig,
        sweep_every: Duration,
        linger: Duration,
    ) -> Self {
        Self {
            executions,
            bus,
            feed,
            callbacks: Callbacks::new(callbacks),
            sweep_every,
            linger,
            late: HashMap::new(),
        }
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut sweep = tokio::time::interval(self.sweep_every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let next = async {
                match self.feed.as_mut() {
                    Some(rx) => rx.recv_many(&mut batch, BATCH).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                n = next => {
                    if n == 0 {
                        self.feed = None;
                        continue;
                    }
                    if !self.linger.is_zero() && batch.len() < BATCH {
                        tokio::time::sleep(self.linger).await;
                        self.take_waiting(&mut batch);
                    }
                    let events = std::mem::take(&mut batch);
                    if let Err(e) = self.deliver(&events).await {
                        warn!(error = %e, "publishing events failed; the sweep will retry");
                    }
                }
                _ = sweep.tick() => {
                    if let Err(e) = self.sweep().await {
                        warn!(error = %e, "outbox sweep failed; will retry");
                    }
                }
                _ = shutdown.changed() => {
                    // What is still in the feed is in the outbox too; publish it now if we can.
                    let _ = self.drain_feed().await;
                    return;
                }
            }
        }
    }

    /// Publish everything left in the outbox (older than a few seconds); returns how many.
    pub async fn sweep(&mut self) -> Result<usize> {
        // A feed that fell behind holds events old enough for the sweep: deliver them through
        // the feed first, or they would be published twice.
        let mut published = self.drain_feed().await?;
        self.late.retain(|_, at| at.elapsed() < LATE_MEMORY);
        let cutoff = crate::model::now() - SWEEP_MIN_AGE;
        loop {
            let pending = self.executions.outbox_pending(BATCH).await?;
            let full = pending.len() == BATCH;
            let old: Vec<ResultEvent> = pending
                .into_iter()
                .filter(|e| e.occurred_at <= cutoff && !self.late.contains_key(&e.event_id))
                .collect();
            if old.is_empty() {
                return Ok(published);
            }
            published += self.deliver(&old).await?;
            if !full {
                return Ok(published);
            }
        }
    }

    /// Fill `batch` up to `BATCH` with what waits in the feed, without waiting.
    fn take_waiting(&mut self, batch: &mut Vec<ResultEvent>) {
        if let Some(rx) = self.feed.as_mut() {
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(_) => break,
                }
            }
        }
    }

    /// Deliver what the feed holds now; returns how many were published.
    async fn drain_feed(&mut self) -> Result<usize> {
        let mut published = 0;
        loop {
            let mut batch = Vec::new();
            self.take_waiting(&mut batch);
            if batch.is_empty() {
                return Ok(published);
            }
            published += self.deliver(&batch).await?;
        }
    }

    /// Publish, call back, and forget `events`; returns how many were published.
    async fn deliver(&mut self, events: &[ResultEvent]) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let failed = self.bus.publish(events).await?;
        let done: Vec<&ResultEvent> = events
            .iter()
            .filter(|e| !failed.contains(&e.event_id))
            .collect();
        for event in done.iter().filter(|e| e.callback_url.is_some()) {
            self.callbacks.spawn((*event).clone()).await;
        }
        let ids: Vec<String> = done.iter().map(|e| e.event_id.clone()).collect();
        self.executions.outbox_remove(&ids).await?;
        let late = crate::model::now() - SWEEP_MIN_AGE / 2;
        let removed_at = Instant::now();
        for event in done.iter().filter(|e| e.occurred_at <= late) {
            self.late.insert(event.event_id.clone(), removed_at);
        }
        if self.late.len() > MAX_LATE {
            let mut ages: Vec<Instant> = self.late.values().copied().collect();
            let (_, median, _) = ages.select_nth_unstable(MAX_LATE / 2);
            let median = *median;
            self.late.retain(|_, at| *at > median);
        }
        metrics::counter!("outbox_published_total").increment(ids.len() as u64);
        if !failed.is_empty() {
            warn!(
                failed = failed.len(),
                "some events were not published; the sweep retries them"
            );
        }
        Ok(ids.len())
    }
}

/// Callback deliveries run beside publishing, so that a slow or dead callback endpoint never
/// holds back other tenants' events. Each is tried `attempts` times; a process that dies
/// meanwhile loses the callback, not the event (the bus remains the durable path).
#[derive(Clone)]
struct Callbacks {
    config: Arc<CallbackConfig>,
    http: reqwest::Client,
    slots: Arc<Semaphore>,
}

/// Deliveries in flight at once; beyond that, publishing waits for a slot.
const CALLBACK_SLOTS: usize = 256;

impl Callbacks {
    fn new(config: CallbackConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            config: Arc::new(config),
            http,
            slots: Arc::new(Semaphore::new(CALLBACK_SLOTS)),
        }
    }

    async fn spawn(&self, event: ResultEvent) {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            this.deliver(&event).await;
            drop(permit);
        });
    }

    async fn deliver(&self, event: &ResultEvent) {
        let Some(url) = event.callback_url.as_deref() else {
            return;
        };
        let body = callback_body(event);
        for attempt in 1..=self.config.attempts {
            match self.post(url, &body).await {
                Ok(()) => {
                    debug!(execution_id = %event.execution_id, "callback delivered");
                    metrics::counter!("callbacks_total", "outcome" => "delivered").increment(1);
                    return;
                }
                Err(e) => {
                    warn!(execution_id = %event.execution_id, attempt, error = %e, "callback failed");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        metrics::counter!("callbacks_total", "outcome" => "failed").increment(1);
    }

    async fn post(&self, url: &str, body: &str) -> Result<()> {
        let url = outbound::check_url(url, self.config.allow_private)?;
        outbound::check_resolved(&url, self.config.allow_private).await?;
        let t = chrono::Utc::now().timestamp();
        let signature = sign(&self.config.secret, t, body);
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-integrations-signature", format!("t={t},v1={signature}"))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| crate::Error::new(crate::ErrorKind::NetworkError, e.to_string()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(crate::Error::new(
                crate::ErrorKind::ProviderUnavailable,
                format!("callback answered {}", resp.status()),
            ))
        }
    }
}

/// The callback payload (`schemas/messages/callback-payload.schema.json`).
pub fn callback_body(e: &ResultEvent) -> String {
    let mut body = serde_json::json!({
        "executionId": e.execution_id,
        "status": e.status,
        "success": e.status == crate::model::ExecutionStatus::Succeeded,
        "attempts": e.attempts,
        "occurredAt": e.occurred_at,
    });
    let obj = body.as_object_mut().expect("object literal");
    if let Some(v) = &e.output {
        obj.insert("data".into(), v.clone());
    }
    if let Some(err) = &e.error {
        obj.insert(
            "error".into(),
            serde_json::to_value(err).unwrap_or_default(),
        );
    }
    if let Some(ms) = e.latency_ms {
        obj.insert("latencyMs".into(), ms.into());
    }
    if let Some(s) = &e.caller_service {
        obj.insert("callerService".into(), s.clone().into());
    }
    if let Some(s) = &e.caller_ref {
        obj.insert("callerRef".into(), s.clone().into());
    }
    body.to_string()
}

/// Hex HMAC-SHA256 over `"{t}.{body}"`, as receivers verify it.
pub fn sign(secret: &[u8], t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
