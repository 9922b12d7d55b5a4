//! The outbox relay over a real store and bus: a feed that fell behind must not make the sweep
//! publish its events a second time, whether they are still in the feed or just removed from an
//! outbox whose index lags (as a DynamoDB GSI does).

mod common;

use integrations_core::completion::Completion;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backend_embedded::EmbeddedBackend;
use integrations_core::backend::{
    ClaimOutcome, CreateOutcome, EventBus, ExecutionFilter, ExecutionStore, IdempotencyClaim,
    Lease, Page, Release,
};
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};
use integrations_core::outbox::OutboxRelay;
use integrations_core::Result;
use tokio::sync::{mpsc, watch};

/// An execution completed with its event in the outbox, the event dated `age` ago (its
/// publication is that late).
async fn completed(store: &EmbeddedBackend, age: Duration) -> ResultEvent {
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
    let mut event = ResultEvent::for_execution(&done).expect("terminal");
    event.occurred_at = t - chrono::Duration::from_std(age).expect("age");
    let stored = store
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            None,
        )
        .await;
    assert!(stored.expect("complete"));
    event
}

fn relay(
    store: Arc<dyn ExecutionStore>,
    bus: Arc<dyn EventBus>,
    feed: mpsc::UnboundedReceiver<ResultEvent>,
) -> OutboxRelay {
    OutboxRelay::new(
        store,
        bus,
        Some(feed),
        Duration::from_secs(3600),
        Duration::ZERO,
    )
}

async fn publications(backend: &EmbeddedBackend, event: &ResultEvent) -> usize {
    let log = backend.published_events(0, 10_000).await.expect("log");
    log.iter()
        .filter(|p| p.event.event_id == event.event_id)
        .count()
}

#[tokio::test]
async fn a_sweep_delivers_what_the_feed_holds_instead_of_publishing_it_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    // Old enough for the sweep, and still waiting in the feed (the feed fell behind).
    let event = completed(&backend, Duration::from_secs(10)).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(event.clone()).expect("feed");
    let mut relay = relay(Arc::new(backend.clone()), Arc::new(backend.clone()), rx);

    assert_eq!(relay.sweep().await.expect("sweep"), 1);
    // Stopping drains the feed: nothing is left there to publish again.
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
async fn a_late_delivery_is_not_published_again_from_a_lagging_outbox_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = common::open(dir.path()).await;
    let late = completed(&backend, Duration::from_secs(10)).await;
    let (tx, rx) = mpsc::unbounded_channel();
    tx.send(late.clone()).expect("feed");
    let store = Arc::new(LaggingOutbox {
        inner: backend.clone(),
        removed: Mutex::default(),
    });
    let mut relay = relay(store.clone(), Arc::new(backend.clone()), rx);

    // The feed delivers it; the index still lists it afterwards.
    assert_eq!(relay.sweep().await.expect("sweep"), 1);
    let listed = store.outbox_pending(100).await.expect("pending");
    assert!(listed.iter().any(|e| e.event_id == late.event_id));
    assert_eq!(relay.sweep().await.expect("sweep"), 0);
    assert_eq!(publications(&backend, &late).await, 1);

    // An old event the feed never saw (its process died) is still swept, once.
    let orphan = completed(&backend, Duration::from_secs(10)).await;
    assert_eq!(relay.sweep().await.expect("sweep"), 1);
    assert_eq!(relay.sweep().await.expect("sweep"), 0);
    assert_eq!(publications(&backend, &orphan).await, 1);
}

/// The embedded store, with an outbox index that never catches up on removals: removed events
/// are still listed (a GSI's lag, stretched to the whole test).
struct LaggingOutbox {
    inner: EmbeddedBackend,
    removed: Mutex<Vec<ResultEvent>>,
}

#[async_trait]
impl ExecutionStore for LaggingOutbox {
    async fn outbox_pending(&self, limit: usize) -> Result<Vec<ResultEvent>> {
        let mut listed = self.inner.outbox_pending(limit).await?;
        listed.extend(self.removed.lock().expect("lock").iter().cloned());
        listed.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        listed.truncate(limit);
        Ok(listed)
    }

    async fn outbox_remove(&self, event_ids: &[String]) -> Result<()> {
        let pending = self.inner.outbox_pending(10_000).await?;
        self.inner.outbox_remove(event_ids).await?;
        let gone = pending
            .into_iter()
            .filter(|e| event_ids.contains(&e.event_id));
        self.removed.lock().expect("lock").extend(gone);
        Ok(())
    }

    async fn create_execution(
        &self,
        execution: &Execution,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome> {
        self.inner.create_execution(execution, idempotency).await
    }

    async fn get_execution(&self, tenant_id: &str, id: &str) -> Result<Option<Execution>> {
        self.inner.get_execution(tenant_id, id).await
    }

    async fn list_executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>> {
        self.inner.list_executions(tenant_id, filter).await
    }

    async fn claim_execution(
        &self,
        tenant_id: &str,
        id: &str,
        lease: &Lease,
    ) -> Result<ClaimOutcome> {
        self.inner.claim_execution(tenant_id, id, lease).await
    }

    async fn extend_lease(&self, tenant_id: &str, id: &str, lease: &Lease) -> Result<bool> {
        self.inner.extend_lease(tenant_id, id, lease).await
    }

    async fn release_execution(
        &self,
        tenant_id: &str,
        id: &str,
        owner: &str,
        release: &Release,
    ) -> Result<bool> {
        self.inner
            .release_execution(tenant_id, id, owner, release)
            .await
    }

    async fn complete_execution(
        &self,
        completion: &Completion,
        owner: Option<&str>,
    ) -> Result<bool> {
        self.inner.complete_execution(completion, owner).await
    }

    async fn reopen_execution(&self, tenant_id: &str, id: &str) -> Result<bool> {
        self.inner.reopen_execution(tenant_id, id).await
    }
}
