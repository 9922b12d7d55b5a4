//! Tenant fairness: a tenant flooding the queue does not stop another tenant's executions from
//! starting (the worker's per-tenant in-flight cap), and a tenant over its submission rate gets
//! 429 TENANT_QUOTA_EXCEEDED with Retry-After.

use std::time::Duration;

use fake_provider::FakeConfig;
use futures::StreamExt;
use integration_tests::{fee_input, Harness};
use integrations_core::model::Timestamp;
use reqwest::StatusCode;
use serde_json::{json, Value};

const FLOOD: usize = 300;

async fn submit(h: &Harness, tenant: &str, conn: &str) -> String {
    let (s, b) = h
        .execute(
            tenant,
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    b["executionId"].as_str().expect("id").to_string()
}

fn finished_at(e: &Value) -> Timestamp {
    serde_json::from_value(e["finishedAt"].clone()).unwrap_or_else(|_| panic!("no finishedAt: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_tenant_does_not_hold_back_another_tenants_executions() {
    // 16 slots; t1 may hold 4 of them, t2 (the default) is not capped. Each call takes 150 ms,
    // so t1's flood needs ~11 s; without the cap it would take every slot and t2's executions
    // would start only after all of t1's (they are behind them in the queue).
    let fake = FakeConfig {
        latency: Duration::from_millis(150),
        ..FakeConfig::default()
    };
    let h = Harness::start_with(
        fake,
        &[
            "--concurrency",
            "16",
            "--tenant-quota",
            "t1=in_flight:4",
            "--no-catalog-rate-limits",
        ],
    )
    .await;
    let a_conn = h.create_connection("t1").await;
    let b_conn = h.create_connection("t2").await;

    let flood: Vec<String> = futures::stream::iter(0..FLOOD)
        .map(|_| submit(&h, "t1", &a_conn))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut b_ids = Vec::new();
    for _ in 0..3 {
        b_ids.push(submit(&h, "t2", &b_conn).await);
    }

    let mut b_last = None;
    for id in &b_ids {
        let done = h.wait_terminal("t2", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let at = finished_at(&done);
        b_last = Some(b_last.map_or(at, |b: Timestamp| b.max(at)));
    }
    let b_last = b_last.expect("three executions");

    let mut a_before_b = 0;
    for id in &flood {
        let done = h.wait_terminal("t1", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        // Put back for the cap, never claimed: a delay is not an attempt.
        assert_eq!(done["attempts"], 1, "{done}");
        if finished_at(&done) < b_last {
            a_before_b += 1;
        }
    }
    assert!(
        a_before_b < FLOOD / 2,
        "t2's executions finished after {a_before_b} of t1's {FLOOD}: they waited for the flood"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_tenant_over_its_submission_rate_gets_429_with_retry_after() {
    let h = Harness::start_with(
        FakeConfig::default(),
        &["--tenant-quota", "t1=rate:0.5,burst:2"],
    )
    .await;
    let a_conn = h.create_connection("t1").await;
    let b_conn = h.create_connection("t2").await;
    submit(&h, "t1", &a_conn).await;
    submit(&h, "t1", &a_conn).await;

    let resp = h
        .http
        .post(format!("{}/execute", h.base))
        .bearer_auth(&h.key)
        .header("x-tenant-id", "t1")
        .json(&json!({"connectionId": a_conn, "actionId": "calculate_fee", "input": fee_input()}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let after: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    // One token every 2 s, rounded up to whole seconds.
    assert!((1..=2).contains(&after), "Retry-After {after}");
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "TENANT_QUOTA_EXCEEDED", "{body}");
    assert_eq!(body["error"]["retryable"], true);

    // Another tenant is not affected, and nothing was recorded for the refused request.
    submit(&h, "t2", &b_conn).await;
    let (s, list) = h
        .call(reqwest::Method::GET, "/executions", "t1", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        list["executions"].as_array().map(Vec::len),
        Some(2),
        "{list}"
    );
    h.stop().await;
}
