//! The worker loop through the real queue, store and connector: retries, non-retryable errors,
//! timeouts, dead letters, duplicate deliveries, producers publishing straight to the queue, and
//! a restart with work queued and in flight, and the trace context from the API to the worker.

use std::time::Duration;

use dispatcher::config::DeadLetterAction;
use fake_provider::FakeConfig;
use futures::StreamExt;
use integration_tests::{capture_logs, fee_input, Harness, LogBuffer};
use integrations_core::backend::OutgoingMessage;
use integrations_core::model::{new_id, now, ExecutionRequest};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FEE: &str = "/v2/shipping-order/fee";

async fn submit(h: &Harness, conn: &str, input: Value) -> String {
    let (s, b) = h
        .execute(
            "t1",
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": input}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    b["executionId"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn retries_transient_failures_then_succeeds() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    h.fault(json!({"path": FEE, "kind": "status", "status": 500, "times": 2}))
        .await;
    let id = submit(&h, &conn, fee_input()).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 3);
    assert_eq!(h.provider_calls(FEE).await, 3);
    h.stop().await;
}

#[tokio::test]
async fn honours_retry_after_on_429() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    h.fault(json!({"path": FEE, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    let started = std::time::Instant::now();
    let id = submit(&h, &conn, fee_input()).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2);
    // Backoff is 50-200 ms in tests; only Retry-After explains a second's wait.
    assert!(started.elapsed() >= Duration::from_secs(1));
    h.stop().await;
}

#[tokio::test]
async fn non_retryable_provider_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let mut input = fee_input();
    input["toDistrictId"] = json!(999_999);
    let id = submit(&h, &conn, input).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["error"]["retryable"], false);
    assert_eq!(h.provider_calls(FEE).await, 1);

    // A rejected token is not retried either, and never echoed.
    h.call(
        Method::PATCH,
        &format!("/connections/{conn}"),
        "t1",
        Some(json!({"credentials": {"apiKey": "ghn-bad-token-9"}})),
    )
    .await;
    let id = submit(&h, &conn, fee_input()).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["error"]["code"], "PROVIDER_AUTH_FAILED", "{done}");
    assert_eq!(done["attempts"], 1);
    assert!(!done.to_string().contains("ghn-bad-token-9"));
    h.stop().await;
}

#[tokio::test]
async fn gives_up_after_max_attempts_and_times_out() {
    let h = Harness::start_with(
        FakeConfig::default(),
        // Six failures in a row: a breaker opened by the fifth would only slow the test down.
        &[
            "--max-attempts",
            "3",
            "--action-timeout-cap-ms",
            "300",
            "--breaker-failure-threshold",
            "10",
        ],
    )
    .await;
    let conn = h.create_connection("t1").await;
    h.fault(json!({"path": FEE, "kind": "status", "status": 503, "times": 3}))
        .await;
    let id = submit(&h, &conn, fee_input()).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 3);
    assert_eq!(done["error"]["code"], "PROVIDER_UNAVAILABLE");
    assert_eq!(h.provider_calls(FEE).await, 3);

    h.fault(json!({"path": FEE, "kind": "delay", "delayMs": 2000, "times": 3}))
        .await;
    let id = submit(&h, &conn, fee_input()).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "timed_out", "{done}");
    assert_eq!(done["error"]["code"], "PROVIDER_TIMEOUT");
    assert_eq!(done["attempts"], 3);
    h.stop().await;
}

#[tokio::test]
async fn dead_letters_what_the_queue_gives_up_on() {
    // A queue that gives up before the engine does (3 receives, 10 attempts).
    let h = Harness::start_with(
        FakeConfig::default(),
        &["--max-receive-count", "3", "--max-attempts", "10"],
    )
    .await;
    let conn = h.create_connection("t1").await;
    h.fault(json!({"path": FEE, "kind": "status", "status": 500, "times": 50}))
        .await;
    let id = submit(&h, &conn, fee_input()).await;
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "dead_lettered", "{done}");
    assert_eq!(done["error"]["code"], "DEAD_LETTERED");
    assert_eq!(h.provider_calls(FEE).await, 3);

    // Fixed at the provider: the redrive command brings it back and it succeeds.
    h.http
        .delete(format!("{}/__faults", h.fake_root()))
        .send()
        .await
        .expect("clear faults");
    let redrive = DeadLetterAction::Redrive {
        message_ids: vec![],
        body_file: None,
        max: 100,
    };
    // The service's sweeper may hold the dead letter for a second: ask again until it is ours.
    let mut redriven = 0;
    for _ in 0..20 {
        redriven = dispatcher::dead_letters::run(&h.backend, &redrive)
            .await
            .expect("redrive");
        if redriven > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(redriven, 1);
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // A poison message is never lost: it lands in the dead-letter queue.
    h.backend
        .queue
        .send(&[OutgoingMessage {
            body: "{not an execution request".into(),
            execution_id: String::new(),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: None,
        }])
        .await
        .expect("send");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let dead = h
            .backend
            .queue
            .receive_dead_letters(10, Duration::from_millis(100))
            .await
            .expect("dead letters");
        if dead.iter().any(|d| d.body.starts_with("{not an execution")) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison message not dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    h.stop().await;
}

