//! The request budget: what one successful execution costs in AWS requests, measured with the
//! backend's own accounting through the whole path (record, enqueue, receive, claim, complete
//! with its outbox event, acknowledge, publish, forget the outbox event).

mod common;

use integrations_core::completion::Completion;
use std::collections::BTreeMap;
use std::time::Duration;

use integrations_core::backend::{ClaimOutcome, CreateOutcome, Lease, OutgoingMessage};
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};
use serde_json::json;

const EXECUTIONS: usize = 50;
/// The budget in aws/DESIGN.md.
const BUDGET: f64 = 5.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_execution_costs_at_most_five_requests() {
    let stack = common::stack().await;
    let b = &stack.backend;
    let before = stack.handle.request_counts();
    let tenant = fresh_tenant();

    // The dispatcher: each API request records its execution and enqueues it.
    for _ in 0..EXECUTIONS {
        let e = sample_execution(&tenant, now());
        let created = b
            .executions
            .create_execution(&e, None)
            .await
            .expect("create");
        assert_eq!(created, CreateOutcome::Created);
        let body = json!({"tenantId": tenant, "executionId": e.execution_id}).to_string();
        let message = OutgoingMessage {
            body,
            execution_id: e.execution_id.clone(),
            delay: Duration::ZERO,
            trace_parent: None,
        };
        b.queue.send(&[message]).await.expect("send");
    }

    // A worker: batches of ten; per message a claim and a completion, per batch one delete,
    // one publish and one outbox removal.
    let mut done = 0;
    while done < EXECUTIONS {
        let batch = b
            .queue
            .receive(10, Duration::from_secs(2), Duration::from_secs(60))
            .await
            .expect("receive");
        let mut receipts = Vec::new();
        let mut events = Vec::new();
        for d in &batch {
            let id = d.execution_id.as_deref().expect("execution id attribute");
            let lease = Lease {
                owner: "worker-1".into(),
                until: now() + chrono::Duration::seconds(60),
            };
            let claimed = match b.executions.claim_execution(&tenant, id, &lease).await {
                Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
                other => panic!("claim: {other:?}"),
            };
            let finished = Execution {
                status: ExecutionStatus::Succeeded,
                output: Some(json!({"ok": true})),
                finished_at: Some(now()),
                ..claimed
            };
            let event = ResultEvent::for_execution(&finished).expect("event");
            let completion = Completion::without_callback(finished, event.clone());
            let stored = b
                .executions
                .complete_execution(&completion, Some("worker-1"))
                .await;
            assert!(stored.expect("complete"));
            receipts.push(d.receipt.clone());
            events.push(event);
        }
        b.queue.delete(&receipts).await.expect("delete");
        let failed = b.events.publish(&events).await.expect("publish");
        assert!(failed.is_empty());
        let ids: Vec<_> = events.iter().map(|e| e.event_id.clone()).collect();
        b.executions
            .outbox_remove(&ids)
            .await
            .expect("outbox remove");
        done += batch.len();
    }
    assert!(b
        .executions
        .outbox_pending(10)
        .await
        .expect("pending")
        .is_empty());

    let after = stack.handle.request_counts();
    let mut used: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (k, v) in &after {
        let n = v - before.get(k).copied().unwrap_or(0);
        if n > 0 {
            used.insert(k.clone(), n);
        }
    }
    let total: u64 = used.values().sum();
    let per_execution = total as f64 / EXECUTIONS as f64;
    eprintln!("requests for {EXECUTIONS} executions (the pending check at the end included):");
    for ((service, operation), n) in &used {
        eprintln!(
            "  {service:<12} {operation:<20} {n:>4}  {:.2}/execution",
            *n as f64 / EXECUTIONS as f64
        );
    }
    eprintln!("  total {total}: {per_execution:.2} per execution");
    assert!(
        per_execution <= BUDGET,
        "{per_execution:.2} requests per execution: {used:?}"
    );
}
