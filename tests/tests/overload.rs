//! Overload: a burst beyond the API's bounds is shed at once with 503 OVERLOADED and
//! Retry-After (none hangs, nothing shed is recorded, everything accepted runs), and a backlog
//! on the queue drains with the worker holding no more than its concurrency.

use std::time::Duration;

use fake_provider::FakeConfig;
use integration_tests::{fee_input, Harness};
use integrations_core::backend::OutgoingMessage;
use integrations_core::model::{new_id, now, ExecutionRequest};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BURST: usize = 200;

/// `BURST` concurrent submissions for t1: (status, Retry-After seconds, body).
async fn burst(h: &Harness, conn: &str) -> Vec<(StatusCode, Option<u64>, Value)> {
    // A shed request is answered at once; this only turns a hang into a failure.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let requests = (0..BURST).map(|_| {
        let req = http
            .post(format!("{}/execute", h.base))
            .bearer_auth(&h.key)
            .header("x-tenant-id", "t1")
            .json(
                &json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()}),
            );
        async move {
            let resp = req.send().await.expect("answered in time");
            let after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            (resp.status(), after, resp.json().await.expect("JSON"))
        }
    });
    futures::future::join_all(requests).await
}

/// Some were shed, properly; every accepted one runs; nothing shed was recorded.
async fn check(h: &Harness, answers: &[(StatusCode, Option<u64>, Value)]) {
    let mut accepted = Vec::new();
    let mut shed = 0;
    for (status, after, body) in answers {
        match *status {
            StatusCode::ACCEPTED => {
                accepted.push(body["executionId"].as_str().expect("id").to_string())
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                shed += 1;
                assert_eq!(body["error"]["code"], "OVERLOADED", "{body}");
                assert_eq!(body["error"]["retryable"], true, "{body}");
                assert!(after.is_some_and(|s| s >= 1), "Retry-After: {after:?}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(shed > 0, "a burst of {BURST} beyond the bound shed nothing");
    assert!(!accepted.is_empty(), "everything was shed");
    // No accepted execution is left `queued` without its message: each one runs.
    for id in &accepted {
        let done = h.wait_terminal("t1", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    assert_eq!(
        recorded(h).await,
        accepted.len(),
        "shed requests recorded nothing"
    );
}

/// How many executions t1 has.
async fn recorded(h: &Harness) -> usize {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/executions?limit=200&cursor={c}"),
            None => "/executions?limit=200".to_string(),
        };
        let (s, page) = h.call(Method::GET, &path, "t1", None).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        n += page["executions"].as_array().map_or(0, Vec::len);
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_beyond_the_in_flight_bound_are_shed_with_503_and_nothing_is_lost() {
    let h = Harness::start_with(
        FakeConfig::default(),
        &[
            "--max-submissions-in-flight",
            "2",
            "--no-catalog-rate-limits",
        ],
    )
    .await;
    let conn = h.create_connection("t1").await;
    let answers = burst(&h, &conn).await;
    check(&h, &answers).await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_enqueue_backlog_sheds_with_503_before_recording_anything() {
    let h = Harness::start_with(
        FakeConfig::default(),
        &["--max-enqueue-backlog", "1", "--no-catalog-rate-limits"],
    )
    .await;
    let conn = h.create_connection("t1").await;
    let answers = burst(&h, &conn).await;
    check(&h, &answers).await;
    h.stop().await;
}

/// The worker's executions-in-flight gauge, from the API's /metrics.
async fn in_flight(h: &Harness) -> f64 {
    h.metric("worker_executions_in_flight").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_backlog_drains_with_the_worker_holding_at_most_its_concurrency() {
    // The 20,000-execution run is `bench --backlog` (docs/benchmarks.md); this is its shape at
    // a size a debug test drains quickly. Published straight to the queue, as producers do.
    const BACKLOG: usize = 2_000;
    const CONCURRENCY: f64 = 32.0;
    let h = Harness::start_with(
        FakeConfig {
            latency: Duration::from_millis(20),
            ..FakeConfig::default()
        },
        &["--concurrency", "32", "--no-catalog-rate-limits"],
    )
    .await;
    let conn = h.create_connection("t1").await;
    let requests: Vec<ExecutionRequest> = (0..BACKLOG)
        .map(|_| ExecutionRequest {
            version: 1,
            execution_id: new_id(),
            tenant_id: "t1".into(),
            connection_id: conn.clone(),
            action_id: "calculate_fee".into(),
            input: fee_input(),
            caller_service: Some("webhooks".into()),
            caller_ref: None,
            callback_url: None,
            submitted_at: now(),
        })
        .collect();
    for chunk in requests.chunks(500) {
        let messages: Vec<OutgoingMessage> = chunk
            .iter()
            .map(|r| OutgoingMessage {
                body: serde_json::to_string(r).expect("serialize"),
                execution_id: r.execution_id.clone(),
                delay: Duration::ZERO,
                trace_parent: None,
                fair_group: None,
            })
            .collect();
        h.backend.queue.send(&messages).await.expect("enqueue");
    }

    // Sample the gauge until the last execution is done (the worker receives only as many
    // messages as it has free slots, so nothing piles up in its memory).
    let mut peak: f64 = 0.0;
    let mut pending = requests.iter().map(|r| r.execution_id.clone()).rev();
    let mut next = pending.next();
    while let Some(id) = next.clone() {
        peak = peak.max(in_flight(&h).await);
        let (s, e) = h
            .call(Method::GET, &format!("/executions/{id}"), "t1", None)
            .await;
        if s == StatusCode::OK && e["status"] == "succeeded" {
            next = pending.next();
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(peak > 0.0, "the gauge was never seen above zero");
    assert!(
        peak <= CONCURRENCY,
        "{peak} executions held by a worker of 32"
    );
    assert_eq!(recorded(&h).await, BACKLOG);
    h.stop().await;
}
