//! The tool surface for AI agents through the real HTTP API, worker and fake GHN: `GET /tools` in
//! every format and `POST /tools/call` (success, a refused argument, a provider failure, pending).

use agent_tools::{check, Format};
use integration_tests::{Harness, SHOP_ID, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SHOPS: [&str; 2] = ["Shop Hà Nội", "Shop Sài Gòn"];

async fn connect(h: &Harness, tenant: &str, name: &str) -> String {
    let (s, b) = h
        .call(
            Method::POST,
            "/connections",
            tenant,
            Some(json!({
                "integrationId": "shipping-ghn", "name": name,
                "config": {"shopId": SHOP_ID, "environment": "sandbox"},
                "credentials": {"apiKey": TOKEN}
            })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

async fn tools(h: &Harness, tenant: &str, query: &str) -> Vec<Value> {
    let (s, b) = h
        .call(Method::GET, &format!("/tools?{query}"), tenant, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {b}");
    assert!(b.get("warnings").is_none(), "{b}");
    b["tools"].as_array().expect("tools").clone()
}

fn name(format: Format, tool: &Value) -> &str {
    let n = match format {
        Format::OpenAi => &tool["function"]["name"],
        _ => &tool["name"],
    };
    n.as_str().expect("name")
}

fn description(format: Format, tool: &Value) -> &str {
    let d = match format {
        Format::OpenAi => &tool["function"]["description"],
        _ => &tool["description"],
    };
    d.as_str().expect("description")
}

/// The tool for `action` of the connection called `shop`, by its description.
fn find<'a>(format: Format, list: &'a [Value], action: &str, shop: &str) -> &'a Value {
    list.iter()
        .find(|t| name(format, t).contains(action) && description(format, t).contains(shop))
        .unwrap_or_else(|| panic!("no {action} tool for {shop}"))
}

#[tokio::test]
async fn every_format_lists_one_tool_per_connection_and_action() {
    let h = Harness::start().await;
    let a = connect(&h, "t1", SHOPS[0]).await;
    connect(&h, "t1", SHOPS[1]).await;
    let (_, ghn) = h
        .call(Method::GET, "/catalog/shipping-ghn", "t1", None)
        .await;
    let actions = ghn["actions"].as_array().expect("actions").len();

    for format in Format::ALL {
        let list = tools(&h, "t1", &format!("format={format}")).await;
        assert_eq!(list.len(), 2 * actions, "{format}");
        let mut names: Vec<&str> = list.iter().map(|t| name(format, t)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), list.len(), "{format}: names are unique");
        for shop in SHOPS {
            let of_shop = list
                .iter()
                .filter(|t| description(format, t).contains(shop))
                .count();
            assert_eq!(of_shop, actions, "{format}: descriptions name {shop}");
        }
        for t in &list {
            assert!(description(format, t).contains("GHN"), "{t}");
            let problems = match format {
                Format::OpenAi => check::openai_tool(t, false),
                Format::OpenAiResponses => check::openai_tool(t, true),
                Format::Anthropic => check::anthropic_tool(t),
                Format::Mcp => check::mcp_tool(t),
            };
            assert!(problems.is_empty(), "{format}: {problems:?}");
        }
        // Another tenant has no connections, so no tools.
        assert!(tools(&h, "t2", &format!("format={format}"))
            .await
            .is_empty());
    }

    let mcp = tools(&h, "t1", "format=mcp").await;
    let create = find(Format::Mcp, &mcp, "create_order", SHOPS[0]);
    assert_eq!(create["annotations"]["destructiveHint"], true);
    assert_eq!(create["annotations"]["idempotentHint"], true);
    let track = find(Format::Mcp, &mcp, "track_order", SHOPS[0]);
    assert_eq!(track["annotations"]["readOnlyHint"], true);

    // Filters select; names stay those of the full listing.
    let all: Vec<String> = tools(&h, "t1", "format=openai")
        .await
        .iter()
        .map(|t| name(Format::OpenAi, t).to_string())
        .collect();
    let reads = tools(
        &h,
        "t1",
        &format!("format=openai&connectionId={a}&category=read"),
    )
    .await;
    assert!(!reads.is_empty() && reads.len() < actions);
    for t in &reads {
        assert!(description(Format::OpenAi, t).contains(SHOPS[0]));
        assert!(all.iter().any(|n| n == name(Format::OpenAi, t)));
    }
    assert_eq!(
        tools(&h, "t1", "format=anthropic&integrationId=shipping-ghn")
            .await
            .len(),
        2 * actions
    );
    assert!(tools(&h, "t1", "format=anthropic&integrationId=payment-x")
        .await
        .is_empty());

    for bad in [
        "",
        "format=gemini",
        "format=mcp&category=delete",
        "format=mcp&colour=red",
    ] {
        let (s, b) = h
            .call(Method::GET, &format!("/tools?{bad}"), "t1", None)
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("VALIDATION_FAILED")),
            "{bad}: {b}"
        );
    }
    h.stop().await;
}

