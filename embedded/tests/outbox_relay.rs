//! The outbox relay over a real store and bus: an event is published by one relay once, whether
//! it comes through the feed of the process that wrote it, through the feed after its born claim
//! ran out, or through the sweeps of several relays at once; a provider event is handed to the
//! relay's handler before it leaves the outbox.

mod common;

use std::sync::Arc;
use std::time::Duration;

use backend_embedded::EmbeddedBackend;
use integrations_core::backend::{ExecutionStore, Lease};
use integrations_core::completion::Completion;
use integrations_core::conformance::webhooks::webhook;
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{new_id, now, Execution, ExecutionStatus, ResultEvent};
use integrations_core::outbox::{FedEvent, OutboxEvent, OutboxFeed, OutboxRelay, CLAIM};
use integrations_core::webhooks::{
    ProviderEvent, ProviderEventHandler, RecordOutcome, WebhookStore,
};
use tokio::sync::{mpsc, watch};

/// An execution completed with its event in the outbox, born held by `claim` (None: free).
async fn completed(store: &EmbeddedBackend, claim: Option<Lease>) -> ResultEvent {
    let queued = sample_execution(&fresh_tenant(), now());
    store.create_execution(&queued, None).await.expect("create");
    let t = now();
    let done = Execution {
        status: ExecutionStatus::Succeeded,
        output: Some(serde_json::json!({"fee": 1})),
        updated_at: t,
        finished_at: Some(t),
        ..queued
    };
    let event = ResultEvent::for_execution(&done).expect("terminal");
    let completion = Completion::without_callback(done, event.clone()).with_event_claim(claim);
    let stored = store.complete_execution(&completion, None).await;
    assert!(stored.expect("complete"));
    event
}

fn relay(
    owner: &str,
    backend: &EmbeddedBackend,
    feed: Option<mpsc::UnboundedReceiver<FedEvent>>,
) -> OutboxRelay {
    OutboxRelay::new(
        owner.to_string(),
        Arc::new(backend.clone()),
        Arc::new(backend.clone()),
        feed,
        Duration::from_secs(3600),
        Duration::ZERO,
    )
}

async fn publications(backend: &EmbeddedBackend, event: &ResultEvent) -> usize {
    let log = backend.published_events(0, 100_000).await.expect("log");
    log.iter()
        .filter(|p| p.event.event_id() == event.event_id)
        .count()
}

#[tokio::test]
async fn a_sweep_leaves_an_event_born_claimed_to_the_feed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    let (feed, _rx) = OutboxFeed::channel("relay-1", CLAIM);
    let claim = feed.claim().expect("listening");
    let event = completed(&backend, Some(claim.clone())).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(FedEvent {
        event: event.clone().into(),
        claimed_until: claim.until,
    })
    .expect("feed");
    let mut relay = relay("relay-1", &backend, Some(rx));
    let mut other = self::relay("relay-2", &backend, None);

    assert_eq!(relay.sweep().await.expect("sweep"), 0, "the feed holds it");
    assert_eq!(other.sweep().await.expect("sweep"), 0, "relay-1 holds it");
    // Stopping drains the feed.
    let (stop, stopped) = watch::channel(false);
    stop.send(true).expect("stop");
    relay.run(stopped).await;

    assert_eq!(publications(&backend, &event).await, 1);
    assert!(backend
        .outbox_pending(100)
        .await
        .expect("pending")
        .is_empty());
}

#[tokio::test]
async fn a_feed_behind_its_claim_leaves_the_event_to_a_sweep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    let expired = Lease {
        owner: "relay-1".to_string(),
        until: now() - chrono::Duration::seconds(1),
    };
    let event = completed(&backend, Some(expired.clone())).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(FedEvent {
        event: event.clone().into(),
        claimed_until: expired.until,
    })
    .expect("feed");
    let mut relay = relay("relay-1", &backend, Some(rx));

    // Another relay may have taken the expired claim over: the feed does not publish it.
    assert_eq!(relay.drain_feed().await.expect("drain"), 0);
    assert_eq!(publications(&backend, &event).await, 0);
    assert_eq!(relay.sweep().await.expect("sweep"), 1);
    assert_eq!(relay.sweep().await.expect("sweep"), 0);
    assert_eq!(publications(&backend, &event).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_sweeping_at_once_publish_each_event_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    let mut events = Vec::new();
    for _ in 0..300 {
        events.push(completed(&backend, None).await);
    }
    let sweeps = (0..3).map(|i| {
        let mut relay = relay(&format!("relay-{i}"), &backend, None);
        tokio::spawn(async move { relay.sweep().await.expect("sweep") })
    });
    let mut published = 0;
    for sweep in sweeps.collect::<Vec<_>>() {
        published += sweep.await.expect("sweeper");
    }
    assert_eq!(published, events.len());
    let log = backend.published_events(0, 100_000).await.expect("log");
    let mut counts = std::collections::HashMap::new();
    for p in &log {
        *counts.entry(p.event.event_id().to_string()).or_insert(0) += 1;
    }
    for e in &events {
        assert_eq!(counts.get(&e.event_id), Some(&1), "event {}", e.event_id);
    }
}

