//! [`TriggerStore`] conformance.
//!
//! Semantics pinned here, beyond the trait docs: a trigger reads back exactly as written; the
//! lookup matches the (connection, event type) pair exactly (no prefix of either matches
//! another), and a deleted trigger no longer matches.

use std::sync::Arc;

use serde_json::json;

use super::{at, eventually_eq, fresh_id, fresh_tenant, id_at};
use crate::model::now;
use crate::triggers::{Trigger, TriggerAction, TriggerSource, TriggerStore};

/// Every trigger case.
pub async fn triggers_suite(store: Arc<dyn TriggerStore>) {
    crud(store.clone()).await;
    tenant_isolation(store.clone()).await;
    matching(store).await;
}

/// A trigger of `tenant_id` on (`connection_id`, `event_type`), created `ms` after now.
pub fn sample_trigger(tenant_id: &str, connection_id: &str, event_type: &str, ms: i64) -> Trigger {
    let created_at = at(now(), ms);
    Trigger {
        trigger_id: id_at(created_at),
        tenant_id: tenant_id.to_string(),
        source: TriggerSource {
            connection_id: connection_id.to_string(),
            event_type: event_type.to_string(),
            filter: Some("data.financial_status == 'paid'".to_string()),
        },
        action: TriggerAction {
            connection_id: fresh_id(),
            integration_id: "shipping-ghn".to_string(),
            action_id: "create_order".to_string(),
            input: json!({"toName": "data.shipping_address.name", "note": "'héllo ✓'"}),
        },
        created_at,
    }
}

async fn ids(store: &dyn TriggerStore, tenant: &str) -> Vec<String> {
    let list = store.list_triggers(tenant).await.expect("list");
    list.into_iter().map(|t| t.trigger_id).collect()
}

/// Create, get, list (oldest first), delete; a second create of one id fails.
pub async fn crud(store: Arc<dyn TriggerStore>) {
    let tenant = fresh_tenant();
    let conn = fresh_id();
    let first = sample_trigger(&tenant, &conn, "order.created", 0);
    let mut second = sample_trigger(&tenant, &conn, "order.paid", 10);
    second.source.filter = None;
    store.create_trigger(&first).await.expect("create");
    store.create_trigger(&second).await.expect("create");
    assert!(
        store.create_trigger(&first).await.is_err(),
        "an id is created once"
    );
    let got = store
        .get_trigger(&tenant, &first.trigger_id)
        .await
        .expect("get");
    assert_eq!(got.as_ref(), Some(&first), "read back as written");
    let listed = vec![first.trigger_id.clone(), second.trigger_id.clone()];
    eventually_eq("the tenant's triggers", &listed, || {
        ids(store.as_ref(), &tenant)
    })
    .await;

    assert!(store
        .delete_trigger(&tenant, &first.trigger_id)
        .await
        .expect("delete"));
    assert!(!store
        .delete_trigger(&tenant, &first.trigger_id)
        .await
        .expect("delete again"));
    assert_eq!(
        store
            .get_trigger(&tenant, &first.trigger_id)
            .await
            .expect("get"),
        None
    );
    let left = vec![second.trigger_id.clone()];
    eventually_eq("after the delete", &left, || ids(store.as_ref(), &tenant)).await;
    let matched = store
        .matching_triggers(&tenant, &conn, "order.created")
        .await
        .expect("match");
    assert!(matched.is_empty(), "a deleted trigger no longer matches");
}

/// Another tenant's trigger is not found, listed, matched or deleted.
pub async fn tenant_isolation(store: Arc<dyn TriggerStore>) {
    let (a, b) = (fresh_tenant(), fresh_tenant());
    let conn = fresh_id();
    let of_a = sample_trigger(&a, &conn, "order.created", 0);
    store.create_trigger(&of_a).await.expect("create");
    let by_b = store.get_trigger(&b, &of_a.trigger_id).await.expect("get");
    assert_eq!(by_b, None);
    assert!(ids(store.as_ref(), &b).await.is_empty());
    let matched = store
        .matching_triggers(&b, &conn, "order.created")
        .await
        .expect("match");
    assert!(matched.is_empty(), "tenant b matches none of a's");
    assert!(!store
        .delete_trigger(&b, &of_a.trigger_id)
        .await
        .expect("delete"));
    let kept = store.get_trigger(&a, &of_a.trigger_id).await.expect("get");
    assert_eq!(kept, Some(of_a));
}

/// The lookup returns the triggers of exactly that (connection, event type), oldest first:
/// not those of another type, of a type or connection that extends or prefixes the asked one.
pub async fn matching(store: Arc<dyn TriggerStore>) {
    let tenant = fresh_tenant();
    let conn = fresh_id();
    let other_conn = fresh_id();
    let wanted = [
        sample_trigger(&tenant, &conn, "order.created", 0),
        sample_trigger(&tenant, &conn, "order.created", 10),
    ];
    let unwanted = [
        sample_trigger(&tenant, &conn, "order.updated", 5),
        sample_trigger(&tenant, &conn, "order.created.v2", 6),
        sample_trigger(&tenant, &conn, "order", 7),
        sample_trigger(&tenant, &format!("{conn}x"), "order.created", 8),
        sample_trigger(&tenant, &other_conn, "order.created", 9),
    ];
    for t in wanted.iter().chain(&unwanted) {
        store.create_trigger(t).await.expect("create");
    }
    let expected: Vec<String> = wanted.iter().map(|t| t.trigger_id.clone()).collect();
    eventually_eq("the matching triggers", &expected, || async {
        let found = store
            .matching_triggers(&tenant, &conn, "order.created")
            .await
            .expect("match");
        found.into_iter().map(|t| t.trigger_id).collect::<Vec<_>>()
    })
    .await;
    let found = store
        .matching_triggers(&tenant, &conn, "order.created")
        .await
        .expect("match");
    assert_eq!(found[0], wanted[0], "matched triggers read back whole");
    let none = store
        .matching_triggers(&tenant, &conn, "payment.succeeded")
        .await
        .expect("match");
    assert!(none.is_empty());
}