async fn call(h: &Harness, tenant: &str, body: Value) -> (StatusCode, Value) {
    h.call(Method::POST, "/tools/call", tenant, Some(body))
        .await
}

#[tokio::test]
async fn tools_call_answers_for_the_model() {
    let h = Harness::start().await;
    connect(&h, "t1", SHOPS[0]).await;
    connect(&h, "t1", SHOPS[1]).await;
    let list = tools(&h, "t1", "format=openai").await;
    let fee = find(Format::OpenAi, &list, "calculate_fee", SHOPS[1]);
    let fee_name = name(Format::OpenAi, fee).to_string();

    // As a strict-mode model sends it: every optional field present as null.
    let mut args = json!({});
    for k in fee["function"]["parameters"]["properties"]
        .as_object()
        .expect("properties")
        .keys()
    {
        args[k] = Value::Null;
    }
    for (k, v) in [
        ("fromDistrictId", json!(1442)),
        ("toDistrictId", json!(1485)),
        ("toWardCode", json!("1A0101")),
        ("weight", json!(500)),
    ] {
        args[k] = v;
    }
    let (s, b) = call(
        &h,
        "t1",
        json!({"name": fee_name, "arguments": args, "waitMs": 10000}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (
            b["status"].as_str(),
            b["success"].as_bool(),
            b["isError"].as_bool()
        ),
        (Some("succeeded"), Some(true), Some(false)),
        "{b}"
    );
    assert!(b["data"]["fee"].as_i64().is_some_and(|f| f > 0), "{b}");
    let id = b["executionId"].as_str().expect("id").to_string();
    let (_, e) = h
        .call(Method::GET, &format!("/executions/{id}"), "t1", None)
        .await;
    assert_eq!(e["input"]["weight"], 500);
    assert!(
        e["input"].get("coupon").is_none(),
        "nulls for absent fields are dropped: {e}"
    );

    // A refused argument is an answer naming the field, so the model can correct itself.
    let (s, b) = call(&h, "t1", json!({"name": fee_name, "arguments": {"toDistrictId": 1485, "toWardCode": "1A0101", "weight": "heavy"}})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["isError"].as_bool()),
        (Some("rejected"), Some(true)),
        "{b}"
    );
    assert_eq!(b["error"]["code"], "VALIDATION_FAILED");
    assert!(
        b["error"]["message"]
            .as_str()
            .expect("message")
            .contains("weight"),
        "{b}"
    );
    assert!(b.get("executionId").is_none(), "nothing ran: {b}");

    // A provider failure is a failed answer with the error's code and retryability.
    let (s, b) = call(&h, "t1", json!({"name": fee_name, "arguments": {"toDistrictId": 999_999, "toWardCode": "1A0101", "weight": 500}, "waitMs": 10000})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["isError"].as_bool()),
        (Some("failed"), Some(true)),
        "{b}"
    );
    assert_eq!(b["error"]["retryable"], false);
    assert!(b["error"]["code"].is_string());

    // Not finished within waitMs: pending, with how to fetch the result.
    let (s, b) = call(&h, "t1", json!({"name": fee_name, "arguments": {"toDistrictId": 1485, "toWardCode": "1A0101", "weight": 700}, "waitMs": 0})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (b["status"].as_str(), b["isError"].as_bool()),
        (Some("pending"), Some(false)),
        "{b}"
    );
    let id = b["executionId"].as_str().expect("id");
    let poll = b["poll"].as_str().expect("poll");
    let path = poll.strip_prefix("GET ").expect("a GET");
    assert!(
        path.starts_with(&format!("/executions/{id}?waitMs=")),
        "{poll}"
    );
    let (_, done) = h.call(Method::GET, path, "t1", None).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["success"], true);

    // Unknown names, and another tenant's tools, are 404 with a stable code.
    for (tenant, tool) in [("t1", "ghn_nope_x"), ("t2", fee_name.as_str())] {
        let (s, b) = call(&h, tenant, json!({"name": tool, "arguments": {}})).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("TOOL_NOT_FOUND")),
            "{b}"
        );
    }
    // Caller mistakes stay API errors.
    let (s, b) = call(
        &h,
        "t1",
        json!({"name": fee_name, "arguments": {}, "waitMs": 3_600_000}),
    )
    .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("VALIDATION_FAILED")),
        "{b}"
    );
    let (s, _) = call(&h, "t1", json!({"tool": fee_name})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    h.stop().await;
}
