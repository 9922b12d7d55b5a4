//! Shared by the payment worker tests: connections, running an action to its end with its
//! output checked against the catalog, and error assertions.

use integration_tests::Harness;
use integrations_core::catalog::Catalog;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Flags for tests whose answer is lost: the fake holds it 2 s, past a 1 s action budget.
pub const LOST_ANSWER: &[&str] = &["--action-timeout-cap-ms", "1000"];

pub fn lost_answer_fault(path: &str) -> Value {
    json!({"path": path, "kind": "delay", "delayMs": 2000, "times": 1})
}

pub async fn connect(h: &Harness, integration: &str, config: Value, credentials: Value) -> String {
    let body = json!({"integrationId": integration, "name": "Payments", "config": config, "credentials": credentials});
    let (s, b) = h.call(Method::POST, "/connections", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

/// Run one action through the API and the worker to its end; a succeeded output must match
/// the action's outputSchema, and no answer may echo a credential.
pub async fn run(h: &Harness, conn: &str, action: &str, input: Value) -> Value {
    let body = json!({"connectionId": conn, "actionId": action, "input": input});
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let done = h
        .wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await;
    if done["status"] == "succeeded" {
        let catalog = Catalog::embedded().expect("catalog");
        let integration = done["integrationId"].as_str().expect("integrationId");
        let a = catalog.action(integration, action).expect("action");
        let problems = a.output_mismatches(&done["output"]);
        assert!(
            problems.is_empty(),
            "{action} output {}: {problems:?}",
            done["output"]
        );
    }
    done
}

pub fn assert_succeeded(done: &Value, attempts: u64) {
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], attempts, "{done}");
}

pub fn assert_failed(done: &Value, code: &str, attempts: u64) {
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["error"]["code"], code, "{done}");
    assert_eq!(done["attempts"], attempts, "{done}");
}

/// Nothing any caller saw contains `secret`.
pub fn assert_never_echoed(h: &Harness, secret: &str) {
    let seen = h.responses.lock().expect("responses");
    assert!(
        seen.iter().all(|r| !r.contains(secret)),
        "a credential was echoed"
    );
}
