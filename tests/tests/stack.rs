//! The fleet as the stack deploys it: infra/template.yaml created in moto's CloudFormation, then
//! `integrations api` and two `integrations worker` processes started as the stack's task
//! definitions start them (their command and environment, which name every resource; a prefix
//! that names nothing, so nothing is found by guessing). An execution succeeds, its result event
//! reaches the caller's queue through the stack's rule, and a poison message reaches the stack's
//! dead-letter queue. What moto cannot create (autoscaling, alarms, metric filters, resource
//! policies) is listed by `aws/tests/cloudformation.rs`, which checks the rest.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backend_aws::testing::{deploy_stack, moto, Container};
use fake_provider::FakeConfig;
use integration_tests::{fee_input, spawn_reading_first_line, ApiClient, SHOP_ID, TOKEN};
use integrations_core::model::new_id;
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");

/// The container's command line with what a test adds: the emulator, the fake provider.
fn command(c: &Container, endpoint: &str, provider: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.envs(&c.environment)
        .env("RUST_LOG", "warn")
        .args([
            "--aws-prefix",
            "not-the-stack",
            "--aws-emulator-endpoint",
            endpoint,
        ])
        .args(["--provider-base-url", &format!("shipping-ghn={provider}")])
        .args(extra)
        .stderr(Stdio::inherit());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_and_two_workers_run_on_exactly_what_the_stack_creates() {
    let moto = moto().await;
    let prefix = format!("stk-{}", new_id().to_lowercase());
    let stack = deploy_stack(moto.url(), &prefix, &[]);
    let fake = fake_provider::start(FakeConfig {
        token: TOKEN.into(),
        shop_id: SHOP_ID,
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let provider = fake.base_url();
    let api = &stack.containers["api"];
    let worker = &stack.containers["worker"];

    let out = command(
        api,
        moto.url(),
        &provider,
        &["create-key", "--caller-service", "flows"],
    )
    .args(["--tenants", "t1"])
    .output()
    .expect("create-key");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string();

    let mut api_args: Vec<&str> = api.command.iter().map(String::as_str).collect();
    api_args.extend(["--listen", "127.0.0.1:0"]);
    let (_api, line) =
        spawn_reading_first_line(&mut command(api, moto.url(), &provider, &api_args));
    let base = line
        .strip_prefix("integrations listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_string();
    let worker_args: Vec<&str> = worker.command.iter().map(String::as_str).collect();
    let _workers: Vec<_> = (0..2)
        .map(|_| {
            spawn_reading_first_line(&mut command(worker, moto.url(), &provider, &worker_args)).0
        })
        .collect();

    let client = ApiClient {
        http: reqwest::Client::new(),
        base,
        key,
    };
    let conn = client
        .call(
            Method::POST,
            "/connections",
            Some(json!({"integrationId": "shipping-ghn", "name": "stack",
                "config": {"shopId": SHOP_ID}, "credentials": {"apiKey": TOKEN}})),
        )
        .await["connectionId"]
        .as_str()
        .expect("connection")
        .to_string();
    let b = client
        .call(
            Method::POST,
            "/execute",
            Some(json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()})),
        )
        .await;
    let id = b["executionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"))
        .to_string();
    let done = client.terminal(&id).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // The result event reaches the example caller's queue through the stack's rule.
    let results = &stack.outputs["CallerResultsQueueUrl"];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let bodies = backend_aws::testing::receive_raw(moto.url(), results).await;
        let found = bodies.iter().any(|body| {
            serde_json::from_str::<Value>(body)
                .is_ok_and(|v| v["detail"]["executionId"] == id.as_str())
        });
        if found {
            break;
        }
        assert!(Instant::now() < deadline, "no result event in {results}");
    }

    // A poison message reaches the stack's dead-letter queue (max receive count 2).
    backend_aws::testing::send_raw(moto.url(), &stack.outputs["WorkQueueUrl"], "{\"broken\": ")
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = command(worker, moto.url(), &provider, &["dead-letters", "list"])
            .output()
            .expect("dead-letters list");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if String::from_utf8_lossy(&out.stdout).contains("broken") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the poison message never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
