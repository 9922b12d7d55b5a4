//! The outbox relay: publishes result events written with terminal states (callbacks have their
//! own deliverer, [`crate::callbacks::deliver`]), then forgets them. Events are delivered at least once: a crash after publishing and
//! before removal publishes again, and consumers deduplicate on `eventId` / `executionId`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::warn;

use crate::backend::{EventBus, ExecutionStore};
use crate::batch::Batches;
use crate::error::Result;
use crate::model::ResultEvent;

pub struct OutboxRelay {
    executions: Arc<dyn ExecutionStore>,
    bus: Arc<dyn EventBus>,
    /// Events as the engine writes them, in batches that linger (a remote bus bills per
    /// request): published without reading the outbox back.
    feed: Option<Batches<ResultEvent>>,
    /// How often the outbox itself is read, for events left by processes that died before
    /// publishing them.
    sweep_every: Duration,
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
        sweep_every: Duration,
        linger: Duration,
    ) -> Self {
        Self {
            executions,
            bus,
            feed: feed.map(|rx| Batches::new(rx, BATCH, linger)),
            sweep_every,
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
                    Some(feed) => feed.next(&mut batch).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                more = next => {
                    if !more {
                        self.feed = None;
                        continue;
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
        if let Some(feed) = self.feed.as_mut() {
            feed.take_waiting(batch);
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

    /// Publish and forget `events`; returns how many were published.
    async fn deliver(&mut self, events: &[ResultEvent]) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let failed = self.bus.publish(events).await?;
        let done: Vec<&ResultEvent> = events
            .iter()
            .filter(|e| !failed.contains(&e.event_id))
            .collect();
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
