//! The `integrations` command as a real process: create-key, serve, SIGKILL mid-action, restart,
//! SIGTERM; a callback whose deliverer was killed is delivered after the restart.

use std::process::{Command, Stdio};
use std::time::Duration;

use fake_provider::FakeConfig;
use integration_tests::{
    fee_input, order_input, spawn_reading_first_line, ApiClient, KillOnDrop, SHOP_ID, TOKEN,
};
use reqwest::Method;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");

fn common_args(dir: &std::path::Path, provider: &str) -> Vec<String> {
    vec![
        "--data-dir".into(),
        dir.display().to_string(),
        "--allow-private-urls".into(),
        "--provider-base-url".into(),
        format!("shipping-ghn={provider}"),
    ]
}

/// `integrations serve` as a process, and a client for its API.
fn serve(dir: &std::path::Path, provider: &str, key: &str) -> (KillOnDrop, ApiClient) {
    serve_with(dir, provider, key, &[])
}

fn serve_with(
    dir: &std::path::Path,
    provider: &str,
    key: &str,
    extra: &[&str],
) -> (KillOnDrop, ApiClient) {
    let mut command = Command::new(BIN);
    command
        .args(common_args(dir, provider))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--lease-ms",
            "2000",
            "--concurrency",
            "6",
            "--backoff-base-ms",
            "50",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::inherit());
    let (child, line) = spawn_reading_first_line(&mut command);
    let base = line
        .strip_prefix("integrations listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    let api = ApiClient {
        http: reqwest::Client::new(),
        base,
        key: key.to_string(),
    };
    (child, api)
}

#[tokio::test]
async fn killed_mid_action_then_restarted_finishes_everything_once() {
    let fake = fake_provider::start(FakeConfig {
        latency: Duration::from_millis(800),
        token: TOKEN.into(),
        shop_id: SHOP_ID,
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = fake.base_url();

    let out = Command::new(BIN)
        .args(common_args(dir.path(), &provider))
        .args(["create-key", "--caller-service", "flows", "--tenants", "t1"])
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
    assert!(key.starts_with("isk_"));

    let (mut first, api) = serve(dir.path(), &provider, &key);
    let conn = api
        .call(
            Method::POST,
            "/connections",
            Some(json!({
                "integrationId": "shipping-ghn", "name": "shop",
                "config": {"shopId": SHOP_ID}, "credentials": {"apiKey": TOKEN}
            })),
        )
        .await["connectionId"]
        .as_str()
        .expect("connection")
        .to_string();

    let mut ids = Vec::new();
    for i in 0..10 {
        let (action, input) = if i % 2 == 0 {
            ("calculate_fee", fee_input())
        } else {
            ("create_order", order_input())
        };
        let b = api
            .call(
                Method::POST,
                "/execute",
                Some(json!({"connectionId": conn, "actionId": action, "input": input})),
            )
            .await;
        ids.push(
            b["executionId"]
                .as_str()
                .unwrap_or_else(|| panic!("{b}"))
                .to_string(),
        );
    }
    // Six are at the provider, four queued: kill the process under them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill();

    let (mut second, api) = serve(dir.path(), &provider, &key);
    for id in &ids {
        let e = api.terminal(id).await;
        assert_eq!(e["status"], "succeeded", "{e}");
    }
    assert_eq!(
        fake.stats().orders_created,
        5,
        "one order per create_order execution, even re-run"
    );

    // SIGTERM: a clean exit.
    let pid = second.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = second.0.wait().expect("exit");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}

#[tokio::test]
async fn a_callback_survives_its_deliverer_being_killed() {
    let fake = fake_provider::start(FakeConfig {
        token: TOKEN.into(),
        shop_id: SHOP_ID,
        ..FakeConfig::default()
    })
    .await
    .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let provider = fake.base_url();
    let out = Command::new(BIN)
        .args(common_args(dir.path(), &provider))
        .args(["create-key", "--caller-service", "flows", "--tenants", "t1"])
        .output()
        .expect("create-key");
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string();
    let (url, got) = integration_tests::hanging_receiver().await;
    // The attempt timeout is the window for the kill below (a busy CI machine needs seconds to
    // notice the attempt); the killed deliverer's lease, twice that, ends 10 s after its claim.
    let fast = ["--callback-timeout-ms", "5000"];

    let (mut first, api) = serve_with(dir.path(), &provider, &key, &fast);
    let conn = api
        .call(
            Method::POST,
            "/connections",
            Some(json!({
                "integrationId": "shipping-ghn", "name": "shop",
                "config": {"shopId": SHOP_ID}, "credentials": {"apiKey": TOKEN}
            })),
        )
        .await["connectionId"]
        .as_str()
        .expect("connection")
        .to_string();
    let b = api
        .call(
            Method::POST,
            "/execute",
            Some(json!({"connectionId": conn, "actionId": "calculate_fee",
                        "input": fee_input(), "callbackUrl": url})),
        )
        .await;
    let id = b["executionId"].as_str().expect("id").to_string();
    assert_eq!(api.terminal(&id).await["status"], "succeeded");
    // The first attempt is in flight at the receiver, which holds it: the terminal write is
    // done, the delivery is not. Kill the process now.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.lock().expect("got").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no first attempt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();

    let (_second, api) = serve_with(dir.path(), &provider, &key, &fast);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let e = loop {
        let e = api
            .call(Method::GET, &format!("/executions/{id}"), None)
            .await;
        if e["callback"]["status"] == "delivered" {
            break e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not redelivered: {e}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
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
        "the killed attempt, then the restarted one: {ids:?}"
    );
    assert_eq!(ids[0], ids[1], "the same webhook-id");
    // The killed attempt left no record; the delivered one did.
    assert_eq!(
        e["callback"]["attempts"].as_array().map(Vec::len),
        Some(1),
        "{e}"
    );
}
