//! Claims, leases and releases.
//!
//! Semantics pinned here, beyond the trait docs:
//! - a lease is not re-entrant: claiming an execution whose lease is unexpired answers `Leased`,
//!   even to the owner (a duplicate delivery to the same worker does not run the action twice);
//! - a lease "is held" by its owner while the execution is `running` under that owner, even past
//!   `until`, as long as no other worker has claimed it since: a late heartbeat, release or
//!   completion then still succeeds, because nobody else can have run the action meanwhile. Once
//!   another worker claims it, the old owner's extend/release/complete all answer false;
//! - `recovered` is false when claiming a `queued` execution and true when taking over a
//!   `running` one whose lease expired;
//! - a claim clears `next_attempt_at` (it only describes a `queued` execution);
//! - `release` with `error: None` keeps the previous error (a delay does not erase the last
//!   failure); a refund never takes `attempts` below zero.

use std::sync::Arc;

use super::{create, get, lease_for};
use crate::backend::{ClaimOutcome, ExecutionStore, Release};
use crate::conformance::{eventually, fresh_id, fresh_tenant, sample_error, sample_execution};
use crate::model::{now, Execution, ExecutionStatus};

/// queued → running with attempts + 1; a second claimer (or the owner again) gets `Leased`;
/// terminal → `Terminal`; unknown and other tenants' ids → `NotFound`.
pub async fn claim(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;

    let first = lease_for("worker-1", 60);
    let claimed = claim_ok(&store, &e, &first).await;
    assert_eq!(claimed.status, ExecutionStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.execution_id, e.execution_id);
    assert_eq!(claimed.input, e.input);
    let stored = get(&store, &tenant, &e.execution_id).await.expect("stored");
    assert_eq!(
        (stored.status, stored.attempts),
        (ExecutionStatus::Running, 1)
    );

    for owner in ["worker-2", "worker-1"] {
        let outcome = store
            .claim_execution(&tenant, &e.execution_id, &lease_for(owner, 60))
            .await;
        assert_eq!(
            outcome.expect("claim"),
            ClaimOutcome::Leased { until: first.until },
            "claim by {owner} while the lease runs"
        );
    }

    let done = Execution {
        status: ExecutionStatus::Succeeded,
        finished_at: Some(now()),
        ..sample_execution(&tenant, now())
    };
    create(&store, &done).await;
    let outcome = store
        .claim_execution(&tenant, &done.execution_id, &lease_for("worker-1", 60))
        .await;
    assert_eq!(
        outcome.expect("claim"),
        ClaimOutcome::Terminal(Box::new(done.clone()))
    );

    for (t, id) in [(&tenant, &fresh_id()), (&fresh_tenant(), &e.execution_id)] {
        let outcome = store
            .claim_execution(t, id, &lease_for("worker-1", 60))
            .await;
        assert_eq!(outcome.expect("claim"), ClaimOutcome::NotFound);
    }
}

/// An expired lease can be claimed by another worker (attempts + 1); the old owner has then lost
/// it for every operation.
pub async fn claim_expired_lease(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;
    claim_ok(&store, &e, &lease_for("worker-1", 1)).await;

    let second = lease_for("worker-2", 60);
    let (store_ref, e_ref, second_ref) = (&store, &e, &second);
    let claimed = eventually("a claim after the lease expired", move || async move {
        let outcome = store_ref
            .claim_execution(&e_ref.tenant_id, &e_ref.execution_id, second_ref)
            .await;
        match outcome.expect("claim") {
            ClaimOutcome::Claimed {
                execution,
                recovered,
            } => Some((execution, recovered)),
            ClaimOutcome::Leased { .. } => None,
            other => panic!("unexpected {other:?}"),
        }
    })
    .await;
    let (claimed, recovered) = claimed;
    assert_eq!(claimed.attempts, 2);
    assert!(recovered, "a claim over an expired lease is a recovery");

    let id = &e.execution_id;
    let late = lease_for("worker-1", 60);
    assert!(!store
        .extend_lease(&tenant, id, &late)
        .await
        .expect("extend"));
    let release = Release {
        next_attempt_at: now(),
        error: None,
        refund_attempt: false,
    };
    let released = store.release_execution(&tenant, id, "worker-1", &release);
    assert!(!released.await.expect("release"));
    let stored = get(&store, &tenant, id).await.expect("stored");
    assert_eq!(
        (stored.status, stored.attempts),
        (ExecutionStatus::Running, 2)
    );
}

