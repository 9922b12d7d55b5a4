//! infra/template.yaml, created as a CloudFormation stack in moto (by infra/moto_stack.py, with
//! boto3), serves the backend: the names match `AwsConfig::with_prefix`, the RedrivePolicy is
//! there, and every store, the queue and the bus work on it.

use std::time::Duration;

use backend_aws::testing::{moto, PYTHON_ENV};
use backend_aws::AwsConfig;
use integrations_core::backend::{
    ClaimOutcome, ConnectionFilter, CreateOutcome, ExecutionFilter, Lease, OutgoingMessage,
};
use integrations_core::callbacks::{AttemptOutcome, CallbackAttempt};
use integrations_core::completion::Completion;
use integrations_core::conformance::{fresh_tenant, sample_connection, sample_execution};
use integrations_core::model::{now, ExecutionStatus, ResultEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloudformation_stack_serves_the_backend() {
    let moto = moto().await;
    let prefix = format!("cfn-{}", ulid::Ulid::new().to_string().to_lowercase());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/moto_stack.py");
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args([script, moto.url(), &prefix, "2"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "stack creation failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let config = AwsConfig::with_prefix(&prefix).for_emulator(moto.url());
    let (b, handle) = backend_aws::open(&config)
        .await
        .expect("open the stack's resources");
    let policy = handle
        .queue_check()
        .redrive_policy
        .clone()
        .expect("RedrivePolicy");
    assert_eq!(policy.max_receive_count, 2);
    assert!(handle.warnings().is_empty(), "{:?}", handle.warnings());

    let message = OutgoingMessage {
        body: "{}".into(),
        execution_id: "e1".into(),
        delay: Duration::ZERO,
        trace_parent: None,
    };
    b.queue.send(&[message]).await.expect("send");
    let got = b
        .queue
        .receive(10, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    b.queue
        .delete(&[got[0].receipt.clone()])
        .await
        .expect("delete");

    let tenant = fresh_tenant();
    let connection = sample_connection(&tenant, now());
    b.connections
        .create_connection(&connection)
        .await
        .expect("connection");
    let by_integration = ConnectionFilter {
        integration_id: Some(connection.integration_id.clone()),
        status: None,
    };
    let listed = b
        .connections
        .list_connections(&tenant, &by_integration)
        .await;
    assert_eq!(listed.expect("list connections"), vec![connection]);

    let e = sample_execution(&tenant, now());
    let created = b
        .executions
        .create_execution(&e, None)
        .await
        .expect("create");
    assert_eq!(created, CreateOutcome::Created);
    let lease = Lease {
        owner: "w".into(),
        until: now() + chrono::Duration::seconds(30),
    };
    let claimed = match b
        .executions
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
    {
        Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
        other => panic!("claim: {other:?}"),
    };
    let done = integrations_core::model::Execution {
        status: ExecutionStatus::Succeeded,
        finished_at: Some(now()),
        ..claimed
    };
    let event = ResultEvent::for_execution(&done).expect("event");
    assert!(b
        .executions
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            Some("w")
        )
        .await
        .expect("complete"));
    let pending = b.executions.outbox_pending(10).await.expect("pending");
    assert_eq!(pending, vec![event.clone()]);
    let page = b
        .executions
        .list_executions(&tenant, &ExecutionFilter::default())
        .await
        .expect("list executions");
    assert_eq!(page.items, vec![done]);
    assert!(b
        .events
        .publish(&pending)
        .await
        .expect("publish")
        .is_empty());
    b.executions
        .outbox_remove(&[event.event_id])
        .await
        .expect("remove");

    // A callback, through the template's DueCallbacks index.
    let mut e = sample_execution(&tenant, now());
    e.callback_url = Some("https://example.com/cb".into());
    b.executions
        .create_execution(&e, None)
        .await
        .expect("create");
    let claimed = match b
        .executions
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
    {
        Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
        other => panic!("claim: {other:?}"),
    };
    let done = Completion::new(claimed, Ok(serde_json::json!({})), None);
    assert!(b
        .executions
        .complete_execution(&done, Some("w"))
        .await
        .expect("complete"));
    let due = b
        .callbacks
        .claim_due_callbacks(now(), &lease, 10)
        .await
        .expect("claim due callbacks");
    assert_eq!(due.len(), 1);
    let attempt = CallbackAttempt {
        at: now(),
        status_code: Some(204),
        duration_ms: 1,
        error: None,
    };
    assert!(b
        .callbacks
        .record_callback_attempt(&due[0], &attempt, &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
}
