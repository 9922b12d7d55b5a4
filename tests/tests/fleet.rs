//! Fleet mode on the AWS backend (moto): the API and two separate worker processes share one SQS
//! queue, the DynamoDB tables, the event bus and Secrets Manager.

use std::collections::BTreeSet;
use std::time::Duration;

use fake_provider::{FakeConfig, Fault};
use integration_tests::fleet::Fleet;
use integration_tests::{fee_input, ApiClient, KillOnDrop, SHOP_ID, TOKEN};
use integrations_core::backend::OutgoingMessage;
use integrations_core::model::{new_id, now, ExecutionRequest};
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
const FEE: &str = "/v2/shipping-order/fee";

/// Where the fleet's processes find the fake GHN.
fn ghn(fake: &fake_provider::FakeProvider) -> Vec<String> {
    vec![
        "--provider-base-url".to_string(),
        format!("shipping-ghn={}", fake.base_url()),
    ]
}

#[tokio::test]
async fn api_and_two_workers_on_moto_run_everything_exactly_once() {
    let moto = backend_aws::testing::moto().await;
    let fake = fake_provider::start(FakeConfig {
        token: TOKEN.into(),
        shop_id: SHOP_ID,
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::on_moto(
        BIN,
        moto.url(),
        &ghn(&fake),
        dir.path(),
        &["--max-receive-count", "3"],
    );
    let key = fleet.provision_key();
    let (api_proc, base) = fleet.start_api();
    let worker_args = [
        "worker",
        "--concurrency",
        "16",
        "--lease-ms",
        // Long enough for moto, which applies DynamoDB requests one at a time, to keep up with
        // every other test of the suite; the kill below then waits this long for a takeover.
        "15000",
        "--backoff-base-ms",
        "200",
        "--poison-delay-ms",
        "1000",
    ];
    let mut workers: Vec<KillOnDrop> = (0..2).map(|_| fleet.spawn(&worker_args).0).collect();

    let api = ApiClient {
        http: reqwest::Client::new(),
        base,
        key,
    };
    let conn = api.create_ghn_connection("t1", "fleet").await;

    // 200 executions through the API, 20 at a time.
    let mut ids = Vec::new();
    for _ in 0..10 {
        let batch = (0..20).map(|_| {
            api.call(
                Method::POST,
                "/execute",
                Some(json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()})),
            )
        });
        for b in futures::future::join_all(batch).await {
            ids.push(
                b["executionId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{b}"))
                    .to_string(),
            );
        }
    }
    for id in &ids {
        let e = api.terminal(id).await;
        assert_eq!(e["status"], "succeeded", "{e}");
        assert_eq!(e["attempts"], 1, "{e}");
    }
    assert_eq!(
        BTreeSet::from_iter(&ids).len(),
        200,
        "200 distinct executions"
    );
    assert_eq!(
        fake.stats().calls(FEE),
        200,
        "the provider was called once per execution"
    );

    // A poison message lands in the DLQ through the redrive policy; the redrive command brings
    // back a corrected one, which then runs.
    let config = backend_aws::AwsConfig::with_prefix(fleet.prefix.as_deref().expect("on moto"))
        .for_emulator(moto.url());
    let (backend, _) = backend_aws::open(&config).await.expect("open");
    backend
        .queue
        .send(&[OutgoingMessage {
            body: "{\"version\": 1, \"broken\": ".into(),
            execution_id: String::new(),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: None,
        }])
        .await
        .expect("send poison");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let message_id = loop {
        let listed = fleet.run(&["dead-letters", "list"]);
        if let Some(line) = listed.lines().find(|l| l.contains("broken")) {
            let v: Value = serde_json::from_str(line).expect("JSON line");
            break v["messageId"].as_str().expect("id").to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison never dead-lettered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let fixed = ExecutionRequest {
        version: 1,
        execution_id: new_id(),
        tenant_id: "t1".into(),
        connection_id: conn.clone(),
        action_id: "calculate_fee".into(),
        input: fee_input(),
        caller_service: Some("repair".into()),
        caller_ref: None,
        callback_url: None,
        submitted_at: now(),
    };
    let fixed_path = dir.path().join("fixed.json");
    std::fs::write(&fixed_path, serde_json::to_string(&fixed).expect("json")).expect("write");
    let mut redriven = String::new();
    for _ in 0..20 {
        redriven = fleet.run(&[
            "dead-letters",
            "redrive",
            "--message-id",
            &message_id,
            "--body-file",
            &fixed_path.display().to_string(),
        ]);
        if redriven.trim() == "redriven 1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(redriven.trim(), "redriven 1");
    let e = api.terminal(&fixed.execution_id).await;
    assert_eq!(e["status"], "succeeded", "{e}");

    // A worker killed with SIGKILL mid-action loses nothing: the other takes over when the
    // lease and the message's visibility expire.
    fake.inject(Fault::delay(Duration::from_millis(2500)).on(FEE).times(8))
        .expect("fault");
    let mut slow = Vec::new();
    for _ in 0..8 {
        let b = api
            .call(
                Method::POST,
                "/execute",
                Some(json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()})),
            )
            .await;
        slow.push(b["executionId"].as_str().expect("id").to_string());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    workers[0].kill();
    for id in &slow {
        let e = api.terminal(id).await;
        assert_eq!(e["status"], "succeeded", "{e}");
    }
    drop(workers);
    drop(api_proc);
}

#[tokio::test]
async fn a_callback_whose_deliverer_was_killed_is_delivered_by_another_worker_on_moto() {
    let moto = backend_aws::testing::moto().await;
    let fake = fake_provider::start(FakeConfig {
        token: TOKEN.into(),
        shop_id: SHOP_ID,
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::on_moto(
        BIN,
        moto.url(),
        &ghn(&fake),
        dir.path(),
        &["--allow-private-urls"],
    );
    let key = fleet.provision_key();
    let (_api_proc, base) = fleet.start_api();
    // The attempt timeout is the window for the kill below (a busy CI machine needs seconds to
    // notice the attempt); the killed deliverer's lease, twice that, ends 10 s after its claim.
    let worker_args = [
        "worker",
        "--concurrency",
        "4",
        "--callback-timeout-ms",
        "5000",
    ];
    let (mut first, _) = fleet.spawn(&worker_args);
    let api = ApiClient {
        http: reqwest::Client::new(),
        base,
        key,
    };
    let conn = api.create_ghn_connection("t1", "fleet").await;
    let (url, got) = integration_tests::hanging_receiver().await;
    let b = api
        .call(
            Method::POST,
            "/execute",
            Some(json!({"connectionId": conn, "actionId": "calculate_fee",
                        "input": fee_input(), "callbackUrl": url})),
        )
        .await;
    let id = b["executionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"))
        .to_string();
    assert_eq!(api.terminal(&id).await["status"], "succeeded");
    // The first worker's attempt hangs at the receiver: kill it there.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while got.lock().expect("got").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no first attempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();

    let (_second, _) = fleet.spawn(&worker_args);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let e = loop {
        let e = api
            .call(Method::GET, &format!("/executions/{id}"), None)
            .await;
        if e["callback"]["status"] == "delivered" {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "not delivered: {e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let ids: Vec<String> = got
        .lock()
        .expect("got")
        .iter()
        .map(|r| r.webhook_id.clone())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "the killed attempt, then the other worker's: {ids:?}"
    );
    assert_eq!(ids[0], ids[1], "the same webhook-id");
    assert_eq!(
        e["callback"]["attempts"].as_array().map(Vec::len),
        Some(1),
        "{e}"
    );
}