/// Records what it is handed; fails while `failing` is set.
#[derive(Default)]
struct Handler {
    failing: std::sync::atomic::AtomicBool,
    seen: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl ProviderEventHandler for Handler {
    async fn handle(&self, event: &ProviderEvent) -> integrations_core::Result<()> {
        self.seen.lock().expect("seen").push(event.event_id.clone());
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(integrations_core::Error::backend("trigger store down"));
        }
        Ok(())
    }
}

/// A webhook recorded now, its provider event in the outbox born held by `claim`.
async fn received(backend: &EmbeddedBackend, claim: Option<Lease>) -> ProviderEvent {
    let mut w = webhook(&fresh_tenant(), "conn-a", &new_id(), now());
    w.event_claim = claim;
    let outcome = backend.record_webhook(&w).await.expect("record");
    assert_eq!(outcome, RecordOutcome::Recorded);
    w.event
}

fn pending_ids(pending: &[OutboxEvent]) -> Vec<&str> {
    pending.iter().map(OutboxEvent::event_id).collect()
}

#[tokio::test]
async fn a_failing_handler_keeps_its_provider_event_but_no_result_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    let result = completed(&backend, None).await;
    let provider = received(&backend, None).await;
    let handler = Arc::new(Handler::default());
    handler
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let mut relay = relay("relay-1", &backend, None).with_handler(Some(handler.clone()));

    assert_eq!(
        relay.sweep().await.expect("sweep"),
        1,
        "the result event only"
    );
    let pending = backend.outbox_pending(100).await.expect("pending");
    assert_eq!(pending_ids(&pending), vec![provider.event_id.as_str()]);
    assert_eq!(
        *handler.seen.lock().expect("seen"),
        vec![provider.event_id.clone()]
    );
    // Published once already; held by relay-1's claim, so nobody retries it at once.
    let log = backend.published_events(0, 100).await.expect("log");
    assert_eq!(log.len(), 2);
    assert_eq!(
        log[1].event,
        OutboxEvent::Provider(provider.clone()).as_published()
    );
    let mut other = self::relay("relay-2", &backend, None).with_handler(Some(handler.clone()));
    assert_eq!(other.sweep().await.expect("sweep"), 0);
    assert_eq!(publications(&backend, &result).await, 1);
}

#[tokio::test]
async fn a_fed_provider_event_is_published_and_handed_over_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    let (feed, rx) = OutboxFeed::channel("api-1", integrations_core::outbox::CLAIM);
    let claim = feed.claim().expect("the relay listens");
    let provider = received(&backend, Some(claim.clone())).await;
    feed.send(OutboxEvent::Provider(provider.clone()), &claim);
    let handler = Arc::new(Handler::default());
    let mut relay = relay("api-1", &backend, Some(rx)).with_handler(Some(handler.clone()));
    let mut other = self::relay("relay-2", &backend, None).with_handler(Some(handler.clone()));

    assert_eq!(
        other.sweep().await.expect("sweep"),
        0,
        "born claimed by api-1"
    );
    assert_eq!(relay.drain_feed().await.expect("drain"), 1);
    assert_eq!(
        *handler.seen.lock().expect("seen"),
        vec![provider.event_id.clone()]
    );
    assert!(backend
        .outbox_pending(100)
        .await
        .expect("pending")
        .is_empty());
    let log = backend.published_events(0, 100).await.expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event, OutboxEvent::Provider(provider).as_published());
}
