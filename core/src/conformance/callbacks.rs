//! [`CallbackStore`] conformance, with [`crate::backend::ExecutionStore::complete_execution`],
//! which writes callbacks.
//!
//! Semantics pinned here, beyond the trait docs:
//! - a callback exists only once its execution's completion is stored, and never after a
//!   completion that answered false;
//! - a callback born leased is not due for anyone else until that lease ends; an expired lease
//!   makes it claimable again (its deliverer died);
//! - an attempt recorded under a lease that was lost (someone claimed it since) writes nothing;
//! - callbacks are read by (tenant, execution): another tenant's id finds nothing.
//!
//! The due index has no namespaces: run these cases one after another on a backend nobody else
//! delivers from ([`callbacks_suite`] does). Each claims with a `now` of its own and keeps what it
//! did not create leased, out of the way.

use std::sync::Arc;

use crate::backend::{AttemptRecord, Backend, CallbackStore, ClaimOutcome, Lease};
use crate::callbacks::{AttemptOutcome, Callback, CallbackAttempt, CallbackStatus};
use crate::completion::Completion;
use crate::conformance::{eventually, fresh_id, fresh_tenant, sample_execution};
use crate::model::{now, EventType, ResultEvent, Timestamp};

/// Every callback case, one after another.
pub async fn callbacks_suite(backend: Backend) {
    written_with_completion(backend.clone()).await;
    claim_due(backend.clone()).await;
    record_attempts(backend.clone()).await;
    record_batches(backend.clone()).await;
    failure_writes_event(backend.clone()).await;
    redeliver(backend).await;
}

fn lease(owner: &str, until: Timestamp) -> Lease {
    Lease {
        owner: owner.to_string(),
        until,
    }
}

fn secs(t: Timestamp, s: i64) -> Timestamp {
    t + chrono::Duration::seconds(s)
}

/// A finished execution of a fresh tenant that asked for a callback, its callback born with
/// `born`.
async fn finished(backend: &Backend, born: Option<Lease>) -> Completion {
    let tenant = fresh_tenant();
    let mut e = sample_execution(&tenant, now());
    e.callback_url = Some(format!("https://example.com/cb/{}", fresh_id()));
    e.caller_service = Some("flows".into());
    let store = &backend.executions;
    store.create_execution(&e, None).await.expect("create");
    let claimed = match store
        .claim_execution(
            &tenant,
            &e.execution_id,
            &lease("worker-1", secs(now(), 60)),
        )
        .await
        .expect("claim")
    {
        ClaimOutcome::Claimed { execution, .. } => *execution,
        other => panic!("expected Claimed, got {other:?}"),
    };
    let done = Completion::new(claimed, Ok(serde_json::json!({"fee": 1})), born);
    assert!(store
        .complete_execution(&done, Some("worker-1"))
        .await
        .expect("complete"));
    done
}

async fn get(store: &Arc<dyn CallbackStore>, c: &Callback) -> Option<Callback> {
    store
        .get_callback(&c.tenant_id, &c.execution_id)
        .await
        .expect("get callback")
}

/// Claim at `at` under `owner` until `c` is among the claimed (the due index may lag).
async fn claim(
    store: &Arc<dyn CallbackStore>,
    c: &Callback,
    owner: &str,
    at: Timestamp,
) -> Callback {
    eventually("the callback is claimable", || async {
        let claimed = store
            .claim_due_callbacks(at, &lease(owner, secs(at, 30)), 100)
            .await
            .expect("claim due");
        claimed
            .into_iter()
            .find(|x| x.execution_id == c.execution_id)
    })
    .await
}

async fn not_claimable(store: &Arc<dyn CallbackStore>, c: &Callback, at: Timestamp, why: &str) {
    let claimed = store
        .claim_due_callbacks(at, &lease("intruder", secs(at, 30)), 100)
        .await
        .expect("claim due");
    assert!(
        claimed.iter().all(|x| x.execution_id != c.execution_id),
        "{why}"
    );
}

fn attempt(at: Timestamp, status: Option<u16>) -> CallbackAttempt {
    CallbackAttempt {
        at,
        status_code: status,
        duration_ms: 12,
        error: status
            .filter(|s| *s >= 300)
            .map(|s| format!("receiver answered {s}")),
    }
}

