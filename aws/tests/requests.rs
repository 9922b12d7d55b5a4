//! The request budget: what one successful execution costs in AWS requests, measured with the
//! backend's own accounting through the whole path (record, enqueue, receive, claim, complete
//! with its outbox event, acknowledge, publish, forget the outbox event), and what a callback
//! adds to it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;

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
            events.push(integrations_core::outbox::OutboxEvent::from(event));
        }
        b.queue.delete(&receipts).await.expect("delete");
        let failed = b.events.publish(&events).await.expect("publish");
        assert!(failed.is_empty());
        let ids: Vec<_> = events.iter().map(|e| e.event_id().to_string()).collect();
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
    let (writes, reads) = units_per_execution(&stack, EXECUTIONS);
    eprintln!(
        "capacity (from item sizes): {writes:.2} write units, {reads:.2} read units per execution"
    );
    // aws/DESIGN.md's count for items under 1 KB: create 1 + 2 index writes, claim 1 + 2,
    // complete 2 + 2 plus the outbox Put 2 + 1, removal 1 + 1.
    assert_eq!(writes, 15.0, "{:?}", stack.handle.capacity().units);
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

/// Write and read units per execution, summed over the backend's DynamoDB requests.
fn units_per_execution(stack: &common::Stack, executions: usize) -> (f64, f64) {
    let (mut writes, mut reads) = (0.0, 0.0);
    for ((_, _, operation), units) in &stack.handle.capacity().units {
        match operation.as_str() {
            "GetItem" | "Query" | "Scan" => reads += units,
            _ => writes += units,
        }
    }
    (writes / executions as f64, reads / executions as f64)
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

/// One tenant's burst spreads: its executions are created, claimed and completed (with the
/// outbox removal) through the store, and the writes the capacity model counted per partition
/// key of the table and of each index show no key above 1 % of them, for a stack whose shard
/// counts are sized for the burst (aws/DESIGN.md, "Scale model"). 1,000 executions (about 30 s
/// on moto) over 1,024 shards, so that the hottest key's expected share stays far below the
/// bound whatever the random ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_burst_spreads_over_partitions() {
    burst(1_000, 1024, 1024).await;
}

/// The figure: 10,000 executions of one tenant (several minutes on moto: run it with
/// `--run-ignored only`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes on moto; run on demand"]
async fn ten_thousand_executions_of_one_tenant_spread_over_partitions() {
    burst(10_000, 256, 256).await;
}

async fn burst(executions: usize, listing_shards: u16, outbox_shards: u16) {
    const IN_FLIGHT: usize = 16;
    let stack = common::stack_with(|c| backend_aws::AwsConfig {
        listing_shards,
        outbox_shards,
        ..c
    })
    .await;
    let started = std::time::Instant::now();
    let tenant = fresh_tenant();
    let store = stack.backend.executions.clone();
    let batches: Vec<Vec<Execution>> = (0..executions)
        .map(|_| sample_execution(&tenant, now()))
        .collect::<Vec<_>>()
        .chunks(25)
        .map(<[Execution]>::to_vec)
        .collect();
    futures::stream::iter(batches)
        .for_each_concurrent(IN_FLIGHT, |batch| {
            let store = store.clone();
            async move {
                let mut ids = Vec::new();
                for e in batch {
                    let created = store.create_execution(&e, None).await.expect("create");
                    assert_eq!(created, CreateOutcome::Created);
                    let lease = Lease {
                        owner: "worker-1".into(),
                        until: now() + chrono::Duration::seconds(60),
                    };
                    let claimed = match store
                        .claim_execution(&e.tenant_id, &e.execution_id, &lease)
                        .await
                    {
                        Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
                        other => panic!("claim: {other:?}"),
                    };
                    let done = Completion::new(claimed, Ok(json!({"ok": true})), None);
                    ids.push(done.event.event_id.clone());
                    assert!(store
                        .complete_execution(&done, Some("worker-1"))
                        .await
                        .expect("complete"));
                }
                store.outbox_remove(&ids).await.expect("outbox remove");
            }
        })
        .await;
    eprintln!(
        "{executions} executions through the store in {:?}",
        started.elapsed()
    );

    let capacity = stack.handle.capacity();
    let table = &stack.config.executions_table;
    let mut totals: BTreeMap<&str, (u64, u64, &str)> = BTreeMap::new();
    for ((t, index, key), n) in &capacity.partition_writes {
        if t != table {
            continue;
        }
        let entry = totals.entry(index.as_str()).or_insert((0, 0, ""));
        entry.0 += n;
        if *n > entry.1 {
            (entry.1, entry.2) = (*n, key.as_str());
        }
    }
    for index in [
        "",
        "ExecutionsByTenantShard",
        "ExecutionsByConnectionShard",
        "PendingEvents",
    ] {
        let (total, hottest, key) = totals.get(index).copied().unwrap_or_default();
        let share = hottest as f64 / total.max(1) as f64;
        eprintln!(
            "{:<28} {total:>6} writes, hottest key {key} {hottest} ({:.2} %)",
            if index.is_empty() { "table" } else { index },
            share * 100.0
        );
        assert!(
            total >= executions as u64,
            "{index}: {total} writes counted"
        );
        assert!(
            share <= 0.01,
            "{index}: {key} took {hottest} of {total} writes"
        );
    }
}
