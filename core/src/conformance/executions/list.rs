//! Listing executions: filters, order, pages and cursors.
//!
//! Semantics pinned here, beyond the trait docs:
//! - newest first by `created_at`, ties broken by execution id (descending);
//! - `start` is inclusive, `end` exclusive; all filters combine with AND;
//! - `limit` 0 means the backend's default page size (at least 20), not an empty page;
//! - without filters, every page but the last is full; the last page has no cursor, or its cursor
//!   leads to an empty page without one (a key-value store may not know it reached the end);
//! - a malformed cursor is a `ValidationFailed` error;
//! - a cursor is only meaningful for the tenant that got it: used by another tenant, it yields
//!   nothing of the first tenant's (an error or a page of the second tenant's own executions).

use std::sync::Arc;

use super::{create, get};
use crate::backend::{ExecutionFilter, ExecutionStore, Page};
use crate::conformance::{at, eventually_eq, fresh_tenant, sample_execution};
use crate::error::ErrorKind;
use crate::model::{now, Execution, ExecutionStatus};

/// Each filter alone and combined, newest first, with complete records.
pub async fn list_filters(store: Arc<dyn ExecutionStore>) {
    use ExecutionStatus::*;
    let tenant = fresh_tenant();
    let base = now() - chrono::Duration::hours(1);
    let specs = [
        ("conn-a", "stripe", Succeeded),
        ("conn-b", "ghn", Failed),
        ("conn-a", "stripe", Queued),
        ("conn-b", "stripe", Succeeded),
        ("conn-a", "ghn", Running),
        ("conn-a", "stripe", Failed),
    ];
    let mut all: Vec<Execution> = specs
        .iter()
        .zip(0i64..)
        .map(|((connection, integration, status), i)| Execution {
            connection_id: connection.to_string(),
            integration_id: integration.to_string(),
            status: *status,
            ..sample_execution(&tenant, at(base, i * 1000))
        })
        .collect();
    // Created out of order, so that insertion order cannot pass for creation order.
    for i in [3, 0, 5, 1, 4, 2] {
        create(&store, &all[i]).await;
    }
    let ids = |idx: &[usize]| -> Vec<String> {
        idx.iter().map(|&i| all[i].execution_id.clone()).collect()
    };
    let filter = ExecutionFilter {
        limit: 100,
        ..ExecutionFilter::default()
    };
    let cases = [
        ("unfiltered", filter.clone(), ids(&[5, 4, 3, 2, 1, 0])),
        (
            "by connection",
            ExecutionFilter {
                connection_id: Some("conn-a".into()),
                ..filter.clone()
            },
            ids(&[5, 4, 2, 0]),
        ),
        (
            "by integration",
            ExecutionFilter {
                integration_id: Some("ghn".into()),
                ..filter.clone()
            },
            ids(&[4, 1]),
        ),
        (
            "by status",
            ExecutionFilter {
                status: Some(Succeeded),
                ..filter.clone()
            },
            ids(&[3, 0]),
        ),
        (
            "from start (inclusive)",
            ExecutionFilter {
                start: Some(at(base, 2000)),
                ..filter.clone()
            },
            ids(&[5, 4, 3, 2]),
        ),
        (
            "until end (exclusive)",
            ExecutionFilter {
                end: Some(at(base, 2000)),
                ..filter.clone()
            },
            ids(&[1, 0]),
        ),
        (
            "time window",
            ExecutionFilter {
                start: Some(at(base, 1000)),
                end: Some(at(base, 4000)),
                ..filter.clone()
            },
            ids(&[3, 2, 1]),
        ),
        (
            "connection, integration and status",
            ExecutionFilter {
                connection_id: Some("conn-a".into()),
                integration_id: Some("stripe".into()),
                status: Some(Failed),
                ..filter.clone()
            },
            ids(&[5]),
        ),
        (
            "connection and time window",
            ExecutionFilter {
                connection_id: Some("conn-a".into()),
                start: Some(at(base, 1000)),
                end: Some(at(base, 5000)),
                ..filter.clone()
            },
            ids(&[4, 2]),
        ),
        (
            "matching nothing",
            ExecutionFilter {
                integration_id: Some("unknown".into()),
                ..filter.clone()
            },
            vec![],
        ),
    ];
    for (what, filter, expected) in &cases {
        eventually_eq(what, expected, || list_all(&store, &tenant, filter)).await;
    }

    all.reverse();
    let page = store.list_executions(&tenant, &filter).await;
    assert_eq!(
        page.expect("list").items,
        all,
        "listed records are complete"
    );
}

