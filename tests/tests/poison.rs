//! Poison and hostile messages on the work queue, on the embedded backend and on SQS (moto),
//! with one test body: invalid JSON, a wrong schema version, an unknown tenant, connection or
//! action, and an oversized body. None of them stops the worker or loops: each is either
//! acknowledged with its execution failed under a stable code, or left for the dead-letter
//! queue (whose sweep marks its execution `dead_lettered` when the body names one), and the
//! next good message runs.
//!
//! Which way each goes, and why:
//! - not JSON, wrong version, over 256 KiB: the decoder refuses the body, so nothing in it can
//!   be trusted to record a failure; the message goes back with the poison delay until the
//!   queue dead-letters it, where an operator can inspect and redrive it with a corrected body.
//!   A body over 256 KiB never gets onto the queue through our own clients (both backends
//!   refuse it at send, so the API answers 413); on SQS another producer can put one there.
//! - unknown tenant, connection or action: a well-formed request for something that does not
//!   exist. The worker records it (a producer may publish without the API) and fails it at
//!   once — `CONNECTION_NOT_FOUND` or `ACTION_NOT_FOUND`, not retryable — and acknowledges it:
//!   a redrive could not make it succeed.

use std::collections::BTreeSet;
use std::time::Duration;

use fake_provider::FakeConfig;
use integration_tests::{fee_input, Harness};
use integrations_core::backend::OutgoingMessage;
use integrations_core::catalog::Catalog;
use integrations_core::engine::{new_execution, MAX_MESSAGE_BYTES};
use integrations_core::model::{new_id, now, ExecutionRequest};
use integrations_core::ErrorKind;
use serde_json::{json, Value};

/// How a test producer puts a body on the work queue: through the backend, or straight into
/// SQS (both backends refuse bodies over 256 KiB at send; another SQS client need not, and
/// SQS takes up to 1 MiB, so on SQS the worker's own refusal is what is tested).
enum Producer {
    Backend,
    Sqs { endpoint: String, queue_url: String },
}

impl Producer {
    /// Whether the body reached the queue.
    async fn send(&self, h: &Harness, body: String, execution_id: &str) -> bool {
        let oversized = body.len() > MAX_MESSAGE_BYTES;
        if let (
            Self::Sqs {
                endpoint,
                queue_url,
            },
            true,
        ) = (self, oversized)
        {
            backend_aws::testing::send_raw(endpoint, queue_url, &body).await;
            return true;
        }
        let message = OutgoingMessage {
            body,
            execution_id: execution_id.to_string(),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: None,
        };
        match h.backend.queue.send(&[message]).await {
            Err(e) if oversized => {
                assert_eq!(e.kind, ErrorKind::PayloadTooLarge, "{e}");
                false
            }
            sent => {
                sent.expect("send");
                true
            }
        }
    }
}

fn request(tenant: &str, conn: &str, action: &str, input: Value) -> ExecutionRequest {
    ExecutionRequest {
        version: 1,
        execution_id: new_id(),
        tenant_id: tenant.into(),
        connection_id: conn.into(),
        action_id: action.into(),
        input,
        caller_service: Some("producer".into()),
        caller_ref: None,
        callback_url: None,
        submitted_at: now(),
    }
}

/// Record `r` as `queued` without a message, as an API whose enqueue was replaced by a
/// broken producer's would leave it.
async fn recorded(h: &Harness, r: &ExecutionRequest) {
    let catalog = Catalog::embedded().expect("catalog");
    let e = new_execution(&catalog, r, "shipping-ghn", None);
    h.backend
        .executions
        .create_execution(&e, None)
        .await
        .expect("record");
}

