//! The emulator stops mid-run and comes back: every call in between fails with a retryable
//! BACKEND_UNAVAILABLE (never a panic or a hang), and the same backend works again on the next
//! call once the stack is back.

use std::time::Duration;

use backend_aws::testing::spawn_moto;
use integrations_core::backend::{ConnectionFilter, OutgoingMessage};
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, secret_name, ResultEvent};
use integrations_core::{Error, ErrorKind};

fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, Error>) {
    let err = result.expect_err(what);
    assert_eq!(err.kind, ErrorKind::BackendUnavailable, "{what}: {err}");
    assert!(err.retryable, "{what}: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backend_recovers_after_the_emulator_restarts() {
    let mut moto = spawn_moto().await;
    let config = moto.provisioned().await;
    let (backend, _) = backend_aws::open(&config).await.expect("open");
    let tenant = fresh_tenant();
    let message = OutgoingMessage {
        body: "{}".into(),
        execution_id: "x".into(),
        delay: Duration::ZERO,
        trace_parent: None,
        fair_group: None,
    };
    backend
        .queue
        .send(std::slice::from_ref(&message))
        .await
        .expect("send");

    moto.stop();
    let mut done = sample_execution(&tenant, now());
    done.status = integrations_core::model::ExecutionStatus::Succeeded;
    let event: integrations_core::outbox::OutboxEvent =
        ResultEvent::for_execution(&done).expect("event").into();
    let secret = secret_name(&tenant, "c1");
    let no_filter = ConnectionFilter::default();
    // They fail rather than hang: the SDK's own timeouts and retries end every call, well within
    // this generous deadline.
    let calls = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(
            backend.queue.send(std::slice::from_ref(&message)),
            backend
                .queue
                .receive(10, Duration::from_secs(1), Duration::from_secs(30)),
            backend.executions.get_execution(&tenant, "x"),
            backend.connections.list_connections(&tenant, &no_filter),
            backend.events.publish(std::slice::from_ref(&event)),
            backend.secrets.get_secret(&secret),
            backend.api_keys.find_api_key("hash"),
        )
    });
    let (send, receive, get, list, publish, secret, key) =
        calls.await.expect("every call fails instead of hanging");
    assert_unavailable("send", send);
    assert_unavailable("receive", receive);
    assert_unavailable("get_execution", get);
    assert_unavailable("list_connections", list);
    assert_unavailable("publish", publish);
    assert_unavailable("get_secret", secret);
    assert_unavailable("find_api_key", key);

    // Back, empty (moto keeps nothing): provision again, then the same clients just work.
    moto.start().await;
    moto.provision(config.clone()).await;
    backend
        .queue
        .send(std::slice::from_ref(&message))
        .await
        .expect("send after restart");
    let got = backend.executions.get_execution(&tenant, "x").await;
    assert_eq!(got.expect("get after restart"), None);
    let failed = backend
        .events
        .publish(&[event])
        .await
        .expect("publish after restart");
    assert!(failed.is_empty());
    let received = backend
        .queue
        .receive(10, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive after restart");
    assert_eq!(received.len(), 1);
}