/// Pages of `limit` items in order, following the cursor, also with a filter; `limit` 0 is the
/// default page size.
pub async fn list_pagination(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let base = now() - chrono::Duration::minutes(10);
    let mut ids = Vec::new();
    for i in 0..5i64 {
        let e = Execution {
            connection_id: if i % 2 == 0 { "conn-a" } else { "conn-b" }.to_string(),
            ..sample_execution(&tenant, at(base, i * 1000))
        };
        create(&store, &e).await;
        ids.push(e.execution_id);
    }
    ids.reverse();
    let two = ExecutionFilter {
        limit: 2,
        ..ExecutionFilter::default()
    };
    eventually_eq("all five listed", &ids, || list_all(&store, &tenant, &two)).await;

    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let filter = ExecutionFilter {
            cursor: cursor.take(),
            ..two.clone()
        };
        let page = list(&store, &tenant, &filter).await;
        pages.push(
            page.items
                .iter()
                .map(|e| e.execution_id.clone())
                .collect::<Vec<_>>(),
        );
        match page.next_cursor {
            Some(next) if pages.len() < 10 => cursor = Some(next),
            Some(_) => panic!("pagination does not end"),
            None => break,
        }
    }
    if pages.last().is_some_and(Vec::is_empty) && pages.len() == 4 {
        pages.pop();
    }
    let expected = vec![ids[0..2].to_vec(), ids[2..4].to_vec(), ids[4..5].to_vec()];
    assert_eq!(pages, expected, "pages of two, newest first");

    let conn_a = ExecutionFilter {
        connection_id: Some("conn-a".into()),
        limit: 1,
        ..ExecutionFilter::default()
    };
    let expected = vec![ids[0].clone(), ids[2].clone(), ids[4].clone()];
    eventually_eq("filtered pages", &expected, || {
        list_all(&store, &tenant, &conn_a)
    })
    .await;

    let default = list(&store, &tenant, &ExecutionFilter::default()).await;
    assert_eq!(
        default.items.len(),
        5,
        "limit 0 means the default page size"
    );
}

/// A cursor from tenant A, used by tenant B, yields nothing of A's.
pub async fn list_cursor_isolation(store: Arc<dyn ExecutionStore>) {
    let tenant_a = fresh_tenant();
    let tenant_b = fresh_tenant();
    let base = now() - chrono::Duration::minutes(10);
    for i in 0..3 {
        create(&store, &sample_execution(&tenant_a, at(base, i * 1000))).await;
    }
    // B's executions are older than A's, so that a position-only cursor could reach them.
    create(&store, &sample_execution(&tenant_b, at(base, -5000))).await;
    let one = ExecutionFilter {
        limit: 1,
        ..ExecutionFilter::default()
    };
    let first = list(&store, &tenant_a, &one).await;
    let cursor = first
        .next_cursor
        .expect("a cursor after the first of three");
    let filter = ExecutionFilter {
        cursor: Some(cursor),
        limit: 100,
        ..ExecutionFilter::default()
    };
    match store.list_executions(&tenant_b, &filter).await {
        Ok(page) => assert!(
            page.items.iter().all(|e| e.tenant_id == tenant_b),
            "tenant B's listing returned another tenant's executions"
        ),
        Err(e) => assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}"),
    }
}

/// A malformed cursor is the caller's error.
pub async fn list_invalid_cursor(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;
    assert!(get(&store, &tenant, &e.execution_id).await.is_some());
    let filter = ExecutionFilter {
        cursor: Some("%%% not a cursor %%%".to_string()),
        limit: 10,
        ..ExecutionFilter::default()
    };
    let err = store
        .list_executions(&tenant, &filter)
        .await
        .expect_err("a malformed cursor must be rejected");
    assert_eq!(err.kind, ErrorKind::ValidationFailed, "{err}");
}

async fn list(
    store: &Arc<dyn ExecutionStore>,
    tenant: &str,
    filter: &ExecutionFilter,
) -> Page<Execution> {
    let page = store.list_executions(tenant, filter).await.expect("list");
    if filter.limit > 0 {
        assert!(page.items.len() <= filter.limit, "page larger than limit");
    }
    page
}

/// The ids of every page, following cursors.
async fn list_all(
    store: &Arc<dyn ExecutionStore>,
    tenant: &str,
    filter: &ExecutionFilter,
) -> Vec<String> {
    let mut ids = Vec::new();
    let mut filter = filter.clone();
    for _ in 0..100 {
        let page = list(store, tenant, &filter).await;
        ids.extend(page.items.into_iter().map(|e| e.execution_id));
        match page.next_cursor {
            Some(cursor) => filter.cursor = Some(cursor),
            None => return ids,
        }
    }
    panic!("pagination does not end");
}