fn request(conn: &str, input: Value) -> ExecutionRequest {
    ExecutionRequest {
        version: 1,
        execution_id: new_id(),
        tenant_id: "t1".into(),
        connection_id: conn.to_string(),
        action_id: "calculate_fee".into(),
        input,
        caller_service: Some("webhooks".into()),
        caller_ref: None,
        callback_url: None,
        submitted_at: now(),
    }
}

fn message(r: &ExecutionRequest) -> OutgoingMessage {
    OutgoingMessage {
        body: serde_json::to_string(r).expect("serialize"),
        execution_id: r.execution_id.clone(),
        delay: Duration::ZERO,
        trace_parent: None,
        fair_group: Some(r.tenant_id.clone()),
    }
}

#[tokio::test]
async fn producers_publish_straight_to_the_queue_and_duplicates_run_once() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let r = request(&conn, fee_input());
    // The same message delivered three times, at once.
    let m = message(&r);
    h.backend
        .queue
        .send(&[m.clone(), m.clone(), m])
        .await
        .expect("send");
    let done = h.wait_terminal("t1", &r.execution_id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["callerService"], "webhooks");
    // Let the duplicates be received and dropped.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.provider_calls(FEE).await, 1);
    assert_eq!(done["attempts"], 1);

    // Bad input from a producer fails cleanly, without a provider call.
    let bad = request(&conn, json!({"weight": "heavy"}));
    h.backend.queue.send(&[message(&bad)]).await.expect("send");
    let done = h.wait_terminal("t1", &bad.execution_id).await;
    assert_eq!(done["status"], "failed");
    assert_eq!(done["error"]["code"], "VALIDATION_FAILED");
    assert_eq!(h.provider_calls(FEE).await, 1);
    h.stop().await;
}

#[tokio::test]
async fn a_restart_with_work_queued_and_in_flight_loses_nothing() {
    let fake = FakeConfig {
        latency: Duration::from_millis(300),
        ..FakeConfig::default()
    };
    let mut h = Harness::start_with(fake, &["--concurrency", "4"]).await;
    let conn = h.create_connection("t1").await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(submit(&h, &conn, fee_input()).await);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    h.restart().await;
    for id in &ids {
        let done = h.wait_terminal("t1", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    assert_eq!(h.provider_calls(FEE).await, 20, "each executed once");
    h.stop().await;
}

#[tokio::test]
async fn rate_limits_delay_without_failing_or_counting_attempts() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let limit = h
        .call(
            Method::GET,
            "/catalog/shipping-ghn/actions/get_provinces",
            "t1",
            None,
        )
        .await
        .1["rateLimit"]
        .as_u64()
        .expect("get_provinces has a rate limit");
    // Five more than the burst, submitted at once: the bucket refills one token a second, so
    // unless the first 60 take seconds to run (a loaded machine), some have to wait for it.
    let submit = || async {
        let (s, b) = h
            .execute(
                "t1",
                json!({"connectionId": conn, "actionId": "get_provinces", "input": {}}),
            )
            .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        b["executionId"].as_str().expect("id").to_string()
    };
    let ids: Vec<String> = futures::stream::iter(0..limit + 5)
        .map(|_| submit())
        .buffer_unordered(16)
        .collect()
        .await;
    for id in &ids {
        let done = h.wait_terminal("t1", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["attempts"], 1, "a delay is not an attempt");
    }
    let metrics = h.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("worker_delays_total")),
        "the limiter delayed someone: {metrics}"
    );
    h.stop().await;
}

/// `POST /execute` with an optional `traceparent` header; returns the execution id.
async fn submit_traced(h: &Harness, conn: &str, traceparent: Option<&str>) -> String {
    let mut req = h
        .http
        .post(format!("{}/execute", h.base))
        .bearer_auth(&h.key)
        .header("x-tenant-id", "t1")
        .json(&json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()}));
    if let Some(tp) = traceparent {
        req = req.header("traceparent", tp);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body: Value = resp.json().await.expect("JSON body");
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["executionId"].as_str().expect("id").to_string()
}

