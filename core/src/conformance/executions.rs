//! [`ExecutionStore`] conformance: creation and idempotency here; listing, leases and outcomes in
//! the submodules.
//!
//! Semantics pinned here, beyond the trait docs:
//! - execution ids and idempotency keys are scoped by tenant, like every key: another tenant's
//!   execution is never returned, not even as the `Existing` answer to a colliding create;
//! - when a create collides on both its idempotency key and its execution id, the key wins
//!   (`request_hash` is `Some`);
//! - a create that fails on its execution id reserves nothing: its idempotency key stays free.

mod claims;
mod lease;
mod list;
mod outcome;

use std::sync::Arc;

pub use claims::{outbox_claim_race, outbox_expired_claim_taken_over};
pub use lease::{claim, claim_expired_lease, claim_race, extend_lease, release};
pub use list::{list_cursor_isolation, list_filters, list_invalid_cursor, list_pagination};
pub use outcome::{complete, complete_without_owner, outbox, reopen};

use serde_json::json;

use super::{fresh_id, fresh_tenant, full_execution, sample_execution};
use crate::backend::{CreateOutcome, ExecutionStore, IdempotencyClaim, Lease};
use crate::model::{now, Execution};

use outcome::{dead_lettered, event_for, pending_becomes};

/// Every execution case, one after another.
pub async fn executions_suite(store: Arc<dyn ExecutionStore>) {
    create_and_get(store.clone()).await;
    duplicate_execution_id(store.clone()).await;
    idempotency_claims(store.clone()).await;
    list_filters(store.clone()).await;
    list_pagination(store.clone()).await;
    list_cursor_isolation(store.clone()).await;
    list_invalid_cursor(store.clone()).await;
    claim(store.clone()).await;
    claim_expired_lease(store.clone()).await;
    claim_race(store.clone()).await;
    extend_lease(store.clone()).await;
    release(store.clone()).await;
    complete(store.clone()).await;
    complete_without_owner(store.clone()).await;
    reopen(store.clone()).await;
    outbox(store.clone()).await;
    outbox_claim_race(store.clone()).await;
    outbox_expired_claim_taken_over(store).await;
}

/// Records round-trip exactly, optional fields empty or set; unknown ids and other tenants' ids
/// are not found.
pub async fn create_and_get(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    for e in [
        sample_execution(&tenant, now()),
        full_execution(&tenant, now()),
    ] {
        create(&store, &e).await;
        assert_eq!(get(&store, &tenant, &e.execution_id).await, Some(e.clone()));
        let other = get(&store, &fresh_tenant(), &e.execution_id).await;
        assert_eq!(other, None, "another tenant must not see the execution");
    }
    assert_eq!(get(&store, &tenant, &fresh_id()).await, None);
}

/// The same execution id twice: `Existing` with the stored record and no request hash, and the
/// record unchanged. The same id in another tenant is another execution.
pub async fn duplicate_execution_id(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    create(&store, &e).await;
    let again = Execution {
        input: json!({"different": true}),
        ..e.clone()
    };
    let outcome = store.create_execution(&again, None).await.expect("create");
    assert_eq!(
        outcome,
        CreateOutcome::Existing {
            execution: Box::new(e.clone()),
            request_hash: None
        }
    );
    assert_eq!(get(&store, &tenant, &e.execution_id).await, Some(e.clone()));

    let elsewhere = Execution {
        tenant_id: fresh_tenant(),
        ..e.clone()
    };
    let outcome = store.create_execution(&elsewhere, None).await;
    assert_eq!(outcome.expect("create"), CreateOutcome::Created);
}

/// A key maps to the first execution and its request hash; keys are per tenant; a create that
/// collides on its execution id does not reserve its key.
pub async fn idempotency_claims(store: Arc<dyn ExecutionStore>) {
    let tenant = fresh_tenant();
    let key = format!("order-{}", fresh_id());
    let claim_with = |hash: &str| IdempotencyClaim {
        key: key.clone(),
        request_hash: hash.to_string(),
    };
    let first = Execution {
        idempotency_key: Some(key.clone()),
        ..sample_execution(&tenant, now())
    };
    let outcome = store
        .create_execution(&first, Some(&claim_with("hash-1")))
        .await;
    assert_eq!(outcome.expect("create"), CreateOutcome::Created);

    let existing = CreateOutcome::Existing {
        execution: Box::new(first.clone()),
        request_hash: Some("hash-1".to_string()),
    };
    let second = Execution {
        idempotency_key: Some(key.clone()),
        ..sample_execution(&tenant, now())
    };
    let outcome = store
        .create_execution(&second, Some(&claim_with("hash-2")))
        .await;
    assert_eq!(outcome.expect("create"), existing);
    assert_eq!(get(&store, &tenant, &second.execution_id).await, None);

    // Key and id both taken: the key's answer, with its hash.
    let outcome = store
        .create_execution(&first, Some(&claim_with("hash-3")))
        .await;
    assert_eq!(outcome.expect("create"), existing);

    // The same key in another tenant is free.
    let other = Execution {
        idempotency_key: Some(key.clone()),
        ..sample_execution(&fresh_tenant(), now())
    };
    let outcome = store
        .create_execution(&other, Some(&claim_with("hash-1")))
        .await;
    assert_eq!(outcome.expect("create"), CreateOutcome::Created);

    // A create that fails on its id leaves its key unreserved.
    let fresh_key = IdempotencyClaim {
        key: format!("order-{}", fresh_id()),
        request_hash: "hash-4".to_string(),
    };
    let outcome = store.create_execution(&first, Some(&fresh_key)).await;
    assert!(
        matches!(
            outcome.expect("create"),
            CreateOutcome::Existing {
                request_hash: None,
                ..
            }
        ),
        "an id collision reports no request hash"
    );
    let third = sample_execution(&tenant, now());
    let outcome = store.create_execution(&third, Some(&fresh_key)).await;
    assert_eq!(outcome.expect("create"), CreateOutcome::Created);
}

async fn create(store: &Arc<dyn ExecutionStore>, e: &Execution) {
    let outcome = store.create_execution(e, None).await.expect("create");
    assert_eq!(outcome, CreateOutcome::Created);
}

async fn get(store: &Arc<dyn ExecutionStore>, tenant: &str, id: &str) -> Option<Execution> {
    store.get_execution(tenant, id).await.expect("get")
}

/// A lease for `owner` that ends `secs` seconds from now.
fn lease_for(owner: &str, secs: i64) -> Lease {
    Lease {
        owner: owner.to_string(),
        until: now() + chrono::Duration::seconds(secs),
    }
}
