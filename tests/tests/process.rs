//! The `integrations` command as a real process: create-key, serve, SIGKILL mid-action, restart,
//! SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use fake_provider::FakeConfig;
use integration_tests::{fee_input, order_input, KillOnDrop, SHOP_ID, TOKEN};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");

struct Service {
    child: KillOnDrop,
    base: String,
}

fn common_args(dir: &std::path::Path, provider: &str) -> Vec<String> {
    vec![
        "--data-dir".into(),
        dir.display().to_string(),
        "--allow-private-urls".into(),
        "--provider-base-url".into(),
        format!("shipping-ghn={provider}"),
    ]
}

fn serve(dir: &std::path::Path, provider: &str) -> Service {
    let mut args = common_args(dir, provider);
    args.extend(
        [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--lease-ms",
            "2000",
            "--concurrency",
            "6",
            "--backoff-base-ms",
            "50",
        ]
        .map(String::from),
    );
    let mut child = Command::new(BIN)
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn service");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read address line");
    let base = line
        .trim()
        .strip_prefix("integrations listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    Service {
        child: KillOnDrop(child),
        base,
    }
}

async fn call(
    http: &reqwest::Client,
    s: &Service,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(key)
        .header("x-tenant-id", "t1");
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
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

    let mut args = common_args(dir.path(), &provider);
    args.extend(["create-key", "--caller-service", "flows", "--tenants", "t1"].map(String::from));
    let out = Command::new(BIN).args(&args).output().expect("create-key");
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

    let http = reqwest::Client::new();
    let mut first = serve(dir.path(), &provider);
    let conn = call(
        &http,
        &first,
        &key,
        reqwest::Method::POST,
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
        let b = call(
            &http,
            &first,
            &key,
            reqwest::Method::POST,
            "/execute",
            Some(json!({
                "connectionId": conn, "actionId": action, "input": input
            })),
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
    first.child.kill();

    let mut second = serve(dir.path(), &provider);
    for id in &ids {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let e = call(
                &http,
                &second,
                &key,
                reqwest::Method::GET,
                &format!("/executions/{id}?waitMs=5000"),
                None,
            )
            .await;
            let status = e["status"].as_str().unwrap_or_default().to_string();
            if status != "queued" && status != "running" {
                assert_eq!(status, "succeeded", "{e}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} stuck: {e}");
        }
    }
    let stats = fake.stats();
    assert_eq!(
        stats.orders_created, 5,
        "one order per create_order execution, even re-run"
    );

    // SIGTERM: a clean exit.
    let pid = second.child.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = second.child.0.wait().expect("exit");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}
