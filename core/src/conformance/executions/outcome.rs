//! Completion and the outbox.
//!
//! Semantics pinned here, beyond the trait docs:
//! - `complete_execution` stores the terminal state's mutable fields (status, output, error,
//!   attempts, latency, next attempt, updated/finished times) and clears the lease; the fields set
//!   at creation stay as stored;
//! - without an owner it succeeds on any non-terminal execution, leased or not (the sweeper and
//!   dead-lettering override a worker, whose own completion then answers false);
//! - a completion that answers false writes nothing, not even its outbox event;
//! - the outbox is oldest first by insertion; removing unknown ids is not an error.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::{create, get, lease_for};
use crate::backend::{ClaimOutcome, ExecutionStore};
use crate::completion::Completion;
use crate::conformance::{eventually_eq, fresh_tenant, sample_execution};
use crate::error::{ErrorBody, ErrorKind};
use crate::model::{now, Execution, ExecutionStatus, ResultEvent};

/// Only the lease owner completes; the terminal state and its event are written together.
pub async fn complete(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;
    let lease = lease_for("worker-1", 60);
    let claimed = match store
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
        .expect("claim")
    {
        ClaimOutcome::Claimed { execution, .. } => *execution,
        other => panic!("expected Claimed, got {other:?}"),
    };

    let t = now();
    let done = Execution {
        status: ExecutionStatus::Succeeded,
        output: Some(json!({"refundId": "re_123", "status": "pending"})),
        latency_ms: Some(87),
        updated_at: t,
        finished_at: Some(t),
        ..claimed
    };
    let stranger_event = event_for(&done);
    let by_stranger_completion = Completion::without_callback(done.clone(), stranger_event.clone());
    let by_stranger = store.complete_execution(&by_stranger_completion, Some("worker-2"));
    assert!(!by_stranger.await.expect("complete"));
    let stored = get(&store, &tenant, &e.execution_id).await.expect("stored");
    assert_eq!(stored.status, ExecutionStatus::Running);

    let event = event_for(&done);
    let by_owner_completion = Completion::without_callback(done.clone(), event.clone());
    let by_owner = store.complete_execution(&by_owner_completion, Some("worker-1"));
    assert!(by_owner.await.expect("complete"));
    assert_eq!(
        get(&store, &tenant, &e.execution_id).await,
        Some(done.clone())
    );

    pending_becomes(
        &store,
        &[&event, &stranger_event],
        std::slice::from_ref(&event),
        "the event, and only it, is in the outbox",
    )
    .await;

    let late_event = event_for(&done);
    let again_completion = Completion::without_callback(done.clone(), late_event.clone());
    let again = store.complete_execution(&again_completion, Some("worker-1"));
    assert!(!again.await.expect("complete"), "already terminal");
    let sweep_completion = Completion::without_callback(done.clone(), late_event.clone());
    let sweep = store.complete_execution(&sweep_completion, None);
    assert!(
        !sweep.await.expect("complete"),
        "terminal: nothing to sweep"
    );
    pending_becomes(&store, &[&late_event], &[], "no event of a late completion").await;

    let outcome = store
        .claim_execution(&tenant, &e.execution_id, &lease_for("worker-2", 60))
        .await;
    assert_eq!(
        outcome.expect("claim"),
        ClaimOutcome::Terminal(Box::new(done))
    );
    remove(&store, &[&event]).await;
}

/// Without an owner: a queued execution, and a running one under someone else's lease, are
/// completed; that worker's own completion then fails.
pub async fn complete_without_owner(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let queued = sample_execution(&tenant, now());
    create(&store, &queued).await;
    let dead = dead_lettered(&queued);
    let event = event_for(&dead);
    let swept_completion = Completion::without_callback(dead.clone(), event.clone());
    let swept = store.complete_execution(&swept_completion, None);
    assert!(swept.await.expect("complete"));
    assert_eq!(get(&store, &tenant, &queued.execution_id).await, Some(dead));

    let running = sample_execution(&tenant, now());
    create(&store, &running).await;
    let lease = lease_for("worker-1", 60);
    let outcome = store
        .claim_execution(&tenant, &running.execution_id, &lease)
        .await;
    let claimed = match outcome.expect("claim") {
        ClaimOutcome::Claimed { execution, .. } => *execution,
        other => panic!("expected Claimed, got {other:?}"),
    };
    let dead_running = dead_lettered(&claimed);
    let running_event = event_for(&dead_running);
    let swept_completion =
        Completion::without_callback(dead_running.clone(), running_event.clone());
    let swept = store.complete_execution(&swept_completion, None);
    assert!(swept.await.expect("complete"));
    let worker_event = event_for(&dead_running);
    let late_completion = Completion::without_callback(dead_running.clone(), worker_event.clone());
    let late = store.complete_execution(&late_completion, Some("worker-1"));
    assert!(
        !late.await.expect("complete"),
        "the sweeper completed it first"
    );

    pending_becomes(
        &store,
        &[&event, &running_event, &worker_event],
        &[event.clone(), running_event.clone()],
        "the sweeper's events, not the late worker's",
    )
    .await;
    remove(&store, &[&event, &running_event]).await;
}

