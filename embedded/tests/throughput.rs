//! The write path of one execution, end to end, at volume: the dispatcher's insert and enqueue,
//! the worker's receive, claim, complete (with its outbox event) and batched delete, and the
//! relay's publish and outbox removal. No provider call: this measures the backend alone.
//! Ignored by default; run with
//! `cargo test --release -p backend-embedded --test throughput -- --ignored --nocapture`.

mod common;

use integrations_core::completion::Completion;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend_embedded::EmbeddedBackend;
use integrations_core::backend::{
    ClaimOutcome, EventBus, ExecutionStore, Lease, OutgoingMessage, Queue,
};
use integrations_core::conformance::sample_execution;
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};

const EXECUTIONS: usize = 20_000;
const PRODUCERS: usize = 32;
const WORKER_CONCURRENCY: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run in release mode"]
async fn pipeline_throughput() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let started = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));

    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| tokio::spawn(produce(backend.clone(), p)))
        .collect();
    let worker = tokio::spawn(work(backend.clone(), finished.clone()));
    let relay = tokio::spawn(relay(backend.clone()));
    for p in producers {
        p.await.expect("producer");
    }
    let produced = started.elapsed();
    worker.await.expect("worker");
    relay.await.expect("relay");
    let elapsed = started.elapsed();
    eprintln!(
        "{EXECUTIONS} executions: produced in {produced:?}, done in {elapsed:?} = {:.0}/s",
        EXECUTIONS as f64 / elapsed.as_secs_f64()
    );
}

async fn produce(backend: EmbeddedBackend, producer: usize) {
    for _ in (producer..EXECUTIONS).step_by(PRODUCERS) {
        let e = sample_execution("tenant-bench", now());
        backend.create_execution(&e, None).await.expect("create");
        let message = OutgoingMessage {
            body: serde_json::to_string(&e.input).expect("body"),
            execution_id: e.execution_id.clone(),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: None,
        };
        backend.send(&[message]).await.expect("send");
    }
}

/// Receive, then claim and complete each execution concurrently; delete in batches.
async fn work(backend: EmbeddedBackend, finished: Arc<AtomicUsize>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(WORKER_CONCURRENCY));
    let (acks, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let acker = {
        let backend = backend.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while ack_rx.recv_many(&mut batch, 100).await > 0 {
                backend.delete(&batch).await.expect("delete");
                batch.clear();
            }
        })
    };
    while finished.load(Ordering::Relaxed) < EXECUTIONS {
        let free = permits.available_permits().max(1);
        let deliveries = backend
            .receive(
                free.min(32),
                Duration::from_millis(50),
                Duration::from_secs(30),
            )
            .await
            .expect("receive");
        for d in deliveries {
            let permit = permits.clone().acquire_owned().await.expect("permit");
            let (backend, acks, finished) = (backend.clone(), acks.clone(), finished.clone());
            tokio::spawn(async move {
                let id = d.execution_id.clone().expect("execution id");
                execute(&backend, &id).await;
                acks.send(d.receipt).expect("ack");
                finished.fetch_add(1, Ordering::Relaxed);
                drop(permit);
            });
        }
    }
    drop(acks);
    acker.await.expect("acker");
}

async fn execute(backend: &EmbeddedBackend, id: &str) {
    let lease = Lease {
        owner: "bench".to_string(),
        until: now() + chrono::Duration::seconds(30),
    };
    let claimed = backend.claim_execution("tenant-bench", id, &lease).await;
    let ClaimOutcome::Claimed { execution, .. } = claimed.expect("claim") else {
        panic!("not claimed");
    };
    let t = now();
    let done = Execution {
        status: ExecutionStatus::Succeeded,
        output: Some(serde_json::json!({"ok": true})),
        latency_ms: Some(1),
        finished_at: Some(t),
        updated_at: t,
        ..*execution
    };
    let event = ResultEvent::for_execution(&done).expect("terminal");
    let stored = backend
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            Some("bench"),
        )
        .await;
    assert!(stored.expect("complete"));
}

/// Publish and forget outbox events until all have gone through.
async fn relay(backend: EmbeddedBackend) {
    let mut published = 0;
    while published < EXECUTIONS {
        let pending = backend.outbox_pending(100).await.expect("pending");
        if pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let failed = backend.publish(&pending).await.expect("publish");
        assert!(failed.is_empty());
        let ids: Vec<_> = pending.iter().map(|e| e.event_id().to_string()).collect();
        backend.outbox_remove(&ids).await.expect("remove");
        published += ids.len();
    }
}
