//! No credential in any API response, callback body, log line or stored record of a full run,
//! on the embedded backend (every file of its data directory) and on AWS (every DynamoDB item
//! of the run's tables on moto); PII masked in what is stored. The credentials: the
//! connection's provider tokens (the first and a rotated one), the API key, and the caller
//! service's callback signing secret.

use std::time::Duration;

use fake_provider::FakeConfig;
use integration_tests::{caller_secrets, capture_logs, fee_input, order_input, Harness, TOKEN};
use integrations_core::model::new_id;
use reqwest::Method;
use serde_json::json;

const ROTATED: &str = "ghn-rotated-secret-31337";

/// What a run left behind to scan besides the store.
struct Run {
    responses: String,
    callbacks: String,
    /// Every credential the run used.
    secrets: Vec<String>,
}

/// Successes, a provider failure, a test failure, a rotation, callbacks of a success and of a
/// failure; then checks that stored executions keep masked PII only.
async fn full_run(h: &Harness) -> Run {
    let (callback_url, callbacks) = integration_tests::recording_receiver().await;
    let conn = h.create_connection("t1").await;

    let (_, fee) = h
        .execute("t1", json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000, "callbackUrl": callback_url}))
        .await;
    assert_eq!(fee["status"], "succeeded", "{fee}");
    let (_, order) = h
        .execute("t1", json!({"connectionId": conn, "actionId": "create_order", "input": order_input(), "waitMs": 10_000}))
        .await;
    assert_eq!(order["status"], "succeeded", "{order}");
    h.call(
        Method::PATCH,
        &format!("/connections/{conn}"),
        "t1",
        Some(json!({"credentials": {"apiKey": ROTATED}})),
    )
    .await;
    let (_, failed) = h
        .execute("t1", json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000, "callbackUrl": callback_url}))
        .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    h.call(
        Method::POST,
        &format!("/connections/{conn}/test"),
        "t1",
        None,
    )
    .await;
    // The rejected credentials now stop executions at submission, with a message of its own.
    let (_, refused) = h
        .execute("t1", json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000}))
        .await;
    assert_eq!(
        refused["error"]["code"], "CONNECTION_CREDENTIALS_REJECTED",
        "{refused}"
    );
    h.call(Method::GET, &format!("/connections/{conn}"), "t1", None)
        .await;
    h.call(Method::GET, "/connections", "t1", None).await;

    // Stored executions keep masked PII only.
    let (_, list) = h.call(Method::GET, "/executions", "t1", None).await;
    let stored = list.to_string();
    let phone = order_input()["toPhone"]
        .as_str()
        .expect("phone")
        .to_string();
    let address = order_input()["toAddress"]
        .as_str()
        .expect("address")
        .to_string();
    assert!(!stored.contains(&phone), "phone stored in clear: {stored}");
    assert!(!stored.contains(&address), "address stored in clear");
    assert!(
        stored.contains(&phone[phone.len() - 3..]),
        "masked phone keeps its tail"
    );

    // Both callbacks (the success's and the failure's) arrive.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while callbacks.lock().expect("callbacks").len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "callbacks not delivered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let callbacks: Vec<String> = callbacks
        .lock()
        .expect("callbacks")
        .iter()
        .map(|r| r.body.clone())
        .collect();
    let callbacks = callbacks.join("\n");
    assert!(callbacks.contains("PROVIDER_AUTH_FAILED"), "{callbacks}");

    let signing = caller_secrets(&h.backend)
        .signing_keys("flows")
        .await
        .expect("signing keys");
    let mut secrets = vec![TOKEN.to_string(), ROTATED.to_string(), h.key.clone()];
    secrets.extend(signing.iter().map(|s| s.to_string()));
    Run {
        responses: h.responses.lock().expect("responses").join("\n"),
        callbacks,
        secrets,
    }
}

/// Responses, callbacks, logs and the stored `records` hold none of the run's credentials.
fn assert_no_credential(run: &Run, logs: &str, records: &[(String, Vec<u8>)]) {
    assert!(logs.contains("execution finished"), "logs were captured");
    assert!(!records.is_empty(), "nothing stored was scanned");
    for secret in &run.secrets {
        assert!(
            !run.responses.contains(secret),
            "a response carries {secret}"
        );
        assert!(
            !run.callbacks.contains(secret),
            "a callback carries {secret}"
        );
        assert!(!logs.contains(secret), "a log line carries {secret}");
        for (name, bytes) in records {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{name} holds {secret} in clear");
        }
    }
}

#[tokio::test]
async fn no_credential_anywhere_after_a_full_run() {
    let logs = capture_logs();
    let h = Harness::start().await;
    let run = full_run(&h).await;
    let dir = h.stop().await;

    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.path()).expect("data dir") {
        let path = entry.expect("entry").path();
        // SQLite's -wal/-shm files vanish when the last connection (closed on the database
        // threads, just after stop) checkpoints into the main file, which is read too.
        match std::fs::read(&path) {
            Ok(b) => files.push((path.display().to_string(), b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("read {}: {e}", path.display()),
        }
    }
    assert_no_credential(&run, &logs.contents(), &files);
}

#[tokio::test]
async fn no_credential_anywhere_after_a_full_run_on_aws() {
    let logs = capture_logs();
    let moto = backend_aws::testing::moto().await;
    let prefix = format!("creds-{}", new_id().to_lowercase());
    let flags = [
        "--backend",
        "aws",
        "--aws-prefix",
        &prefix,
        "--aws-emulator-endpoint",
        moto.url(),
        "--aws-provision",
    ];
    let h = Harness::start_with(FakeConfig::default(), &flags).await;
    let run = full_run(&h).await;
    h.stop().await;
    // Every item of the run's tables: executions, outbox, callbacks, connections, API keys.
    // (Secrets Manager is where the credentials belong, encrypted by KMS in AWS.)
    let items: Vec<(String, Vec<u8>)> = backend_aws::testing::dump_tables(moto.url(), &prefix)
        .await
        .into_iter()
        .map(|line| ("a DynamoDB item".to_string(), line.into_bytes()))
        .collect();
    assert!(
        items
            .iter()
            .any(|(_, i)| String::from_utf8_lossy(i).contains("succeeded")),
        "the executions table was scanned"
    );
    assert_no_credential(&run, &logs.contents(), &items);
}