/// A dead-lettered execution goes back to `queued` for a redrive: outcome fields cleared,
/// attempts kept, claimable again. Nothing else can be reopened.
pub async fn reopen(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = Execution {
        attempts: 2,
        output: Some(json!({"partial": true})),
        latency_ms: Some(10),
        ..sample_execution(&tenant, now())
    };
    create(&store, &e).await;
    let dead = dead_lettered(&e);
    let event = event_for(&dead);
    let swept_completion = Completion::without_callback(dead.clone(), event.clone());
    let swept = store.complete_execution(&swept_completion, None);
    assert!(swept.await.expect("complete"));
    remove(&store, &[&event]).await;

    let id = &e.execution_id;
    let reopened = store.reopen_execution(&tenant, id).await;
    assert!(reopened.expect("reopen"));
    let stored = get(&store, &tenant, id).await.expect("stored");
    assert_eq!(stored.status, ExecutionStatus::Queued);
    assert_eq!(stored.attempts, 2, "attempts are kept");
    assert_eq!(
        (&stored.error, &stored.output, stored.finished_at),
        (&None, &None, None),
        "the outcome is cleared"
    );
    let again = store.reopen_execution(&tenant, id).await;
    assert!(!again.expect("reopen"), "queued: not dead-lettered");

    let outcome = store
        .claim_execution(&tenant, id, &lease_for("worker-1", 60))
        .await;
    match outcome.expect("claim") {
        ClaimOutcome::Claimed {
            execution,
            recovered: false,
        } => assert_eq!(execution.attempts, 3),
        other => panic!("expected Claimed, got {other:?}"),
    }
    let running = store.reopen_execution(&tenant, id).await;
    assert!(!running.expect("reopen"), "running: not dead-lettered");

    let succeeded = Execution {
        status: ExecutionStatus::Succeeded,
        finished_at: Some(now()),
        ..sample_execution(&tenant, now())
    };
    create(&store, &succeeded).await;
    for (t, id) in [
        (&tenant, &succeeded.execution_id),
        (&tenant, &crate::conformance::fresh_id()),
        (&fresh_tenant(), &e.execution_id),
    ] {
        let outcome = store.reopen_execution(t, id).await;
        assert!(
            !outcome.expect("reopen"),
            "only a dead-lettered execution reopens"
        );
    }
}

/// Oldest first; removal forgets exactly the given events.
pub async fn outbox(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let mut events = Vec::new();
    for _ in 0..3 {
        let e = sample_execution(&tenant, now());
        create(&store, &e).await;
        let dead = dead_lettered(&e);
        // Event ids are ULIDs: a few ms apart, their order is their creation order everywhere.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let event = event_for(&dead);
        let done_completion = Completion::without_callback(dead.clone(), event.clone());
        let done = store.complete_execution(&done_completion, None);
        assert!(done.await.expect("complete"));
        events.push(event);
    }
    let refs: Vec<&ResultEvent> = events.iter().collect();
    pending_becomes(&store, &refs, &events, "oldest first").await;

    remove(&store, &[&events[1]]).await;
    let left = vec![events[0].clone(), events[2].clone()];
    pending_becomes(&store, &refs, &left, "the removed event is gone").await;

    let unknown = crate::conformance::fresh_id();
    let ids = [events[0].event_id.clone(), unknown];
    store
        .outbox_remove(&ids)
        .await
        .expect("remove with an unknown id");
    store.outbox_remove(&[]).await.expect("remove nothing");
    pending_becomes(&store, &refs, &events[2..], "unknown ids are ignored").await;
    remove(&store, &[&events[2]]).await;
    pending_becomes(&store, &refs, &[], "all removed").await;
}

pub(super) fn dead_lettered(e: &Execution) -> Execution {
    let t = now();
    Execution {
        status: ExecutionStatus::DeadLettered,
        error: Some(ErrorBody {
            code: ErrorKind::DeadLettered,
            message: "moved to the dead-letter queue".to_string(),
            retryable: false,
        }),
        updated_at: t,
        finished_at: Some(t),
        ..e.clone()
    }
}

pub(super) fn event_for(e: &Execution) -> ResultEvent {
    ResultEvent::for_execution(e).expect("a terminal execution has an event")
}

/// Poll until the pending outbox events among `events` are `expected`: the outbox is read through
/// an index that may lag behind the writes (a DynamoDB GSI).
pub(super) async fn pending_becomes(
    store: &Arc<dyn ExecutionStore>,
    events: &[&ResultEvent],
    expected: &[ResultEvent],
    what: &str,
) {
    let expected = expected.to_vec();
    eventually_eq(what, &expected, || own_pending(store, events)).await;
}

/// The pending outbox events among `events`, in outbox order. Other cases' events may be pending
/// too on a shared backend; they are ignored.
async fn own_pending(store: &Arc<dyn ExecutionStore>, events: &[&ResultEvent]) -> Vec<ResultEvent> {
    let pending = store.outbox_pending(10_000).await.expect("outbox_pending");
    pending
        .into_iter()
        .filter_map(|p| p.as_result().cloned())
        .filter(|p| events.iter().any(|e| e.event_id == p.event_id))
        .collect()
}

async fn remove(store: &Arc<dyn ExecutionStore>, events: &[&ResultEvent]) {
    let ids: Vec<_> = events.iter().map(|e| e.event_id.clone()).collect();
    store.outbox_remove(&ids).await.expect("outbox_remove");
}
