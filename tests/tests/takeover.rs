//! A worker that lost its execution's lease while it ran (its heartbeat could not reach the
//! store in time, and another worker claimed the execution) leaves the message alone: the new
//! owner settles it. Acknowledging it would delete the new owner's message as well (SQS, and
//! moto, delete a message by any receipt handle it was ever received with), and had the new
//! owner then died, the execution would have stayed `running` forever, never delivered again.
//! The chaos run on moto found exactly that.

use std::sync::Arc;
use std::time::Duration;

use fake_provider::FakeConfig;
use integration_tests::{fee_input, Harness};
use integrations_core::backend::{ClaimOutcome, Delivery, Lease};
use integrations_core::catalog::Catalog;
use integrations_core::engine::{Disposition, Engine, EngineConfig};
use integrations_core::model::{new_id, now, ExecutionRequest, ExecutionStatus};

/// What the fake answers only after this long: time for the takeover while the call is out.
const PROVIDER_LATENCY: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_was_taken_over_leaves_the_message_to_the_new_owner() {
    let fake = FakeConfig {
        latency: PROVIDER_LATENCY,
        ..FakeConfig::default()
    };
    let h = Harness::start_with(fake, &[]).await;
    let conn = h.create_connection("t1").await;
    let settings = connectors::ConnectorSettings::new()
        .expect("HTTP client")
        .with_base_url("shipping-ghn", &h.fake.base_url());
    let engine = Engine::new(
        h.backend.clone(),
        Arc::new(Catalog::embedded().expect("catalog")),
        connectors::registry(&settings),
        EngineConfig {
            worker_id: "worker-slow".into(),
            ..EngineConfig::default()
        },
    );
    let request = ExecutionRequest {
        version: 1,
        execution_id: new_id(),
        tenant_id: "t1".into(),
        connection_id: conn,
        action_id: "calculate_fee".into(),
        input: fee_input(),
        caller_service: Some("flows".into()),
        caller_ref: None,
        callback_url: None,
        submitted_at: now(),
    };
    // Handed to this engine only: the harness's own worker never sees it.
    let delivery = Delivery {
        message_id: "m1".into(),
        receipt: "r1".into(),
        body: serde_json::to_string(&request).expect("serialize"),
        receive_count: 1,
        execution_id: Some(request.execution_id.clone()),
        trace_parent: None,
        fair_group: None,
    };
    let running = tokio::spawn(async move { engine.handle(&delivery).await });

    // Once the call is at the provider, the lease expires under the slow worker (as when its
    // heartbeat cannot reach the store) and a second worker claims the execution.
    let store = h.backend.executions.clone();
    let (tenant, id) = (request.tenant_id.clone(), request.execution_id.clone());
    while h.provider_calls("/v2/shipping-order/fee").await == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let db = rusqlite::Connection::open(h.dir.path().join("integrations.db")).expect("open");
    db.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    let expired = db
        .execute(
            "UPDATE executions SET lease_until = 0 WHERE tenant_id = ?1 AND execution_id = ?2",
            [&tenant, &id],
        )
        .expect("expire the lease");
    assert_eq!(expired, 1);
    let lease = Lease {
        owner: "worker-new".into(),
        until: now() + integrations_core::engine::chrono_duration(Duration::from_secs(300)),
    };
    let claim = store
        .claim_execution(&tenant, &id, &lease)
        .await
        .expect("claim");
    assert!(
        matches!(claim, ClaimOutcome::Claimed { .. }),
        "the second worker takes the execution over: {claim:?}"
    );

    // The slow worker's answer comes back: its result is refused, and the message is not
    // touched (neither deleted nor made visible earlier).
    let disposition = running.await.expect("engine task");
    assert_eq!(disposition, Disposition::Leave);
    let e = store
        .get_execution(&tenant, &id)
        .await
        .expect("read")
        .expect("recorded");
    assert_eq!(e.status, ExecutionStatus::Running);
    assert_eq!(e.attempts, 2);
    let owner: String = db
        .query_row(
            "SELECT lease_owner FROM executions WHERE tenant_id = ?1 AND execution_id = ?2",
            [&tenant, &id],
            |row| row.get(0),
        )
        .expect("lease owner");
    assert_eq!(owner, "worker-new");
    h.stop().await;
}
