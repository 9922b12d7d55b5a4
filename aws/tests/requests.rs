//! The request budget: what one successful execution costs in AWS requests, measured with the
//! backend's own accounting through the whole path (record, enqueue, receive, claim, complete
//! with its outbox event, acknowledge, publish, forget the outbox event), and what a callback
//! adds to it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use integrations_core::backend::{ClaimOutcome, CreateOutcome, Lease, OutgoingMessage};
use integrations_core::callbacks::{AttemptOutcome, CallbackAttempt};
use integrations_core::completion::Completion;
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
            fair_group: None,
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

    let used = used_since(&stack, &before);
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

type Counts = BTreeMap<(String, String), u64>;

fn used_since(stack: &common::Stack, before: &Counts) -> Counts {
    let mut used = Counts::new();
    for (k, v) in &stack.handle.request_counts() {
        let n = v - before.get(k).copied().unwrap_or(0);
        if n > 0 {
            used.insert(k.clone(), n);
        }
    }
    used
}

fn dynamo(used: &Counts, operation: &str) -> u64 {
    used.get(&("DynamoDB".to_string(), operation.to_string()))
        .copied()
        .unwrap_or(0)
}

/// A callback delivered at once by the worker that finished the execution (born leased to it,
/// handed over by the engine) costs no request in the completion (one more item in its
/// transaction) and one PutItem for the attempt; the sweep that finds nothing left costs one
/// Query per shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_delivered_from_the_feed_costs_one_put_per_attempt() {
    const N: u64 = 10;
    let stack = common::stack().await;
    let b = &stack.backend;
    let tenant = fresh_tenant();
    let mut plain = None;
    for i in 0..2 * N {
        if i == N {
            plain = Some(used_since(&stack, &Counts::new()));
        }
        let with_callback = i >= N;
        let mut e = sample_execution(&tenant, now());
        if with_callback {
            e.callback_url = Some("https://example.com/cb".into());
            e.caller_service = Some("flows".into());
        }
        b.executions
            .create_execution(&e, None)
            .await
            .expect("create");
        let lease = Lease {
            owner: "worker-1".into(),
            until: now() + chrono::Duration::seconds(60),
        };
        let claimed = match b
            .executions
            .claim_execution(&tenant, &e.execution_id, &lease)
            .await
        {
            Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
            other => panic!("claim: {other:?}"),
        };
        let done = Completion::new(claimed, Ok(json!({"ok": true})), Some(lease));
        assert_eq!(done.callback.is_some(), with_callback);
        let stored = b
            .executions
            .complete_execution(&done, Some("worker-1"))
            .await;
        assert!(stored.expect("complete"));
        if let Some(callback) = &done.callback {
            let attempt = CallbackAttempt {
                at: now(),
                status_code: Some(204),
                duration_ms: 3,
                error: None,
            };
            let recorded = b
                .callbacks
                .record_callback_attempt(callback, &attempt, &AttemptOutcome::Delivered, None)
                .await;
            assert!(recorded.expect("record"));
        }
    }
    let before_sweep = stack.handle.request_counts();
    let lease = Lease {
        owner: "worker-1".into(),
        until: now() + chrono::Duration::seconds(30),
    };
    let due = b.callbacks.claim_due_callbacks(now(), &lease, 100).await;
    assert!(
        due.expect("sweep").is_empty(),
        "delivered callbacks are never due"
    );

    let sweep = used_since(&stack, &before_sweep);
    assert_eq!(
        sweep,
        Counts::from([(
            ("DynamoDB".to_string(), "Query".to_string()),
            u64::from(stack.config.outbox_shards)
        )])
    );
    let plain = plain.expect("counted");
    let all = used_since(&stack, &Counts::new());
    let with_callbacks = |op: &str| dynamo(&all, op) - dynamo(&plain, op);
    eprintln!("{N} executions without a callback: {plain:?}");
    eprintln!("then {N} with one, and the sweep: {all:?}");
    // Per execution: create (PutItem), claim (UpdateItem), complete (TransactWriteItems),
    // and with a callback one PutItem for its attempt.
    assert_eq!(dynamo(&plain, "TransactWriteItems"), N);
    assert_eq!(dynamo(&plain, "PutItem"), N);
    assert_eq!(with_callbacks("TransactWriteItems"), N);
    assert_eq!(with_callbacks("PutItem"), 2 * N);
    assert_eq!(with_callbacks("UpdateItem"), N);
    let total = |c: &Counts| c.values().sum::<u64>();
    assert_eq!(
        total(&all) - total(&plain) - total(&sweep),
        4 * N,
        "a callback adds one request per execution: {all:?}"
    );
}
