//! The harness of the queue cases: one case's messages, recognised by a tag in their bodies,
//! with receives that set other messages aside and bounded polling.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{DEAD_LETTER_VISIBILITY, HIDDEN, WAIT};
use crate::backend::{Delivery, OutgoingMessage, Queue};
use crate::conformance::{eventually, fresh_id};

/// The messages of one case, recognised by a fresh tag in their bodies.
pub(super) struct Case {
    pub(super) queue: Arc<dyn Queue>,
    tag: String,
}

impl Case {
    pub(super) fn new(queue: Arc<dyn Queue>) -> Self {
        Self {
            queue,
            tag: format!("conformance-{}", fresh_id()),
        }
    }

    pub(super) fn body(&self, name: &str) -> String {
        format!("{{\"case\":\"{}\",\"name\":\"{name}\"}}", self.tag)
    }

    pub(super) fn message(&self, body: &str, execution_id: &str) -> OutgoingMessage {
        OutgoingMessage {
            body: body.to_string(),
            execution_id: execution_id.to_string(),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: None,
        }
    }

    pub(super) fn owns(&self, d: &Delivery) -> bool {
        d.body.contains(&self.tag)
    }

    pub(super) async fn send(&self, messages: &[OutgoingMessage]) {
        self.queue.send(messages).await.expect("send");
    }

    pub(super) async fn delete(&self, deliveries: &[Delivery]) {
        let receipts: Vec<_> = deliveries.iter().map(|d| d.receipt.clone()).collect();
        self.queue.delete(&receipts).await.expect("delete");
    }

    /// One receive: this case's deliveries; other messages are leftovers and are deleted.
    pub(super) async fn receive_once(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Vec<Delivery> {
        let got = self
            .queue
            .receive(max, wait, visibility)
            .await
            .expect("receive");
        assert!(got.len() <= max, "received {} > max {max}", got.len());
        let (own, foreign): (Vec<_>, Vec<_>) = got.into_iter().partition(|d| self.owns(d));
        if !foreign.is_empty() {
            self.delete(&foreign).await;
        }
        own
    }

    /// Receive until `n` of this case's messages have arrived.
    pub(super) async fn receive_n(&self, n: usize, visibility: Duration) -> Vec<Delivery> {
        let mut got = Vec::new();
        while got.len() < n {
            let batch = eventually("this case's messages", move || async move {
                let batch = self.receive_once(10, WAIT, visibility).await;
                (!batch.is_empty()).then_some(batch)
            })
            .await;
            got.extend(batch);
        }
        assert_unique(&got);
        assert_eq!(got.len(), n, "more messages than sent");
        got
    }

    /// None of this case's messages is delivered during `window`.
    pub(super) async fn assert_absent(&self, window: Duration, when: &str) {
        let until = Instant::now() + window;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let got = self.receive_once(10, left.min(WAIT), HIDDEN).await;
            assert!(
                got.is_empty(),
                "message delivered {when}: {:?}",
                got[0].body
            );
            if left.is_zero() {
                return;
            }
        }
    }

    /// The messages are gone: making them visible again (a no-op, possibly an error, for a
    /// deleted message) does not bring them back.
    pub(super) async fn assert_deleted(&self, deliveries: &[Delivery]) {
        for d in deliveries {
            let _ = self
                .queue
                .change_visibility(&d.receipt, Duration::ZERO)
                .await;
        }
        self.assert_absent(Duration::from_secs(2), "after delete")
            .await;
    }

    /// Deliver a new message `max_receive_count` times, then find it in the dead-letter queue.
    pub(super) async fn drive_to_dead_letter(
        &self,
        message: OutgoingMessage,
        max_receive_count: u32,
    ) -> Delivery {
        self.send(&[message]).await;
        for count in 1..=max_receive_count {
            let d = self.receive_n(1, HIDDEN).await.remove(0);
            assert_eq!(d.receive_count, count);
            self.queue
                .change_visibility(&d.receipt, Duration::ZERO)
                .await
                .expect("change_visibility to 0");
        }
        // The next receive moves it to the dead-letter queue instead of delivering it.
        let mut dead = eventually("the dead letter", move || async move {
            let again = self.receive_once(10, Duration::ZERO, HIDDEN).await;
            assert!(
                again.is_empty(),
                "delivered more than max_receive_count times"
            );
            let dead = self.receive_dead_letters_once().await;
            (!dead.is_empty()).then_some(dead)
        })
        .await;
        assert_eq!(dead.len(), 1, "one message was dead-lettered");
        dead.remove(0)
    }

    /// One dead-letter receive: this case's dead letters; others are leftovers and are deleted.
    pub(super) async fn receive_dead_letters_once(&self) -> Vec<Delivery> {
        let got = self
            .queue
            .receive_dead_letters(10, DEAD_LETTER_VISIBILITY)
            .await
            .expect("receive_dead_letters");
        assert!(got.len() <= 10);
        let (own, foreign): (Vec<_>, Vec<_>) = got.into_iter().partition(|d| self.owns(d));
        for d in foreign {
            self.queue
                .delete_dead_letter(&d.receipt)
                .await
                .expect("delete_dead_letter");
        }
        own
    }

    /// None of this case's messages is in the dead-letter queue during `window`.
    pub(super) async fn assert_no_dead_letters(&self, window: Duration) {
        let until = Instant::now() + window;
        while Instant::now() < until {
            let got = self.receive_dead_letters_once().await;
            assert!(got.is_empty(), "dead letter still there: {:?}", got[0].body);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

pub(super) fn assert_unique(deliveries: &[Delivery]) {
    let ids: HashSet<_> = deliveries.iter().map(|d| &d.message_id).collect();
    assert_eq!(ids.len(), deliveries.len(), "a message was delivered twice");
}
