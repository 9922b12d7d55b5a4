//! [`WebhookStore`] conformance.
//!
//! Semantics pinned here, beyond the trait docs: a duplicate answers with the event id of the
//! webhook that was recorded, and its own event is not written; dedupe keys are scoped to the
//! (tenant, connection), so the same provider id seen by two connections is two events.

use std::sync::Arc;

use serde_json::json;

use super::{at, fresh_id, fresh_tenant};
use crate::model::{now, Timestamp};
use crate::webhooks::{DedupeWindow, InboundWebhook, ProviderEvent, RecordOutcome, WebhookStore};

/// Every webhook case.
pub async fn webhooks_suite(store: Arc<dyn WebhookStore>) {
    duplicate(store.clone()).await;
    concurrent_duplicates(store.clone()).await;
    tenant_isolation(store.clone()).await;
    window_expiry(store.clone()).await;
    endpoints(store).await;
}

/// A webhook of a Stripe connection, received at `received_at`, its event free to claim.
pub fn webhook(
    tenant_id: &str,
    connection_id: &str,
    key: &str,
    received_at: Timestamp,
) -> InboundWebhook {
    InboundWebhook {
        dedupe_key: key.to_string(),
        dedupe_until: DedupeWindow::DEFAULT.expiry(received_at),
        event: ProviderEvent {
            event_id: fresh_id(),
            tenant_id: tenant_id.to_string(),
            connection_id: connection_id.to_string(),
            integration_id: "stripe".to_string(),
            event_type: "payment.succeeded".to_string(),
            provider_type: "payment_intent.succeeded".to_string(),
            occurred_at: at(received_at, -2_000),
            received_at,
            data: json!({"id": key, "amount": 1200, "note": "héllo ✓", "phone": "*******678"}),
            unmasked_data: Some(
                json!({"id": key, "amount": 1200, "note": "héllo ✓", "phone": "0912345678"}),
            ),
        },
        event_claim: None,
    }
}

/// An event as the store keeps it for reading: the unmasked payload travels in the outbox entry
/// only ([`ProviderEvent::unmasked_data`]).
fn kept(event: &ProviderEvent) -> ProviderEvent {
    ProviderEvent {
        unmasked_data: None,
        ..event.clone()
    }
}

/// Recorded once, with its event as given; the same key again is a duplicate naming the first
/// event, whose own event is never written.
pub async fn duplicate(store: Arc<dyn WebhookStore>) {
    let tenant = fresh_tenant();
    let first = webhook(&tenant, "conn-a", &fresh_id(), now());
    assert_eq!(
        store.record_webhook(&first).await.expect("record"),
        RecordOutcome::Recorded
    );
    let got = store
        .get_provider_event(&tenant, &first.event.event_id)
        .await
        .expect("get");
    assert_eq!(got, Some(kept(&first.event)));

    let mut retry = webhook(&tenant, "conn-a", &first.dedupe_key, at(now(), 1_000));
    retry.event.data = json!({"retried": true});
    assert_eq!(
        store.record_webhook(&retry).await.expect("record again"),
        RecordOutcome::Duplicate {
            event_id: first.event.event_id.clone()
        }
    );
    assert_eq!(
        store
            .get_provider_event(&tenant, &retry.event.event_id)
            .await
            .expect("get"),
        None,
        "a duplicate writes no event"
    );
    let kept_event = store
        .get_provider_event(&tenant, &first.event.event_id)
        .await
        .expect("get");
    assert_eq!(
        kept_event,
        Some(kept(&first.event)),
        "the first event is untouched"
    );
}

/// Many deliveries of one key at once: exactly one is recorded, every other names it.
pub async fn concurrent_duplicates(store: Arc<dyn WebhookStore>) {
    let tenant = fresh_tenant();
    let key = fresh_id();
    let received = now();
    let attempts = (0..8).map(|_| {
        let store = store.clone();
        let w = webhook(&tenant, "conn-a", &key, received);
        tokio::spawn(async move { (w.event.event_id.clone(), store.record_webhook(&w).await) })
    });
    let mut recorded = Vec::new();
    let mut named = Vec::new();
    for handle in attempts.collect::<Vec<_>>() {
        let (event_id, outcome) = handle.await.expect("join");
        match outcome.expect("record") {
            RecordOutcome::Recorded => recorded.push(event_id),
            RecordOutcome::Duplicate { event_id } => named.push(event_id),
        }
    }
    assert_eq!(recorded.len(), 1, "exactly one recorded");
    assert_eq!(named.len(), 7);
    assert!(
        named.iter().all(|id| *id == recorded[0]),
        "duplicates name the recorded event"
    );
}

/// The same key under another tenant or another connection is another event; one tenant
/// never reads another's event.
pub async fn tenant_isolation(store: Arc<dyn WebhookStore>) {
    let (a, b) = (fresh_tenant(), fresh_tenant());
    let key = fresh_id();
    let of_a = webhook(&a, "conn-a", &key, now());
    let of_b = webhook(&b, "conn-a", &key, now());
    let other_connection = webhook(&a, "conn-b", &key, now());
    for w in [&of_a, &of_b, &other_connection] {
        assert_eq!(
            store.record_webhook(w).await.expect("record"),
            RecordOutcome::Recorded
        );
    }
    let cross = store
        .get_provider_event(&b, &of_a.event.event_id)
        .await
        .expect("get");
    assert_eq!(cross, None, "tenant b cannot read tenant a's event");
    let own = store
        .get_provider_event(&b, &of_b.event.event_id)
        .await
        .expect("get");
    assert_eq!(own, Some(kept(&of_b.event)));
}

/// A key whose window has passed is recorded again (as a new event); within the window of that
/// new record it is a duplicate once more.
pub async fn window_expiry(store: Arc<dyn WebhookStore>) {
    let tenant = fresh_tenant();
    let key = fresh_id();
    let long_ago = at(now(), -30 * 24 * 3600 * 1000);
    let mut old = webhook(&tenant, "conn-a", &key, long_ago);
    old.dedupe_until = at(long_ago, 60_000);
    assert_eq!(
        store.record_webhook(&old).await.expect("record"),
        RecordOutcome::Recorded
    );

    let fresh = webhook(&tenant, "conn-a", &key, now());
    assert_eq!(
        store.record_webhook(&fresh).await.expect("record"),
        RecordOutcome::Recorded
    );
    let again = webhook(&tenant, "conn-a", &key, at(now(), 1_000));
    assert_eq!(
        store.record_webhook(&again).await.expect("record"),
        RecordOutcome::Duplicate {
            event_id: fresh.event.event_id.clone()
        }
    );
    let got = store
        .get_provider_event(&tenant, &fresh.event.event_id)
        .await
        .expect("get");
    assert_eq!(got, Some(kept(&fresh.event)));
}

/// A connection's URL resolves to its tenant once registered, and to nothing before.
pub async fn endpoints(store: Arc<dyn WebhookStore>) {
    let (connection, tenant) = (fresh_id(), fresh_tenant());
    assert_eq!(
        store.endpoint_tenant(&connection).await.expect("find"),
        None
    );
    store
        .register_endpoint(&connection, &tenant)
        .await
        .expect("register");
    assert_eq!(
        store.endpoint_tenant(&connection).await.expect("find"),
        Some(tenant)
    );
    assert_eq!(
        store.endpoint_tenant(&fresh_id()).await.expect("find"),
        None
    );
}