/// N workers claim one execution at once: exactly one wins, the others see its lease.
pub async fn claim_race(store: Arc<dyn ExecutionStore>) {
    const WORKERS: usize = 8;
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;

    let tasks: Vec<_> = (0..WORKERS)
        .map(|i| {
            let (store, tenant, id) = (store.clone(), tenant.clone(), e.execution_id.clone());
            let lease = lease_for(&format!("worker-{i}"), 60);
            tokio::spawn(async move {
                let outcome = store.claim_execution(&tenant, &id, &lease).await;
                (lease, outcome.expect("concurrent claim"))
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("claim task"));
    }
    let winners: Vec<_> = results
        .iter()
        .filter(|(_, o)| matches!(o, ClaimOutcome::Claimed { .. }))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins: {results:?}");
    let until = winners[0].0.until;
    for (_, outcome) in &results {
        if !matches!(outcome, ClaimOutcome::Claimed { .. }) {
            assert_eq!(outcome, &ClaimOutcome::Leased { until });
        }
    }
    let stored = get(&store, &tenant, &e.execution_id).await.expect("stored");
    assert_eq!(stored.attempts, 1);
}

/// Only the owner extends; an extension moves `until`; a lapsed lease nobody else claimed can
/// still be extended; nothing else can.
pub async fn extend_lease(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;
    let id = &e.execution_id;

    let not_running = store
        .extend_lease(&tenant, id, &lease_for("worker-1", 60))
        .await;
    assert!(!not_running.expect("extend"), "queued: no lease to extend");
    claim_ok(&store, &e, &lease_for("worker-1", 60)).await;

    let stranger = store
        .extend_lease(&tenant, id, &lease_for("worker-2", 120))
        .await;
    assert!(!stranger.expect("extend"));
    let longer = lease_for("worker-1", 120);
    assert!(store
        .extend_lease(&tenant, id, &longer)
        .await
        .expect("extend"));
    let outcome = store
        .claim_execution(&tenant, id, &lease_for("worker-3", 60))
        .await;
    assert_eq!(
        outcome.expect("claim"),
        ClaimOutcome::Leased {
            until: longer.until
        }
    );

    for (t, id) in [(&tenant, &fresh_id()), (&fresh_tenant(), id)] {
        let outcome = store.extend_lease(t, id, &lease_for("worker-1", 60)).await;
        assert!(!outcome.expect("extend"), "unknown or other tenant");
    }

    // A lease that lapsed without anyone claiming the execution.
    let lapsing = sample_execution(&tenant, now());
    create(&store, &lapsing).await;
    let short = lease_for("worker-1", 1);
    claim_ok(&store, &lapsing, &short).await;
    let expired_at = short.until + chrono::Duration::milliseconds(100);
    let wait = (expired_at - now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let renewed = lease_for("worker-1", 60);
    let extended = store.extend_lease(&tenant, &lapsing.execution_id, &renewed);
    assert!(extended.await.expect("extend"), "a lapsed, unclaimed lease");
    let outcome = store
        .claim_execution(&tenant, &lapsing.execution_id, &lease_for("worker-2", 60))
        .await;
    assert_eq!(
        outcome.expect("claim"),
        ClaimOutcome::Leased {
            until: renewed.until
        }
    );
}

/// running → queued by the owner only: error and next attempt stored, the attempt refunded or
/// not; a claim then clears `next_attempt_at`.
pub async fn release(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;
    let id = &e.execution_id;
    claim_ok(&store, &e, &lease_for("worker-1", 60)).await;

    let retry = Release {
        next_attempt_at: now() + chrono::Duration::seconds(30),
        error: Some(sample_error()),
        refund_attempt: false,
    };
    let stranger = store.release_execution(&tenant, id, "worker-2", &retry);
    assert!(!stranger.await.expect("release"));
    let stored = get(&store, &tenant, id).await.expect("stored");
    assert_eq!(stored.status, ExecutionStatus::Running);

    let released = store.release_execution(&tenant, id, "worker-1", &retry);
    assert!(released.await.expect("release"));
    let stored = get(&store, &tenant, id).await.expect("stored");
    assert_eq!(stored.status, ExecutionStatus::Queued);
    assert_eq!(stored.attempts, 1, "a failed attempt counts");
    assert_eq!(stored.error, Some(sample_error()));
    assert_eq!(stored.next_attempt_at, Some(retry.next_attempt_at));
    let twice = store.release_execution(&tenant, id, "worker-1", &retry);
    assert!(!twice.await.expect("release"), "no longer running");

    let claimed = claim_ok(&store, &e, &lease_for("worker-2", 60)).await;
    assert_eq!(claimed.attempts, 2);
    assert_eq!(
        claimed.next_attempt_at, None,
        "a claim clears next_attempt_at"
    );
    assert_eq!(claimed.error, Some(sample_error()), "the last error stays");

    let delay = Release {
        next_attempt_at: now() + chrono::Duration::seconds(5),
        error: None,
        refund_attempt: true,
    };
    let released = store.release_execution(&tenant, id, "worker-2", &delay);
    assert!(released.await.expect("release"));
    let stored = get(&store, &tenant, id).await.expect("stored");
    assert_eq!(stored.status, ExecutionStatus::Queued);
    assert_eq!(stored.attempts, 1, "a refunded attempt does not count");
    assert_eq!(
        stored.error,
        Some(sample_error()),
        "no new error keeps the last"
    );
    assert_eq!(stored.next_attempt_at, Some(delay.next_attempt_at));
}

async fn claim_ok(
    store: &Arc<dyn ExecutionStore>,
    e: &Execution,
    lease: &crate::backend::Lease,
) -> Execution {
    let outcome = store
        .claim_execution(&e.tenant_id, &e.execution_id, lease)
        .await
        .expect("claim");
    match outcome {
        ClaimOutcome::Claimed {
            execution,
            recovered: false,
        } => *execution,
        other => panic!("expected Claimed, not recovered, got {other:?}"),
    }
}