/// Poll the store (any tenant, no API key needed) until the execution is terminal.
async fn terminal(h: &Harness, tenant: &str, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let e = h
            .backend
            .executions
            .get_execution(tenant, id)
            .await
            .expect("read");
        if let Some(e) = e.filter(|e| e.status.is_terminal()) {
            return serde_json::to_value(e).expect("JSON");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{tenant}/{id} not terminal"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn poison_messages_never_stop_the_worker(h: &Harness, producer: Producer) {
    let conn = h.create_connection("t1").await;
    // Bodies the decoder refuses; two name an execution that exists.
    let invalid = format!("{{not json {}", new_id());
    let mut versioned = request("t1", &conn, "calculate_fee", fee_input());
    recorded(h, &versioned).await;
    versioned.version = 2;
    let mut oversized = request("t1", &conn, "calculate_fee", fee_input());
    recorded(h, &oversized).await;
    oversized.input["pad"] = json!("x".repeat(MAX_MESSAGE_BYTES));
    // Malformed and never recorded (a producer straight onto the queue): recorded at the
    // dead-letter sweep from its well-formed fields, so its producer hears of it.
    let mut stray = request("t1", &conn, "calculate_fee", fee_input());
    stray.version = 2;
    // Well-formed requests for what does not exist.
    let ghost_tenant = request("ghost-tenant", &conn, "calculate_fee", fee_input());
    let ghost_connection = request("t1", "no-such-connection", "calculate_fee", fee_input());
    let ghost_action = request("t1", &conn, "no_such_action", json!({}));

    assert!(producer.send(h, invalid.clone(), "").await);
    // Refused at send by our own clients (the embedded queue, as the API's enqueue would be);
    // on the queue when another producer put it there (SQS).
    let body = serde_json::to_string(&oversized).expect("JSON");
    let oversized_queued = producer.send(h, body, &oversized.execution_id).await;
    for r in [
        &versioned,
        &stray,
        &ghost_tenant,
        &ghost_connection,
        &ghost_action,
    ] {
        let body = serde_json::to_string(r).expect("JSON");
        assert!(producer.send(h, body, &r.execution_id).await);
    }
    // The next good message runs: nothing is stuck behind the poison.
    let good = request("t1", &conn, "calculate_fee", fee_input());
    producer
        .send(
            h,
            serde_json::to_string(&good).expect("JSON"),
            &good.execution_id,
        )
        .await;
    assert_eq!(
        terminal(h, "t1", &good.execution_id).await["status"],
        "succeeded"
    );

    for (r, code) in [
        (&ghost_tenant, "CONNECTION_NOT_FOUND"),
        (&ghost_connection, "CONNECTION_NOT_FOUND"),
        (&ghost_action, "ACTION_NOT_FOUND"),
    ] {
        let e = terminal(h, &r.tenant_id, &r.execution_id).await;
        assert_eq!(e["status"], "failed", "{e}");
        assert_eq!(e["error"]["code"], code, "{e}");
        assert_eq!(e["error"]["retryable"], false, "{e}");
        assert_eq!(e["attempts"], 1, "failed once, not retried: {e}");
    }

    // The refused bodies reach the dead-letter queue, and the executions they name end
    // `dead_lettered` (marked as the service's sweep and `dead-letters list` do).
    let mut want: BTreeSet<&str> = [
        invalid.as_str(),
        versioned.execution_id.as_str(),
        stray.execution_id.as_str(),
    ]
    .into();
    let mut dead_lettered = vec![&versioned, &stray];
    if oversized_queued {
        want.insert(oversized.execution_id.as_str());
        dead_lettered.push(&oversized);
    }
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut dead_bodies = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while seen.len() < want.len() {
        let dead = h
            .backend
            .queue
            .receive_dead_letters(10, Duration::from_millis(200))
            .await
            .expect("dead letters");
        for d in &dead {
            integrations_core::dead_letters::mark(&h.backend, d)
                .await
                .expect("mark");
            seen.extend(want.iter().copied().filter(|w| d.body.contains(*w)));
            dead_bodies.push(d.body.clone());
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead-lettered so far: {seen:?} of {want:?}"
        );
        if dead.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for r in dead_lettered {
        let e = terminal(h, "t1", &r.execution_id).await;
        assert_eq!(e["status"], "dead_lettered", "{e}");
        assert_eq!(e["error"]["code"], "DEAD_LETTERED", "{e}");
        assert_eq!(e["callerService"], "producer", "{e}");
    }
    let e = terminal(h, "t1", &stray.execution_id).await;
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("not a valid execution request"), "{e}");
    assert_eq!(e["integrationId"], "shipping-ghn", "{e}");
    // What was failed and acknowledged is not in the dead-letter queue too.
    for r in [&ghost_tenant, &ghost_connection, &ghost_action, &good] {
        assert!(
            !dead_bodies.iter().any(|b| b.contains(&r.execution_id)),
            "{} was dead-lettered as well",
            r.execution_id
        );
    }

    // Still running: a submission through the API after all of it succeeds.
    let (status, body) = h
        .execute(
            "t1",
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["status"], "succeeded", "{body}");
}

/// A receive limit of 3: refused bodies reach the dead-letter queue within seconds.
const FLAGS: &[&str] = &["--max-receive-count", "3"];

#[tokio::test]
async fn poison_messages_on_the_embedded_queue() {
    let h = Harness::start_with(FakeConfig::default(), FLAGS).await;
    poison_messages_never_stop_the_worker(&h, Producer::Backend).await;
    h.stop().await;
}

#[tokio::test]
async fn poison_messages_on_sqs() {
    let moto = backend_aws::testing::moto().await;
    let prefix = format!("poison-{}", new_id().to_lowercase());
    let mut flags = vec![
        "--backend",
        "aws",
        "--aws-prefix",
        &prefix,
        "--aws-emulator-endpoint",
        moto.url(),
        "--aws-provision",
    ];
    flags.extend_from_slice(FLAGS);
    let h = Harness::start_with(FakeConfig::default(), &flags).await;
    let queue_url = backend_aws::testing::queue_url(moto.url(), &format!("{prefix}-work")).await;
    let producer = Producer::Sqs {
        endpoint: moto.url().to_string(),
        queue_url,
    };
    poison_messages_never_stop_the_worker(&h, producer).await;
    h.stop().await;
}