/// The callback is written with the completion, exactly as built; none without a callbackUrl,
/// none for another tenant.
pub async fn written_with_completion(backend: Backend) {
    let store = &backend.callbacks;
    let born = lease("worker-1", secs(now(), 30));
    let done = finished(&backend, Some(born)).await;
    let expected = done.callback.clone().expect("a callback");
    assert_eq!(get(store, &expected).await, Some(expected.clone()));
    assert_eq!(expected.status, CallbackStatus::Pending);
    let other = store
        .get_callback(&fresh_tenant(), &expected.execution_id)
        .await
        .expect("get");
    assert_eq!(other, None, "another tenant must not see the callback");

    // No callbackUrl, no callback; a completion that fails its condition writes none.
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    backend
        .executions
        .create_execution(&e, None)
        .await
        .expect("create");
    let plain = Completion::new(e.clone(), Ok(serde_json::json!({})), None);
    assert!(plain.callback.is_none());
    let mut with_url = e.clone();
    with_url.callback_url = Some("https://example.com/cb".into());
    let refused = Completion::new(with_url, Ok(serde_json::json!({})), None);
    assert!(!backend
        .executions
        .complete_execution(&refused, Some("not-the-owner"))
        .await
        .expect("complete"));
    let none = store
        .get_callback(&tenant, &e.execution_id)
        .await
        .expect("get");
    assert_eq!(none, None, "a refused completion writes no callback");
}

/// Due callbacks are claimed once; a born lease and a claim's lease keep others off until they
/// end; a future attempt is not due.
pub async fn claim_due(backend: Backend) {
    let store = &backend.callbacks;
    let unleased = finished(&backend, None).await.callback.expect("callback");
    let t = now();
    let claimed = claim(store, &unleased, "worker-a", t).await;
    assert_eq!(
        claimed.lease.as_ref().map(|l| l.owner.as_str()),
        Some("worker-a")
    );
    assert_eq!(get(store, &unleased).await, Some(claimed.clone()));
    not_claimable(store, &unleased, secs(t, 10), "leased to worker-a").await;
    // Its lease (30 s) ends: a deliverer that died leaves it to others.
    let taken = claim(store, &unleased, "worker-b", secs(t, 31)).await;
    assert_eq!(
        taken.lease.as_ref().map(|l| l.owner.as_str()),
        Some("worker-b")
    );

    let born = finished(&backend, Some(lease("worker-c", secs(t, 20))))
        .await
        .callback
        .expect("callback");
    not_claimable(store, &born, t, "born leased to worker-c").await;
    let _ = claim(store, &born, "worker-d", secs(t, 21)).await;
}

