//! The MCP server at `/mcp` with a real MCP client: the official Python SDK (`mcp` 2.x, from the
//! venv that scripts/test.sh makes, named by INTEGRATIONS_TEST_MCP_PYTHON) runs
//! tests/python/mcp_client.py against the service and the fake GHN. With the variable unset (a
//! developer's plain `cargo nextest run`) those tests print a note and pass; with it set, any
//! client failure fails them. The HTTP-level checks (authentication, Origin) need no Python.

use std::time::Duration;

use integration_tests::{create_key, fee_input, Harness, SHOP_ID, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PYTHON_VAR: &str = "INTEGRATIONS_TEST_MCP_PYTHON";

fn python() -> Option<String> {
    match std::env::var(PYTHON_VAR) {
        Ok(p) if !p.trim().is_empty() => Some(p),
        _ => {
            eprintln!("note: {PYTHON_VAR} is unset, so the Python MCP client is not run (scripts/test.sh sets it)");
            None
        }
    }
}

/// Run the client script; its JSON output. Panics (fails the test) if it fails.
async fn client(python: &str, args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/mcp_client.py");
    let run = tokio::process::Command::new(python)
        .arg(script)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the MCP client finishes within 120 s")
        .expect("the MCP client starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the MCP client failed ({}):\n{stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {stderr}"))
}

async fn connect(h: &Harness, name: &str) {
    let (s, b) = h
        .call(
            Method::POST,
            "/connections",
            "t1",
            Some(json!({
                "integrationId": "shipping-ghn", "name": name,
                "config": {"shopId": SHOP_ID, "environment": "sandbox"},
                "credentials": {"apiKey": TOKEN}
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}

#[tokio::test]
async fn python_client_lists_and_calls_tools_in_both_protocol_versions() {
    let Some(python) = python() else { return };
    let h = Harness::start().await;
    connect(&h, "Kho Hà Nội").await;
    connect(&h, "Kho Đà Nẵng").await;
    let (_, listed) = h.call(Method::GET, "/tools?format=mcp", "t1", None).await;
    let listed = listed["tools"].as_array().expect("tools").clone();
    let fee = listed
        .iter()
        .find(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.contains("calculate_fee"))
                && t["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("Đà Nẵng"))
        })
        .expect("calculate_fee of Đà Nẵng");
    let fee_name = fee["name"].as_str().expect("name");
    let url = format!("{}/mcp", h.base);
    let args = fee_input().to_string();
    let bad = json!({"toDistrictId": 1485, "toWardCode": "1A0101", "weight": "heavy"}).to_string();

    for (mode, version) in [("auto", "2026-07-28"), ("legacy", "2025-11-25")] {
        let out = client(
            &python,
            &[
                "--url",
                &url,
                "--key",
                &h.key,
                "--tenant",
                "t1",
                "--mode",
                mode,
                "--call",
                fee_name,
                "--arguments",
                &args,
                "--bad-arguments",
                &bad,
            ],
        )
        .await;
        assert_eq!(out["protocolVersion"], version, "{mode}: {out}");
        let tools = out["tools"].as_array().expect("tools");
        // The tenant's tools, as GET /tools lists them, plus await_execution.
        assert_eq!(tools.len(), listed.len() + 1, "{mode}");
        for t in &listed {
            let seen = tools
                .iter()
                .find(|x| x["name"] == t["name"])
                .unwrap_or_else(|| panic!("{mode}: {} missing", t["name"]));
            assert_eq!(seen["annotations"], t["annotations"], "{mode}");
            assert_eq!(seen["inputSchema"], t["inputSchema"], "{mode}");
        }
        assert!(tools.iter().any(|t| t["name"] == "await_execution"));

        let call = &out["call"];
        assert_eq!(call["isError"], false, "{mode}: {call}");
        let result = &call["structuredContent"];
        assert_eq!(result["status"], "succeeded", "{mode}: {call}");
        assert!(
            result["data"]["fee"].as_i64().is_some_and(|f| f > 0),
            "{call}"
        );
        let text: Value =
            serde_json::from_str(call["text"].as_str().expect("a text copy")).expect("JSON text");
        assert_eq!(
            &text, result,
            "the text block is a copy of the structured result"
        );
        let id = result["executionId"].as_str().expect("executionId");
        let (s, e) = h
            .call(Method::GET, &format!("/executions/{id}"), "t1", None)
            .await;
        assert_eq!(
            (s, e["status"].as_str()),
            (StatusCode::OK, Some("succeeded")),
            "ran end to end: {e}"
        );

        let bad_call = &out["badCall"];
        assert_eq!(bad_call["isError"], true, "{mode}: {bad_call}");
        assert_eq!(
            bad_call["structuredContent"]["error"]["code"],
            "VALIDATION_FAILED"
        );
        assert!(
            bad_call["structuredContent"]["error"]["message"]
                .as_str()
                .expect("message")
                .contains("weight"),
            "{bad_call}"
        );
        assert_eq!(out["unknown"]["code"], -32602, "{mode}: {out}");
    }
    h.stop().await;
}

#[tokio::test]
async fn another_tenants_key_lists_no_tools() {
    let Some(python) = python() else { return };
    let h = Harness::start().await;
    connect(&h, "Kho Hà Nội").await;
    // Scoped to one tenant: no X-Tenant-Id needed.
    let other = create_key(&h.backend, "agents", Some(vec!["t9".into()])).await;
    let url = format!("{}/mcp", h.base);
    let out = client(&python, &["--url", &url, "--key", &other]).await;
    assert_eq!(out["tools"], json!([]), "{out}");
    h.stop().await;
}

async fn post_mcp(h: &Harness, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = h
        .http
        .post(format!("{}/mcp", h.base))
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}}),
        );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn mcp_is_authenticated_like_the_api_and_checks_origins() {
    let h = Harness::start().await;
    let bearer = format!("Bearer {}", h.key);
    let resp = post_mcp(&h, &[]).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer")
    );
    // A key for two tenants needs X-Tenant-Id; one outside its scope is refused.
    assert_eq!(
        post_mcp(&h, &[("authorization", &bearer)]).await.status(),
        StatusCode::BAD_REQUEST
    );
    let forbidden = post_mcp(&h, &[("authorization", &bearer), ("x-tenant-id", "t3")]).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    let ok = post_mcp(&h, &[("authorization", &bearer), ("x-tenant-id", "t1")]).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json")));
    let body: Value = ok.json().await.expect("JSON");
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25", "{body}");
    assert!(
        body["result"]["capabilities"]["tools"].is_object(),
        "{body}"
    );

    // Browser origins other than loopback are refused (DNS rebinding, cross-site pages).
    let evil = post_mcp(
        &h,
        &[
            ("authorization", &bearer),
            ("x-tenant-id", "t1"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    let local = post_mcp(
        &h,
        &[
            ("authorization", &bearer),
            ("x-tenant-id", "t1"),
            ("origin", "http://localhost:3000"),
        ],
    )
    .await;
    assert_eq!(local.status(), StatusCode::OK);
    h.stop().await;
}
