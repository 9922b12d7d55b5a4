//! Durable callbacks end to end: the real service delivering to a local receiver, signatures
//! verified with the `standardwebhooks` crate (an implementation independent of ours), retries on
//! the schedule with every attempt recorded, exhaustion, 410, redelivery on demand, rotation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use integration_tests::{caller_secrets, fee_input, Harness};
use reqwest::Method;
use serde_json::{json, Value};

/// A local callback receiver answering each request with the next status of `answers` (the last
/// one repeats), recording what it got.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Self {
        let got: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let answers = Arc::new(answers.to_vec());
        let sink = got.clone();
        let app = axum::Router::new().route(
            "/cb",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let sink = sink.clone();
                let answers = answers.clone();
                async move {
                    let mut got = sink.lock().expect("sink");
                    got.push((headers, body));
                    let i = (got.len() - 1).min(answers.len() - 1);
                    StatusCode::from_u16(answers[i]).expect("status")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/cb", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, got }
    }

    fn requests(&self) -> Vec<(HeaderMap, String)> {
        self.got.lock().expect("sink").clone()
    }

    /// Wait until `n` requests arrived.
    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String)> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} callback requests arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Fast callback retries for tests.
const FAST_CALLBACKS: &[&str] = &["--callback-schedule-ms", "0,100,100"];