/// Attempts are recorded under the lease only, each with what follows.
pub async fn record_attempts(backend: Backend) {
    let store = &backend.callbacks;
    let c = finished(&backend, None).await.callback.expect("callback");
    let t = now();
    let first = claim(store, &c, "worker-a", t).await;
    let retry_at = secs(t, 5);
    let a1 = attempt(t, Some(500));
    assert!(store
        .record_callback_attempt(&first, &a1, &AttemptOutcome::RetryAt(retry_at), None)
        .await
        .expect("record"));
    let after = get(store, &c).await.expect("stored");
    assert_eq!(after.status, CallbackStatus::Pending);
    assert_eq!(after.attempts, vec![a1.clone()]);
    assert_eq!(after.round_attempts, 1);
    assert_eq!(after.next_attempt_at, Some(retry_at));
    assert_eq!(after.lease, None);
    // The same lease cannot record twice.
    assert!(!store
        .record_callback_attempt(&first, &a1, &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    not_claimable(store, &c, secs(t, 4), "its next attempt is not due").await;

    let second = claim(store, &c, "worker-b", secs(t, 6)).await;
    // A stale holder (worker-a's lease ended, worker-b's is current) writes nothing.
    let mut stale = second.clone();
    stale.lease = Some(lease("worker-a", secs(t, 30)));
    assert!(!store
        .record_callback_attempt(&stale, &a1, &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    let a2 = attempt(secs(t, 6), Some(204));
    assert!(store
        .record_callback_attempt(&second, &a2, &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    let delivered = get(store, &c).await.expect("stored");
    assert_eq!(delivered.status, CallbackStatus::Delivered);
    assert_eq!(delivered.attempts, vec![a1, a2]);
    assert_eq!(delivered.next_attempt_at, None);
    not_claimable(
        store,
        &c,
        secs(t, 3600),
        "delivered callbacks are never due",
    )
    .await;
}

/// A batch of attempts (more than a backend may write at once) gets one answer per record, in
/// order: recorded under its lease, nothing for a stale holder.
pub async fn record_batches(backend: Backend) {
    let store = &backend.callbacks;
    // Leased for a day: out of the way of the other cases' claims (see the module docs).
    let born = lease("worker-a", secs(now(), 86_400));
    let mut records = Vec::new();
    for i in 0..30 {
        let mut held = finished(&backend, Some(born.clone()))
            .await
            .callback
            .expect("callback");
        if i % 7 == 3 {
            held.lease = Some(lease("worker-stale", secs(now(), 86_400)));
        }
        records.push(AttemptRecord {
            callback: held,
            attempt: attempt(now(), Some(204)),
            outcome: AttemptOutcome::Delivered,
            failed_event: None,
        });
    }
    let answers = store
        .record_callback_attempts(&records)
        .await
        .expect("record a batch");
    let expected: Vec<bool> = (0..30).map(|i| i % 7 != 3).collect();
    assert_eq!(answers, expected);
    for (r, recorded) in records.iter().zip(expected) {
        let stored = get(store, &r.callback).await.expect("stored");
        let status = match recorded {
            true => CallbackStatus::Delivered,
            false => CallbackStatus::Pending,
        };
        assert_eq!(stored.status, status, "{}", r.callback.execution_id);
        assert_eq!(stored.attempts.len(), usize::from(recorded));
    }
}

/// The last failure and its `CallbackFailed` event are written together.
pub async fn failure_writes_event(backend: Backend) {
    let store = &backend.callbacks;
    let done = finished(&backend, None).await;
    let t = now();
    let c = done.callback.clone().expect("callback");
    let held = claim(store, &c, "worker-a", t).await;
    let event = ResultEvent::of(&done.execution, EventType::CallbackFailed);
    assert!(store
        .record_callback_attempt(
            &held,
            &attempt(t, Some(410)),
            &AttemptOutcome::Failed,
            Some(&event)
        )
        .await
        .expect("record"));
    assert_eq!(
        get(store, &c).await.map(|c| c.status),
        Some(CallbackStatus::Failed)
    );
    not_claimable(store, &c, secs(t, 3600), "failed callbacks are never due").await;
    let executions = backend.executions.clone();
    let id = event.event_id.clone();
    let found = eventually("the CallbackFailed event is in the outbox", || async {
        let pending = executions.outbox_pending(1000).await.expect("pending");
        pending.into_iter().find(|e| e.event_id() == id)
    })
    .await;
    assert_eq!(found, event.into());
}

/// Redelivery starts a new round for a finished callback, keeps its history, and finds nothing
/// for executions without one or of another tenant.
pub async fn redeliver(backend: Backend) {
    let store = &backend.callbacks;
    let c = finished(&backend, None).await.callback.expect("callback");
    let t = now();
    let held = claim(store, &c, "worker-a", t).await;
    // Asked for while an attempt is in flight: that attempt is the redelivery.
    let during = store
        .redeliver_callback(&c.tenant_id, &c.execution_id, t)
        .await
        .expect("redeliver")
        .expect("has a callback");
    assert_eq!(during, held, "an attempt in flight is left alone");
    let a1 = attempt(t, Some(204));
    assert!(store
        .record_callback_attempt(&held, &a1, &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    let again = store
        .redeliver_callback(&c.tenant_id, &c.execution_id, secs(t, 1))
        .await
        .expect("redeliver")
        .expect("has a callback");
    assert_eq!(again.status, CallbackStatus::Pending);
    assert_eq!(again.round_attempts, 0);
    assert_eq!(again.attempts, vec![a1]);
    assert_eq!(get(store, &c).await, Some(again.clone()));
    let retaken = claim(store, &c, "worker-b", secs(t, 1)).await;
    assert_eq!(
        retaken.webhook_id, c.webhook_id,
        "the same message id on every delivery"
    );
    assert_eq!(retaken.body, c.body, "the same bytes on every delivery");

    let other = store
        .redeliver_callback(&fresh_tenant(), &c.execution_id, t)
        .await
        .expect("redeliver");
    assert_eq!(other, None, "another tenant's callback");
    let none = store
        .redeliver_callback(&c.tenant_id, &fresh_id(), t)
        .await
        .expect("redeliver");
    assert_eq!(none, None);
}
