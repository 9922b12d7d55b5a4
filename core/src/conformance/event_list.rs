//! [`WebhookStore::list_provider_events`] conformance: newest received first, the filters, the
//! cursor, and tenant isolation (another tenant's cursor is refused or finds only the caller's
//! own events).

use std::sync::Arc;

use super::webhooks::webhook;
use super::{at, eventually_eq, fresh_id, fresh_tenant};
use crate::model::now;
use crate::webhooks::{ProviderEvent, ProviderEventFilter, RecordOutcome, WebhookStore};

/// Every case.
pub async fn event_list_suite(store: Arc<dyn WebhookStore>) {
    list_filters_and_pages(store).await;
}

async fn ids(store: &Arc<dyn WebhookStore>, tenant: &str, f: &ProviderEventFilter) -> Vec<String> {
    let page = store.list_provider_events(tenant, f).await.expect("list");
    page.items.into_iter().map(|e| e.event_id).collect()
}

/// Five events of one tenant (two connections, two types, one an hour old) and one of another:
/// every filter narrows the listing, pages of two walk it newest first without gaps or repeats,
/// and the other tenant sees only its own.
pub async fn list_filters_and_pages(store: Arc<dyn WebhookStore>) {
    let (tenant, other) = (fresh_tenant(), fresh_tenant());
    let t = now();
    let mut events: Vec<ProviderEvent> = Vec::new();
    for (i, (connection, ty)) in [
        ("conn-a", "payment.succeeded"),
        ("conn-a", "payment.refunded"),
        ("conn-b", "payment.succeeded"),
        ("conn-b", "shipment.status_changed"),
        ("conn-a", "payment.succeeded"),
    ]
    .into_iter()
    .enumerate()
    {
        let received = if i == 0 {
            at(t, -3_600_000)
        } else {
            at(t, i as i64 * 10)
        };
        let mut w = webhook(&tenant, connection, &fresh_id(), received);
        w.event.event_type = ty.to_string();
        if connection == "conn-b" {
            w.event.integration_id = "shipping-ghn".to_string();
        }
        assert_eq!(
            store.record_webhook(&w).await.expect("record"),
            RecordOutcome::Recorded
        );
        events.push(w.event);
    }
    let theirs = webhook(&other, "conn-a", &fresh_id(), t);
    store.record_webhook(&theirs).await.expect("record");

    let newest_first = |pick: &dyn Fn(&ProviderEvent) -> bool| -> Vec<String> {
        events
            .iter()
            .rev()
            .filter(|e| pick(e))
            .map(|e| e.event_id.clone())
            .collect()
    };
    let all = ProviderEventFilter::default();
    let cases: Vec<(ProviderEventFilter, Vec<String>)> = vec![
        (all.clone(), newest_first(&|_| true)),
        (
            ProviderEventFilter {
                event_type: Some("payment.succeeded".into()),
                ..all.clone()
            },
            newest_first(&|e| e.event_type == "payment.succeeded"),
        ),
        (
            ProviderEventFilter {
                connection_id: Some("conn-b".into()),
                ..all.clone()
            },
            newest_first(&|e| e.connection_id == "conn-b"),
        ),
        (
            ProviderEventFilter {
                integration_id: Some("shipping-ghn".into()),
                ..all.clone()
            },
            newest_first(&|e| e.integration_id == "shipping-ghn"),
        ),
        (
            ProviderEventFilter {
                start: Some(at(t, -60_000)),
                end: Some(at(t, 35)),
                ..all.clone()
            },
            newest_first(&|e| e.received_at >= at(t, -60_000) && e.received_at < at(t, 35)),
        ),
    ];
    for (filter, expected) in &cases {
        eventually_eq(&format!("listing {filter:?}"), expected, || {
            ids(&store, &tenant, filter)
        })
        .await;
    }

    // Pages of two: 2 + 2 + 1, in order.
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let f = ProviderEventFilter {
            limit: 2,
            cursor: cursor.clone(),
            ..all.clone()
        };
        let page = store.list_provider_events(&tenant, &f).await.expect("page");
        assert!(page.items.len() <= 2);
        walked.extend(page.items.into_iter().map(|e| e.event_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(
        walked,
        newest_first(&|_| true),
        "pages walk every event once"
    );

    assert_eq!(
        ids(&store, &other, &all).await,
        vec![theirs.event.event_id.clone()]
    );
    let first = ProviderEventFilter {
        limit: 1,
        ..all.clone()
    };
    let cursor = store
        .list_provider_events(&tenant, &first)
        .await
        .expect("page")
        .next_cursor
        .expect("more");
    let foreign = ProviderEventFilter {
        cursor: Some(cursor),
        ..all.clone()
    };
    // Refused, or only positioning a scan over the caller's own events.
    if let Ok(page) = store.list_provider_events(&other, &foreign).await {
        assert!(page.items.iter().all(|e| e.tenant_id == other));
    }
    let garbage = ProviderEventFilter {
        cursor: Some("not a cursor".into()),
        ..all
    };
    let err = store
        .list_provider_events(&tenant, &garbage)
        .await
        .expect_err("an invalid cursor is refused");
    assert_eq!(err.kind, crate::error::ErrorKind::ValidationFailed);
}
