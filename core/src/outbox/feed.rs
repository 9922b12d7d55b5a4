//! A relay's feed: the events its writers (the engine, the API's webhook route) write are born
//! claimed by the relay and handed to it at once, so they leave the outbox without waiting for a
//! sweep. A process has one relay; its writers share the feed
//! ([`crate::engine::Engine::take_outbox_feed`]).

use tokio::sync::mpsc;

use std::time::Duration;

use super::{claim_for, FedEvent, OutboxEvent};
use crate::backend::Lease;

#[derive(Debug, Clone)]
pub struct OutboxFeed {
    /// The owner of the relay that reads the feed: its claims are the ones events are born with.
    owner: String,
    /// How long an event is born claimed: the relay's own claim ([`super::OutboxRelay::with_claim`]).
    claim: Duration,
    tx: mpsc::UnboundedSender<FedEvent>,
}

impl OutboxFeed {
    /// A feed for the relay of `owner` claiming for `claim`, which takes the receiver
    /// ([`super::OutboxRelay::new`]).
    pub fn channel(
        owner: impl Into<String>,
        claim: Duration,
    ) -> (Self, mpsc::UnboundedReceiver<FedEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let feed = Self {
            owner: owner.into(),
            claim,
            tx,
        };
        (feed, rx)
    }

    /// The claim an event written now is born with, while the relay listens (None once it
    /// stopped: the event is then left free for any relay's sweep).
    pub fn claim(&self) -> Option<Lease> {
        (!self.tx.is_closed()).then(|| claim_for(&self.owner, self.claim))
    }

    /// Hand an event written with `claim` to the relay. A relay that stopped meanwhile leaves it
    /// to a sweep once the claim expires.
    pub fn send(&self, event: OutboxEvent, claim: &Lease) {
        let _ = self.tx.send(FedEvent {
            event,
            claimed_until: claim.until,
        });
    }
}
