//! The outbox relay: publishes result events written with terminal states (callbacks have their
//! own deliverer, [`crate::callbacks::deliver`]), then forgets them. Events are delivered at least
//! once: a crash after publishing and before removal publishes again, and consumers deduplicate on
//! `eventId` / `executionId`.
//!
//! Relays of different processes never publish the same event at once: every event is held by a
//! claim while it is published. An event of an execution this process finished is born claimed
//! by its relay ([`born_claim`]) and comes through the feed; a sweep claims what nobody holds
//! (events of processes that died, or written without a relay: dead letters, failed callbacks)
//! before publishing it ([`crate::backend::ExecutionStore::outbox_claim`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::warn;

use crate::backend::{EventBus, ExecutionStore, Lease};
use crate::batch::Batches;
use crate::error::Result;
use crate::model::{now, ResultEvent, Timestamp};

/// An event the engine just wrote, born claimed by this process's relay until `claimed_until`.
#[derive(Debug, Clone, PartialEq)]
pub struct FedEvent {
    pub event: ResultEvent,
    pub claimed_until: Timestamp,
}

pub struct OutboxRelay {
    /// Whose claims this relay takes (the engine's worker id: its events are born claimed by it).
    owner: String,
    executions: Arc<dyn ExecutionStore>,
    bus: Arc<dyn EventBus>,
    /// Events as the engine writes them, in batches that linger (a remote bus bills per
    /// request): published without reading the outbox back.
    feed: Option<Batches<FedEvent>>,
    /// How often the outbox itself is swept for events nobody holds.
    sweep_every: Duration,
}

const BATCH: usize = 100;

/// How long a claim holds an event: far longer than one publication and removal take.
pub const CLAIM: Duration = Duration::from_secs(30);
/// A fed event is published only while its born claim has at least this long to run (a
/// publication takes far less); a feed lagging beyond it leaves the event to a sweep, which
/// claims it anew once the born claim has expired.
const PUBLISH_MARGIN: Duration = Duration::from_secs(10);

/// The claim an event of `owner`'s relay is born with.
pub fn born_claim(owner: &str) -> Lease {
    Lease {
        owner: owner.to_string(),
        until: now() + chrono::Duration::from_std(CLAIM).unwrap_or_default(),
    }
}

impl OutboxRelay {
    pub fn new(
        owner: String,
        executions: Arc<dyn ExecutionStore>,
        bus: Arc<dyn EventBus>,
        feed: Option<mpsc::UnboundedReceiver<FedEvent>>,
        sweep_every: Duration,
        linger: Duration,
    ) -> Self {
        Self {
            owner,
            executions,
            bus,
            feed: feed.map(|rx| Batches::new(rx, BATCH, linger)),
            sweep_every,
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
                    let fed = std::mem::take(&mut batch);
                    if let Err(e) = self.deliver_fed(fed).await {
                        warn!(error = %e, "publishing events failed; a sweep will retry");
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

    /// Claim and publish everything in the outbox that nobody holds; returns how many were
    /// published.
    pub async fn sweep(&mut self) -> Result<usize> {
        let mut published = 0;
        loop {
            let t = now();
            let lease = Lease {
                owner: self.owner.clone(),
                until: t + chrono::Duration::from_std(CLAIM).unwrap_or_default(),
            };
            let claimed = self.executions.outbox_claim(t, &lease, BATCH).await?;
            let full = claimed.len() == BATCH;
            // Events that fail to publish stay claimed until the claim expires, so the next
            // round does not take them again at once: this loop ends.
            published += self.deliver(&claimed).await?;
            if !full {
                return Ok(published);
            }
        }
    }

    /// Deliver what the feed holds now; returns how many were published.
    pub async fn drain_feed(&mut self) -> Result<usize> {
        let mut published = 0;
        loop {
            let mut batch = Vec::new();
            if let Some(feed) = self.feed.as_mut() {
                feed.take_waiting(&mut batch);
            }
            if batch.is_empty() {
                return Ok(published);
            }
            published += self.deliver_fed(batch).await?;
        }
    }

    /// Publish the fed events whose born claim still holds long enough; the others are left to a
    /// sweep (another relay may be claiming them now).
    async fn deliver_fed(&mut self, fed: Vec<FedEvent>) -> Result<usize> {
        let deadline = now() + chrono::Duration::from_std(PUBLISH_MARGIN).unwrap_or_default();
        let (fresh, stale): (Vec<FedEvent>, Vec<FedEvent>) =
            fed.into_iter().partition(|f| f.claimed_until > deadline);
        if !stale.is_empty() {
            metrics::counter!("outbox_left_to_sweep_total").increment(stale.len() as u64);
            warn!(
                events = stale.len(),
                "the outbox feed fell behind its claims; a sweep publishes these events"
            );
        }
        let events: Vec<ResultEvent> = fresh.into_iter().map(|f| f.event).collect();
        self.deliver(&events).await
    }

    /// Publish and forget `events` (held by this relay's claim); returns how many were published.
    async fn deliver(&mut self, events: &[ResultEvent]) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let failed = self.bus.publish(events).await?;
        let ids: Vec<String> = events
            .iter()
            .filter(|e| !failed.contains(&e.event_id))
            .map(|e| e.event_id.clone())
            .collect();
        self.executions.outbox_remove(&ids).await?;
        metrics::counter!("outbox_published_total").increment(ids.len() as u64);
        if !failed.is_empty() {
            warn!(
                failed = failed.len(),
                "some events were not published; a sweep retries them once their claim expires"
            );
        }
        Ok(ids.len())
    }
}
