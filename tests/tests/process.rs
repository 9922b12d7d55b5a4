//! The `integrations` command as a real process: create-key, serve, SIGKILL mid-action, restart,
//! SIGTERM.

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