async fn submit(h: &Harness, url: &str) -> String {
    let (status, b) = h
        .execute(
            "t1",
            json!({"connectionId": h.create_connection("t1").await, "actionId": "calculate_fee",
                   "input": fee_input(), "callerRef": "agent-7", "callbackUrl": url}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{b}");
    b["executionId"].as_str().expect("id").to_string()
}

/// Poll the execution until its callback reaches `status`.
async fn callback_reaches(h: &Harness, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, e) = h
            .call(Method::GET, &format!("/executions/{id}"), "t1", None)
            .await;
        if e["callback"]["status"] == status {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "callback never {status}: {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn verifier(h: &Harness) -> Vec<standardwebhooks::Webhook> {
    let keys = caller_secrets(&h.backend)
        .keys("flows")
        .await
        .expect("keys");
    keys.all()
        .iter()
        .map(|s| standardwebhooks::Webhook::new(&s.to_string()).expect("secret"))
        .collect()
}

#[tokio::test]
async fn a_callback_is_signed_per_standard_webhooks_and_shown_on_the_execution() {
    let receiver = Receiver::start(&[204]).await;
    let h = Harness::start_with(Default::default(), FAST_CALLBACKS).await;
    let id = submit(&h, &receiver.url).await;
    let got = receiver.wait_for(1).await;
    let (headers, body) = &got[0];
    for wh in verifier(&h).await {
        wh.verify(body.as_bytes(), headers)
            .expect("the reference library verifies our signature");
    }
    assert_eq!(headers["webhook-id"], format!("msg_{id}").as_str());
    let payload: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(payload["executionId"], id.as_str());
    assert_eq!(payload["status"], "succeeded");
    assert_eq!(payload["success"], true);
    assert_eq!(payload["callerService"], "flows");
    assert_eq!(payload["callerRef"], "agent-7");
    assert!(payload["data"]["fee"].as_i64().is_some(), "{payload}");

    let e = callback_reaches(&h, &id, "delivered").await;
    assert_eq!(e["callback"]["url"], receiver.url.as_str());
    let attempts = e["callback"]["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{e}");
    assert_eq!(attempts[0]["statusCode"], 204);
    assert!(attempts[0]["durationMs"].is_u64() && attempts[0]["at"].is_string());
    // A tampered body does not verify.
    let tampered = body.replace("succeeded", "failed");
    assert!(verifier(&h).await[0]
        .verify(tampered.as_bytes(), headers)
        .is_err());
    h.stop().await;
}

#[tokio::test]
async fn a_receiver_that_answers_500_twice_gets_it_on_the_third_attempt() {
    let receiver = Receiver::start(&[500, 500, 200]).await;
    let h = Harness::start_with(Default::default(), FAST_CALLBACKS).await;
    let id = submit(&h, &receiver.url).await;
    let e = callback_reaches(&h, &id, "delivered").await;
    let codes: Vec<u64> = e["callback"]["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["statusCode"].as_u64().expect("code"))
        .collect();
    assert_eq!(codes, vec![500, 500, 200], "{e}");
    let got = receiver.requests();
    assert_eq!(got.len(), 3);
    // The same message on every attempt: receivers deduplicate on webhook-id.
    assert!(got
        .iter()
        .all(|(h, b)| h["webhook-id"] == got[0].0["webhook-id"] && b == &got[0].1));
    h.stop().await;
}

#[tokio::test]
async fn exhausted_callbacks_fail_publish_callback_failed_and_can_be_redelivered() {
    let receiver = Receiver::start(&[503, 503, 503, 204]).await;
    let h = Harness::start_with(Default::default(), FAST_CALLBACKS).await;
    let id = submit(&h, &receiver.url).await;
    let e = callback_reaches(&h, &id, "failed").await;
    assert_eq!(
        e["callback"]["attempts"].as_array().map(Vec::len),
        Some(3),
        "{e}"
    );
    assert_eq!(
        e["status"], "succeeded",
        "the execution itself stays succeeded"
    );

    // The CallbackFailed event reaches the bus (the embedded event log).
    let log = backend_embedded::EmbeddedBackend::open(&backend_embedded::EmbeddedConfig::new(
        h.dir.path().join("integrations.db"),
        backend_embedded::SecretKeySource::File(h.dir.path().join("secret.key")),
    ))
    .await
    .expect("open the same file");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = log.published_events(0, 1000).await.expect("events");
        let failed = events.iter().filter_map(|p| p.event.as_result()).any(|e| {
            e.execution_id == id
                && e.event_type == integrations_core::model::EventType::CallbackFailed
        });
        if failed {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no CallbackFailed event"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Redelivery on demand: a new round, and the receiver now answers 204.
    let (status, cb) = h
        .call(
            Method::POST,
            &format!("/executions/{id}/callback"),
            "t1",
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{cb}");
    assert_eq!(cb["status"], "pending");
    let e = callback_reaches(&h, &id, "delivered").await;
    assert_eq!(
        e["callback"]["attempts"].as_array().map(Vec::len),
        Some(4),
        "{e}"
    );

    // Another tenant cannot redeliver it; an execution without a callback has none.
    let (status, _) = h
        .call(
            Method::POST,
            &format!("/executions/{id}/callback"),
            "t2",
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    h.stop().await;
}

#[tokio::test]
async fn gone_stops_delivery_at_once() {
    let receiver = Receiver::start(&[410]).await;
    let h = Harness::start_with(Default::default(), FAST_CALLBACKS).await;
    let id = submit(&h, &receiver.url).await;
    let e = callback_reaches(&h, &id, "failed").await;
    assert_eq!(
        e["callback"]["attempts"].as_array().map(Vec::len),
        Some(1),
        "{e}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.requests().len(), 1, "410 is never retried");
    h.stop().await;
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_never_followed() {
    // The receiver answers 307 to another path of its own; following it would reach /cb again.
    let receiver = Receiver::start(&[307, 204]).await;
    let h = Harness::start_with(Default::default(), &["--callback-schedule-ms", "0,100"]).await;
    let id = submit(&h, &receiver.url).await;
    let e = callback_reaches(&h, &id, "delivered").await;
    let codes: Vec<u64> = e["callback"]["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["statusCode"].as_u64().expect("code"))
        .collect();
    assert_eq!(codes, vec![307, 204], "{e}");
    h.stop().await;
}

#[tokio::test]
async fn during_a_rotation_both_secrets_verify_every_callback() {
    let receiver = Receiver::start(&[204]).await;
    let h = Harness::start_with(Default::default(), FAST_CALLBACKS).await;
    let secrets = caller_secrets(&h.backend);
    let old = secrets.keys("flows").await.expect("keys").all();
    let next = secrets.rotate("flows").await.expect("rotate");
    submit(&h, &receiver.url).await;
    let got = receiver.wait_for(1).await;
    let (headers, body) = &got[0];
    for secret in old.iter().chain([&next]) {
        standardwebhooks::Webhook::new(&secret.to_string())
            .expect("secret")
            .verify(body.as_bytes(), headers)
            .expect("each secret alone verifies during a rotation");
    }
    let finished = secrets.finish_rotation("flows").await.expect("finish");
    assert_eq!(finished.to_string(), next.to_string());
    h.stop().await;
}
