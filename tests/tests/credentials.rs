//! No credential in any API response, log line or stored execution of a full run; PII masked in
//! what is stored.

use integration_tests::{capture_logs, fee_input, order_input, Harness, TOKEN};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn no_credential_anywhere_after_a_full_run() {
    let logs = capture_logs();
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let rotated = "ghn-rotated-secret-31337";

    // Successes, a provider failure, a test failure, a rotation.
    let (_, fee) = h
        .execute("t1", json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000}))
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
        Some(json!({"credentials": {"apiKey": rotated}})),
    )
    .await;
    let (_, failed) = h
        .execute("t1", json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000}))
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
    h.call(Method::GET, "/executions", "t1", None).await;
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

    let responses = h.responses.lock().expect("responses").join("\n");
    let dir = h.stop().await;
    let data_dir = dir.path().to_path_buf();

    let log_text = logs.contents();
    assert!(
        log_text.contains("execution finished"),
        "logs were captured"
    );
    for secret in [TOKEN, rotated] {
        assert!(!responses.contains(secret), "a response carries {secret}");
        assert!(!log_text.contains(secret), "a log line carries {secret}");
        for entry in std::fs::read_dir(&data_dir).expect("data dir") {
            let path = entry.expect("entry").path();
            // SQLite's -wal/-shm files vanish when the last connection (closed on the database
            // threads, just after stop) checkpoints into the main file, which is read too.
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("read {}: {e}", path.display()),
            };
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{} holds {secret} in clear", path.display());
        }
    }
}
