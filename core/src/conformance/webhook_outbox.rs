//! Provider events in the outbox: [`crate::webhooks::WebhookStore::record_webhook`] writes the
//! event's outbox entry in the same atomic write as the inbox record, and the relays take it out
//! as they take result events ([`crate::backend::ExecutionStore::outbox_claim`]).
//!
//! Semantics pinned here, beyond the trait docs: a recorded webhook's event is in the outbox
//! once, as recorded; a duplicate delivery adds nothing; an event born claimed is claimable only
//! once its claim expired.

use std::collections::HashSet;

use super::webhooks::webhook;
use super::{at, eventually_eq, fresh_id, fresh_tenant};
use crate::backend::{Backend, Lease};
use crate::model::now;
use crate::outbox::OutboxEvent;
use crate::webhooks::RecordOutcome;

/// Every case.
pub async fn webhook_outbox_suite(backend: Backend) {
    recorded_once(backend.clone()).await;
    born_claimed(backend).await;
}

/// The outbox entries among `ids`, in outbox order (other cases' events are ignored).
async fn own_pending(backend: &Backend, ids: &HashSet<String>) -> Vec<OutboxEvent> {
    let pending = backend
        .executions
        .outbox_pending(10_000)
        .await
        .expect("outbox_pending");
    pending
        .into_iter()
        .filter(|e| ids.contains(e.event_id()))
        .collect()
}

/// A recorded webhook's event comes out of the outbox once, as recorded; a duplicate delivery of
/// it adds no entry; once removed, it is gone.
pub async fn recorded_once(backend: Backend) {
    let tenant = fresh_tenant();
    let first = webhook(&tenant, "conn-a", &fresh_id(), now());
    let retry = webhook(&tenant, "conn-a", &first.dedupe_key, at(now(), 1_000));
    let ids: HashSet<String> = [&first, &retry]
        .iter()
        .map(|w| w.event.event_id.clone())
        .collect();
    assert_eq!(
        backend
            .webhooks
            .record_webhook(&first)
            .await
            .expect("record"),
        RecordOutcome::Recorded
    );
    assert!(matches!(
        backend
            .webhooks
            .record_webhook(&retry)
            .await
            .expect("record again"),
        RecordOutcome::Duplicate { .. }
    ));
    let expected = vec![OutboxEvent::Provider(first.event.clone())];
    eventually_eq("the event is in the outbox once", &expected, || {
        own_pending(&backend, &ids)
    })
    .await;

    let relay = Lease {
        owner: format!("relay-{}", fresh_id()),
        until: at(now(), 60_000),
    };
    let claimed: Vec<OutboxEvent> = backend
        .executions
        .outbox_claim(now(), &relay, 10_000)
        .await
        .expect("claim")
        .into_iter()
        .filter(|e| ids.contains(e.event_id()))
        .collect();
    assert_eq!(claimed, expected, "a relay claims it, once");
    backend
        .executions
        .outbox_remove(std::slice::from_ref(&first.event.event_id))
        .await
        .expect("remove");
    eventually_eq("removed events leave the outbox", &Vec::new(), || {
        own_pending(&backend, &ids)
    })
    .await;
}

/// An event born claimed (by the receiving process's relay) is not claimed by another relay
/// until that claim expires.
pub async fn born_claimed(backend: Backend) {
    let mut w = webhook(&fresh_tenant(), "conn-a", &fresh_id(), now());
    w.event_claim = Some(Lease {
        owner: "relay-api".into(),
        until: at(now(), 60_000),
    });
    assert_eq!(
        backend.webhooks.record_webhook(&w).await.expect("record"),
        RecordOutcome::Recorded
    );
    let ids = HashSet::from([w.event.event_id.clone()]);
    let expected = vec![OutboxEvent::Provider(w.event.clone())];
    eventually_eq("the event is in the outbox", &expected, || {
        own_pending(&backend, &ids)
    })
    .await;
    let other = Lease {
        owner: "relay-other".into(),
        until: at(now(), 120_000),
    };
    let mine = |claimed: Vec<OutboxEvent>| -> Vec<OutboxEvent> {
        claimed
            .into_iter()
            .filter(|e| ids.contains(e.event_id()))
            .collect()
    };
    let now_claimed = backend
        .executions
        .outbox_claim(now(), &other, 10_000)
        .await
        .expect("claim");
    assert_eq!(mine(now_claimed), Vec::new(), "held by its born claim");
    let later = backend
        .executions
        .outbox_claim(at(now(), 61_000), &other, 10_000)
        .await
        .expect("claim later");
    assert_eq!(mine(later), expected, "claimable once the claim expired");
}
