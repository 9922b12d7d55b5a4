//! Outbox claims: what relays of different processes publish.
//!
//! Semantics pinned here, beyond the trait docs:
//! - an event is claimed by one claimer at a time: concurrent claims share the events out;
//! - an event born claimed, or claimed, is not claimable again until its claim expires, at which
//!   point anyone (its former holder too) may take it over;
//! - removed events are never claimed.

use std::collections::HashSet;
use std::sync::Arc;

use super::{create, dead_lettered, event_for, lease_for, pending_becomes};
use crate::backend::{ExecutionStore, Lease};
use crate::completion::Completion;
use crate::conformance::{fresh_tenant, sample_execution};
use crate::model::{now, ResultEvent, Timestamp};

/// An execution ended by a sweep, its event in the outbox born held by `claim` (None: free).
async fn ended(store: &Arc<dyn ExecutionStore>, claim: Option<Lease>) -> ResultEvent {
    let e = sample_execution(&fresh_tenant(), now());
    create(store, &e).await;
    let dead = dead_lettered(&e);
    let event = event_for(&dead);
    let completion = Completion::without_callback(dead, event.clone()).with_event_claim(claim);
    assert!(store
        .complete_execution(&completion, None)
        .await
        .expect("complete"));
    event
}

/// The ids among `mine` that a claim at `at` by `lease` returns.
async fn claim_ids(
    store: &Arc<dyn ExecutionStore>,
    at: Timestamp,
    lease: &Lease,
    mine: &HashSet<String>,
) -> Vec<String> {
    let claimed = store.outbox_claim(at, lease, 10_000).await.expect("claim");
    claimed
        .into_iter()
        .map(|e| e.event_id().to_string())
        .filter(|id| mine.contains(id))
        .collect()
}

/// Relays claiming at the same moment never get the same event, and together get every free one
/// (oldest first each), but not one born claimed.
pub async fn outbox_claim_race(store: Arc<dyn ExecutionStore>) {
    let born = ended(&store, Some(lease_for("relay-born", 60))).await;
    let mut free = Vec::new();
    for _ in 0..12 {
        free.push(ended(&store, None).await);
    }
    let mut all: Vec<&ResultEvent> = free.iter().collect();
    all.insert(0, &born);
    let mut expected = vec![born.clone()];
    expected.extend(free.iter().cloned());
    // Claims are taken from an index that may lag: wait until it lists them all.
    pending_becomes(&store, &all, &expected, "every event is listed").await;

    let mine: HashSet<String> = expected.iter().map(|e| e.event_id.clone()).collect();
    let at = now();
    let claimers = (0..4).map(|i| {
        let (store, mine) = (store.clone(), mine.clone());
        tokio::spawn(async move {
            let lease = lease_for(&format!("relay-{i}"), 60);
            claim_ids(&store, at, &lease, &mine).await
        })
    });
    let mut claimed_by = Vec::new();
    for claimer in claimers.collect::<Vec<_>>() {
        claimed_by.push(claimer.await.expect("claimer"));
    }
    let order: Vec<&String> = free.iter().map(|e| &e.event_id).collect();
    let mut seen = HashSet::new();
    for ids in &claimed_by {
        let positions: Vec<usize> = ids
            .iter()
            .map(|id| order.iter().position(|o| *o == id).expect("a free event"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "oldest first");
        for id in ids {
            assert!(seen.insert(id.clone()), "event {id} claimed twice");
        }
    }
    let free_ids: HashSet<String> = free.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(
        seen, free_ids,
        "every free event is claimed, the born one is not"
    );
    let again = claim_ids(&store, now(), &lease_for("relay-late", 60), &mine).await;
    assert!(again.is_empty(), "all are held: {again:?}");
}

/// An expired claim, born or taken, is taken over; a removed event is never claimed.
pub async fn outbox_expired_claim_taken_over(store: Arc<dyn ExecutionStore>) {
    let t = now();
    let a = |secs| Lease {
        owner: "relay-a".to_string(),
        until: t + chrono::Duration::seconds(secs),
    };
    let born = ended(&store, Some(a(30))).await;
    let taken = ended(&store, None).await;
    let refs = [&born, &taken];
    let both = vec![born.clone(), taken.clone()];
    pending_becomes(&store, &refs, &both, "both events are listed").await;
    let mine: HashSet<String> = both.iter().map(|e| e.event_id.clone()).collect();

    assert_eq!(
        claim_ids(&store, t, &a(30), &mine).await,
        vec![taken.event_id.clone()],
        "relay-a claims the free event, not the one born claimed"
    );
    let b = |secs| Lease {
        owner: "relay-b".to_string(),
        until: t + chrono::Duration::seconds(secs),
    };
    let before = claim_ids(&store, t + chrono::Duration::seconds(29), &b(60), &mine).await;
    assert!(before.is_empty(), "unexpired claims hold: {before:?}");

    let after = t + chrono::Duration::seconds(31);
    let ids: Vec<String> = both.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(
        claim_ids(&store, after, &b(61), &mine).await,
        ids,
        "relay-b takes over both expired claims, oldest first"
    );
    let by_a = claim_ids(&store, after, &a(61), &mine).await;
    assert!(by_a.is_empty(), "relay-b holds them now: {by_a:?}");

    store
        .outbox_remove(std::slice::from_ref(&born.event_id))
        .await
        .expect("remove");
    let later = t + chrono::Duration::seconds(120);
    assert_eq!(
        claim_ids(&store, later, &a(180), &mine).await,
        vec![taken.event_id.clone()],
        "the removed event is never claimed again"
    );
    store.outbox_remove(&ids).await.expect("remove");
}
