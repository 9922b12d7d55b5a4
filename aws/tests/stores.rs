//! DynamoDB specifics: claims from many processes, outputs over the item limit, provisioning
//! twice.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use backend_aws::truncate::TRUNCATED_FLAG;
use integrations_core::backend::{ClaimOutcome, CreateOutcome, ExecutionStore, Lease};
use integrations_core::completion::Completion;
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};
use serde_json::json;

/// Four backends stand for four worker processes: 32 claims of one execution at once, exactly
/// one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_claim_wins_among_many_processes() {
    let stack = common::stack().await;
    let mut stores: Vec<Arc<dyn ExecutionStore>> = vec![stack.backend.executions.clone()];
    for _ in 0..3 {
        let (b, _) = backend_aws::open(&stack.config).await.expect("open");
        stores.push(b.executions);
    }
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    let created = stores[0].create_execution(&e, None).await.expect("create");
    assert_eq!(created, CreateOutcome::Created);

    let until = now() + chrono::Duration::seconds(60);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let (tenant, id) = (tenant.clone(), e.execution_id.clone());
            let lease = Lease {
                owner: format!("worker-{i}"),
                until,
            };
            tokio::spawn(async move { store.claim_execution(&tenant, &id, &lease).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.expect("task").expect("claim") {
            ClaimOutcome::Claimed { .. } => winners += 1,
            ClaimOutcome::Leased { until: u } => assert_eq!(u, until),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    let stored = stores[1]
        .get_execution(&tenant, &e.execution_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.status, stored.attempts),
        (ExecutionStatus::Running, 1)
    );
}

/// An output over DynamoDB's 400 KB is stored truncated with a flag, its event too (small enough
/// for EventBridge), and the event publishes.
#[tokio::test]
async fn a_huge_output_is_stored_truncated_and_its_event_publishes() {
    let stack = common::stack().await;
    let store = &stack.backend.executions;
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    store.create_execution(&e, None).await.expect("create");
    let lease = Lease {
        owner: "w".into(),
        until: now() + chrono::Duration::seconds(60),
    };
    let claimed = match store
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
        .expect("claim")
    {
        ClaimOutcome::Claimed { execution, .. } => *execution,
        other => panic!("{other:?}"),
    };
    let done = Execution {
        status: ExecutionStatus::Succeeded,
        output: Some(json!({"report": "é".repeat(400_000)})),
        finished_at: Some(now()),
        ..claimed
    };
    let event = ResultEvent::for_execution(&done).expect("terminal");
    let stored = store
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            Some("w"),
        )
        .await;
    assert!(stored.expect("complete: never an error for a large output"));

    let got = store
        .get_execution(&tenant, &e.execution_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.status, ExecutionStatus::Succeeded);
    let output = got.output.expect("output");
    assert_eq!(output[TRUNCATED_FLAG], json!(true));
    assert!(output["preview"]
        .as_str()
        .is_some_and(|p| p.len() > 100_000));

    let pending = store.outbox_pending(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    let detail = serde_json::to_string(&pending[0]).expect("json");
    assert!(
        detail.len() <= 240 * 1024,
        "event of {} bytes",
        detail.len()
    );
    assert_eq!(
        pending[0].output.as_ref().expect("output")[TRUNCATED_FLAG],
        json!(true)
    );
    let failed = stack
        .backend
        .events
        .publish(&pending)
        .await
        .expect("publish");
    assert!(failed.is_empty());
}

/// An input that cannot fit an item is refused with a clear error, not a crash.
#[tokio::test]
async fn a_huge_input_is_refused_with_payload_too_large() {
    let stack = common::stack().await;
    let e = Execution {
        input: json!({"blob": "x".repeat(500_000)}),
        ..sample_execution(&fresh_tenant(), now())
    };
    let err = stack
        .backend
        .executions
        .create_execution(&e, None)
        .await
        .expect_err("too large");
    assert_eq!(err.kind, integrations_core::ErrorKind::PayloadTooLarge);
    assert!(err.message.contains("400 KB"), "{err}");
}

/// `provision` twice on the same names is fine, and data survives it.
#[tokio::test]
async fn provisioning_is_idempotent() {
    let stack = common::stack().await;
    let e = sample_execution(&fresh_tenant(), now());
    stack
        .backend
        .executions
        .create_execution(&e, None)
        .await
        .expect("create");
    backend_aws::provision(&stack.config).await.expect("again");
    let (backend, handle) = backend_aws::open(&stack.config).await.expect("open");
    assert!(handle.warnings().is_empty(), "{:?}", handle.warnings());
    let got = backend
        .executions
        .get_execution(&e.tenant_id, &e.execution_id)
        .await;
    assert_eq!(got.expect("get"), Some(e));
    let ids: HashSet<_> = [&stack.config.queue_name, &stack.config.dlq_name]
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 2);
}