/// The `trace_id` field of the log line with `message` for execution `id`, waiting (bounded) for
/// the line to be written: the API may see the result before the worker logs it.
async fn logged_trace_id(logs: &LogBuffer, id: &str, message: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let needle = format!("execution_id={id}");
    loop {
        let contents = logs.contents();
        if let Some(line) = contents
            .lines()
            .find(|l| l.contains(&needle) && l.contains(message))
        {
            let (_, rest) = line
                .split_once("trace_id=")
                .unwrap_or_else(|| panic!("no trace_id in {line:?}"));
            return rest
                .trim_start_matches('"')
                .split(|c: char| !c.is_ascii_hexdigit())
                .next()
                .unwrap_or_default()
                .to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {message:?} log line for execution {id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_trace_context_travels_from_the_request_to_the_worker_logs() {
    let logs = capture_logs();
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");

    let traced = submit_traced(&h, &conn, Some(&traceparent)).await;
    let untraced = submit_traced(&h, &conn, None).await;
    let invalid = submit_traced(&h, &conn, Some("00-not-a-trace-01")).await;
    for id in [&traced, &untraced, &invalid] {
        let done = h.wait_terminal("t1", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }

    // The worker's log of the execution carries the caller's trace id, as does the API's.
    assert_eq!(
        logged_trace_id(&logs, &traced, "execution finished").await,
        trace_id
    );
    assert_eq!(
        logged_trace_id(&logs, &traced, "enqueueing execution").await,
        trace_id
    );
    // Without a valid header each execution starts a trace of its own.
    let fresh: Vec<String> = futures::future::join_all(
        [&untraced, &invalid].map(|id| logged_trace_id(&logs, id, "execution finished")),
    )
    .await;
    for t in &fresh {
        assert_eq!(t.len(), 32, "a trace id: {t:?}");
        assert_ne!(t, trace_id);
    }
    assert_ne!(fresh[0], fresh[1]);
    h.stop().await;
}

#[tokio::test]
async fn every_ghn_output_matches_its_output_schema_and_metrics_are_exported() {
    use integration_tests::order_input;
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let catalog = integrations_core::catalog::Catalog::embedded().expect("catalog");
    for (action, input) in [
        ("calculate_fee", fee_input()),
        ("create_order", order_input()),
    ] {
        let (_, b) = h
            .execute(
                "t1",
                json!({"connectionId": conn, "actionId": action, "input": input, "waitMs": 10000}),
            )
            .await;
        assert_eq!(b["status"], "succeeded", "{b}");
        // The stored output is sanitized (PII masked), the same shape.
        catalog
            .action("shipping-ghn", action)
            .expect("action")
            .validate_output(&b["output"])
            .unwrap_or_else(|e| panic!("{action}: {e}"));
    }
    let metrics = h.metrics().await;
    assert!(
        !metrics.contains("connector_output_mismatch_total"),
        "no mismatch counted: {metrics}"
    );
    // The operational metrics Prometheus users expect.
    for name in [
        "http_request_duration_seconds",
        "execution_duration_seconds",
        "provider_call_duration_seconds",
        "queue_depth_messages",
        "worker_executions_in_flight",
    ] {
        assert!(metrics.contains(name), "{name} exported: {metrics}");
    }
    h.stop().await;
}

#[tokio::test]
async fn rejected_credentials_stop_executions_until_the_connection_is_updated() {
    let h = Harness::start().await;
    let (_, c) = h
        .call(
            Method::POST,
            "/connections",
            "t1",
            Some(json!({"integrationId": "shipping-ghn", "name": "typo",
                "config": {"shopId": integration_tests::SHOP_ID},
                "credentials": {"apiKey": "wrong-token"}})),
        )
        .await;
    let conn = c["connectionId"].as_str().expect("connection").to_string();
    let run = |body: Value| async { h.execute("t1", body).await.1 };
    let body = json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(),
                      "waitMs": 10000});
    let first = run(body.clone()).await;
    assert_eq!(first["error"]["code"], "PROVIDER_AUTH_FAILED", "{first}");
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{conn}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error", "{c}");
    assert!(
        c["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("PROVIDER_AUTH_FAILED")),
        "{c}"
    );

    // Fail fast: refused at submission, and the provider is not asked again.
    let calls = h.provider_calls("/v2/shipping-order/fee").await;
    let (status, refused) = h.execute("t1", body.clone()).await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "CONNECTION_CREDENTIALS_REJECTED");
    assert_eq!(refused["error"]["retryable"], false);
    assert_eq!(h.provider_calls("/v2/shipping-order/fee").await, calls);

    // New credentials: the connection is active again and executions run.
    let (status, c) = h
        .call(
            Method::PATCH,
            &format!("/connections/{conn}"),
            "t1",
            Some(json!({"credentials": {"apiKey": integration_tests::TOKEN}})),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{c}");
    assert_eq!(c["status"], "active");
    let ok = run(body).await;
    assert_eq!(ok["status"], "succeeded", "{ok}");
    h.stop().await;
}

async fn retries_counted(h: &Harness, code: &str) -> f64 {
    h.metric(&format!("executions_retried_total{{code=\"{code}\"}}"))
        .await
}

/// Every provider fault of issue 10's list, one at a time on a read (calculate fee), then the
/// same call answered: its documented classification decides whether it is retried (and ends
/// `succeeded` on the second attempt) or ends at once. Writes whose answer is lost are in the
/// connectors' `*lost*` tests; a refused connection (nothing sent) in `connectors` `http` tests.
#[tokio::test]
async fn every_provider_fault_ends_as_documented() {
    let h = Harness::start_with(FakeConfig::default(), &["--action-timeout-cap-ms", "500"]).await;
    let conn = h.create_connection("t1").await;
    // (fault, final status, attempts, the first attempt's error code)
    let cases = [
        (
            json!({"kind": "status", "status": 500}),
            "succeeded",
            2,
            "PROVIDER_UNAVAILABLE",
        ),
        (
            json!({"kind": "status", "status": 502}),
            "succeeded",
            2,
            "PROVIDER_UNAVAILABLE",
        ),
        (
            json!({"kind": "status", "status": 503, "retryAfterSecs": 1}),
            "succeeded",
            2,
            "PROVIDER_UNAVAILABLE",
        ),
        (
            json!({"kind": "rate_limit", "retryAfterSecs": 1}),
            "succeeded",
            2,
            "PROVIDER_RATE_LIMITED",
        ),
        (
            json!({"kind": "rate_limit"}),
            "succeeded",
            2,
            "PROVIDER_RATE_LIMITED",
        ),
        // Slower than the 500 ms cap: a timeout (the fake still acts, as a real one would).
        (
            json!({"kind": "delay", "delayMs": 1500}),
            "succeeded",
            2,
            "PROVIDER_TIMEOUT",
        ),
        // The connection reset after the request was sent.
        (json!({"kind": "drop"}), "succeeded", 2, "NETWORK_ERROR"),
        (
            json!({"kind": "malformed"}),
            "succeeded",
            2,
            "PROVIDER_BAD_RESPONSE",
        ),
        // Larger than the 1 MiB cap: not read further, and not asked again (it would be as large).
        (
            json!({"kind": "oversize"}),
            "failed",
            1,
            "PROVIDER_BAD_RESPONSE",
        ),
        // HTTP 200 with GHN's error envelope: classified by its code, a business error ends.
        (
            json!({"kind": "envelope", "code": 400, "message": "Sai thông tin", "codeMessage": "USER_ERR_COMMON"}),
            "failed",
            1,
            "PROVIDER_REJECTED",
        ),
        (
            json!({"kind": "envelope", "code": 500, "message": "Hệ thống đang bận"}),
            "succeeded",
            2,
            "PROVIDER_UNAVAILABLE",
        ),
    ];
    for (fault, status, attempts, first_error) in cases {
        let mut fault = fault;
        fault["path"] = json!(FEE);
        h.fault(fault.clone()).await;
        let retried_before = retries_counted(&h, first_error).await;
        let started = std::time::Instant::now();
        let id = submit(&h, &conn, fee_input()).await;
        let done = h.wait_terminal("t1", &id).await;
        assert_eq!(done["status"], status, "{fault}: {done}");
        assert_eq!(done["attempts"], attempts, "{fault}: {done}");
        if status == "failed" {
            assert_eq!(done["error"]["code"], first_error, "{fault}: {done}");
            assert_eq!(done["error"]["retryable"], false, "{fault}: {done}");
        } else {
            // The first attempt's error, as classified, is what the retry was counted under.
            assert_eq!(
                retries_counted(&h, first_error).await,
                retried_before + 1.0,
                "{fault} retried as {first_error}"
            );
        }
        if fault.get("retryAfterSecs").is_some() {
            // Backoff is 50-200 ms in tests; only Retry-After explains a second's wait.
            assert!(started.elapsed() >= Duration::from_secs(1), "{fault}");
        }
    }
    h.stop().await;
}
