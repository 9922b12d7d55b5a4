//! [`ConnectionStore`] conformance.
//!
//! Semantics pinned here, beyond the trait docs:
//! - `update_connection` replaces every field of the stored record (the caller sends the whole
//!   connection back);
//! - every read and write is scoped by the tenant: another tenant's connection id is simply not
//!   found (get → None, update/delete → false), exactly as an unknown id;
//! - listing is oldest first by `created_at`, ties broken by connection id.

use std::sync::Arc;

use serde_json::json;

use super::{at, eventually_eq, fresh_tenant, sample_connection};
use crate::backend::{ConnectionFilter, ConnectionStore};
use crate::model::{now, ConnectionStatus};

/// Every connection case.
pub async fn connections_suite(store: Arc<dyn ConnectionStore>) {
    crud(store.clone()).await;
    list_filters(store.clone()).await;
    tenant_isolation(store).await;
}

/// Create, read, replace, delete; a second create with the same id fails.
pub async fn crud(store: Arc<dyn ConnectionStore>) {
    let tenant = fresh_tenant();
    let c = sample_connection(&tenant, now());
    store.create_connection(&c).await.expect("create");
    let got = store.get_connection(&tenant, &c.connection_id).await;
    assert_eq!(got.expect("get"), Some(c.clone()));

    let duplicate = crate::model::Connection {
        name: "duplicate".to_string(),
        ..c.clone()
    };
    assert!(
        store.create_connection(&duplicate).await.is_err(),
        "create with an existing id must fail"
    );
    let got = store.get_connection(&tenant, &c.connection_id).await;
    assert_eq!(got.expect("get").map(|c| c.name), Some(c.name.clone()));

    let t = now();
    let updated = crate::model::Connection {
        name: "Renamed".to_string(),
        config: json!({"accountId": "acct_456"}),
        status: ConnectionStatus::Error,
        last_tested_at: Some(t),
        last_error_at: Some(t),
        last_error: Some("PROVIDER_AUTH_FAILED: key revoked".to_string()),
        updated_at: t,
        ..c.clone()
    };
    assert!(store.update_connection(&updated).await.expect("update"));
    let got = store.get_connection(&tenant, &c.connection_id).await;
    assert_eq!(got.expect("get"), Some(updated.clone()));

    let missing = sample_connection(&tenant, now());
    let updated_missing = store.update_connection(&missing).await;
    assert!(!updated_missing.expect("update of a missing connection"));
    let got = store.get_connection(&tenant, &missing.connection_id).await;
    assert_eq!(got.expect("get"), None, "update must not create");

    assert!(store
        .delete_connection(&tenant, &c.connection_id)
        .await
        .expect("delete"));
    let got = store.get_connection(&tenant, &c.connection_id).await;
    assert_eq!(got.expect("get"), None);
    assert!(!store
        .delete_connection(&tenant, &c.connection_id)
        .await
        .expect("second delete"));
}

/// Oldest first, filtered by integration, status or both.
pub async fn list_filters(store: Arc<dyn ConnectionStore>) {
    let tenant = fresh_tenant();
    let base = now();
    let specs = [
        ("stripe", ConnectionStatus::Active),
        ("ghn", ConnectionStatus::Active),
        ("stripe", ConnectionStatus::Inactive),
        ("ghn", ConnectionStatus::Error),
    ];
    let mut all = Vec::new();
    // Created out of order, so that insertion order cannot pass for creation order.
    for i in [2usize, 0, 3, 1] {
        let (integration, status) = specs[i];
        let mut c = sample_connection(&tenant, at(base, i64::try_from(i).unwrap_or(0) * 10));
        c.integration_id = integration.to_string();
        c.status = status;
        store.create_connection(&c).await.expect("create");
        all.push((i, c));
    }
    all.sort_by_key(|(i, _)| *i);
    let all: Vec<_> = all.into_iter().map(|(_, c)| c).collect();

    let ids = |idx: &[usize]| -> Vec<String> {
        idx.iter().map(|&i| all[i].connection_id.clone()).collect()
    };
    let cases = [
        ("unfiltered", None, None, ids(&[0, 1, 2, 3])),
        ("by integration", Some("stripe"), None, ids(&[0, 2])),
        (
            "by status",
            None,
            Some(ConnectionStatus::Active),
            ids(&[0, 1]),
        ),
        (
            "by both",
            Some("ghn"),
            Some(ConnectionStatus::Error),
            ids(&[3]),
        ),
        ("matching nothing", Some("unknown"), None, vec![]),
    ];
    for (what, integration, status, expected) in cases {
        let filter = ConnectionFilter {
            integration_id: integration.map(str::to_string),
            status,
        };
        let (store, tenant, filter) = (&store, &tenant, &filter);
        eventually_eq(what, &expected, move || async move {
            let listed = store.list_connections(tenant, filter).await;
            let listed = listed.expect("list");
            listed
                .into_iter()
                .map(|c| c.connection_id)
                .collect::<Vec<_>>()
        })
        .await;
    }
    let listed = store
        .list_connections(&tenant, &ConnectionFilter::default())
        .await;
    assert_eq!(listed.expect("list"), all, "listed records are complete");
}

/// Another tenant's connection is not found, cannot be changed and is not listed.
pub async fn tenant_isolation(store: Arc<dyn ConnectionStore>) {
    let tenant_a = fresh_tenant();
    let tenant_b = fresh_tenant();
    let a = sample_connection(&tenant_a, now());
    store.create_connection(&a).await.expect("create");

    let got = store.get_connection(&tenant_b, &a.connection_id).await;
    assert_eq!(got.expect("get"), None);

    let hijack = crate::model::Connection {
        tenant_id: tenant_b.clone(),
        name: "hijacked".to_string(),
        ..a.clone()
    };
    assert!(!store.update_connection(&hijack).await.expect("update"));
    assert!(!store
        .delete_connection(&tenant_b, &a.connection_id)
        .await
        .expect("delete"));
    let listed = store
        .list_connections(&tenant_b, &ConnectionFilter::default())
        .await;
    assert!(listed.expect("list").is_empty());

    let got = store.get_connection(&tenant_a, &a.connection_id).await;
    assert_eq!(
        got.expect("get"),
        Some(a),
        "tenant A's connection untouched"
    );
}
