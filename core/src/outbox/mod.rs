//! The outbox relay: publishes the events of the outbox ([`OutboxEvent`]: result events written
//! with terminal states, provider events written with the webhook inbox record; callbacks have
//! their own deliverer, [`crate::callbacks::deliver`]), then forgets them. Events are delivered at
//! least once: a crash after publishing and before removal publishes again, and consumers
//! deduplicate on `eventId` / `executionId`.
//!
//! A provider event is also handed to this process's [`ProviderEventHandler`] (triggers), after
//! it was published and before it is removed: a handler that fails (or takes longer than
//! [`HANDLE_TIMEOUT`]) leaves the event in the outbox, under this relay's claim until it
//! expires, for a later sweep to publish and hand over again. Result events never wait for it.
//!
//! Relays of different processes never publish the same event at once: every event is held by a
//! claim while it is published. An event this process wrote (an execution's, or a webhook's) is
//! born claimed by its relay and comes through the relay's feed ([`OutboxFeed`]; one relay per
//! process, whatever its roles); a sweep claims what nobody holds
//! (events of processes that died, or written without a relay: dead letters, failed callbacks)
//! before publishing it ([`crate::backend::ExecutionStore::outbox_claim`]).

mod event;
mod feed;

pub use event::{OutboxEvent, OutboxEventKind, PROVIDER_EVENT_DETAIL_TYPE};
pub use feed::OutboxFeed;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::warn;

use crate::backend::{EventBus, ExecutionStore, Lease};
use crate::batch::Batches;
use crate::error::Result;
use crate::model::{now, Timestamp};
use crate::webhooks::{ProviderEvent, ProviderEventHandler};

/// An event this process just wrote (the engine's result events, the webhook route's provider
/// events), born claimed by this process's relay until `claimed_until`.
#[derive(Debug, Clone, PartialEq)]
pub struct FedEvent {
    pub event: OutboxEvent,
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
    /// Acts on provider events before they are removed (triggers).
    handler: Option<Arc<dyn ProviderEventHandler>>,
    /// How long this relay's claims hold an event ([`CLAIM`] unless configured).
    claim: Duration,
}

const BATCH: usize = 100;

/// How long a claim holds an event: far longer than one publication and removal take.
pub const CLAIM: Duration = Duration::from_secs(30);
/// A fed event is published only while its born claim has at least this long to run (a
/// publication takes far less); a feed lagging beyond it leaves the event to a sweep, which
/// claims it anew once the born claim has expired.
const PUBLISH_MARGIN: Duration = Duration::from_secs(10);
/// How long the handler may take over one provider event: well within the claim, so that a
/// stuck handler neither outlives the claim (another relay would hand the event over at the
/// same time) nor holds up the result events behind it for long.
pub const HANDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A claim for `owner` from now, for `claim`.
fn claim_for(owner: &str, claim: Duration) -> Lease {
    Lease {
        owner: owner.to_string(),
        until: now() + chrono::Duration::from_std(claim).unwrap_or_default(),
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
            handler: None,
            claim: CLAIM,
        }
    }

    /// Claim events for `claim` instead of [`CLAIM`] (as the feeds writing for this relay do:
    /// [`OutboxFeed::channel`]): how long the events of a process that died stay held before
    /// another relay takes them over.
    pub fn with_claim(mut self, claim: Duration) -> Self {
        self.claim = claim;
        self
    }

    /// A fed event is published only while its born claim has this long to run.
    fn publish_margin(&self) -> Duration {
        PUBLISH_MARGIN.min(self.claim / 3)
    }

    /// Hand every provider event to `handler` before it is removed from the outbox (None: none
    /// is, they are only published).
    pub fn with_handler(mut self, handler: Option<Arc<dyn ProviderEventHandler>>) -> Self {
        self.handler = handler;
        self
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
                until: t + chrono::Duration::from_std(self.claim).unwrap_or_default(),
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
        let margin = self.publish_margin();
        let deadline = now() + chrono::Duration::from_std(margin).unwrap_or_default();
        let (fresh, stale): (Vec<FedEvent>, Vec<FedEvent>) =
            fed.into_iter().partition(|f| f.claimed_until > deadline);
        if !stale.is_empty() {
            metrics::counter!("outbox_left_to_sweep_total").increment(stale.len() as u64);
            warn!(
                events = stale.len(),
                "the outbox feed fell behind its claims; a sweep publishes these events"
            );
        }
        let events: Vec<OutboxEvent> = fresh.into_iter().map(|f| f.event).collect();
        self.deliver(&events).await
    }

    /// Publish, hand over (provider events) and forget `events` (held by this relay's claim);
    /// returns how many were published and removed.
    async fn deliver(&mut self, events: &[OutboxEvent]) -> Result<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let failed = self.bus.publish(events).await?;
        let published: Vec<&OutboxEvent> = events
            .iter()
            .filter(|e| !failed.iter().any(|f| f == e.event_id()))
            .collect();
        // Concurrently: one slow handler call must not add up over a batch.
        let handled = futures::future::join_all(published.iter().map(|e| self.handled(e))).await;
        let ids: Vec<String> = published
            .iter()
            .zip(handled)
            .filter(|(_, handled)| *handled)
            .map(|(e, _)| e.event_id().to_string())
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

impl OutboxRelay {
    /// Whether `event` may leave the outbox: a result event may; a provider event once the
    /// handler (if any) took it.
    async fn handled(&self, event: &OutboxEvent) -> bool {
        match (event, &self.handler) {
            (OutboxEvent::Provider(e), Some(handler)) => hand_over(handler.as_ref(), e).await,
            _ => true,
        }
    }
}

/// One handler call, bounded by [`HANDLE_TIMEOUT`]; false (logged and counted) when it failed.
async fn hand_over(handler: &dyn ProviderEventHandler, event: &ProviderEvent) -> bool {
    let error = match tokio::time::timeout(HANDLE_TIMEOUT, handler.handle(event)).await {
        Ok(Ok(())) => return true,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("took longer than {HANDLE_TIMEOUT:?}"),
    };
    metrics::counter!("provider_events_handler_failed_total").increment(1);
    warn!(
        tenant_id = %event.tenant_id, event_id = %event.event_id, event_type = %event.event_type,
        error, "a provider event's handler failed; the event stays in the outbox for a later sweep"
    );
    false
}
