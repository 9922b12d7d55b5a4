//! GHTK through the real API and worker against the fake GHTK: success, business errors, auth
//! failure, rate limiting, a server error, and a create whose answer is lost (the retry finds
//! the first order through GHTK's order.id). Every output checks against its outputSchema.

use std::time::{Duration, Instant};

use fake_provider::shipping::ghtk;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use integrations_core::catalog::Catalog;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const FEE: &str = "/ghtk/services/shipment/fee";
const CREATE: &str = "/ghtk/services/shipment/order/";

async fn connection(h: &Harness, token: &str) -> String {
    let body = json!({
        "integrationId": "shipping-ghtk",
        "name": "GHTK shop",
        "config": {
            "environment": "staging",
            "pickup": {"name": "Shop A", "phone": "0911222333", "address": "1 Tràng Tiền",
                       "province": "Hà Nội", "district": "Quận Hoàn Kiếm"}
        },
        "credentials": {"apiToken": token}
    });
    let (s, b) = h.call(Method::POST, "/connections", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

/// Run one action to its end; a succeeded output must match the catalog's outputSchema.
async fn run(h: &Harness, conn: &str, action: &str, input: Value) -> Value {
    let body = json!({"connectionId": conn, "actionId": action, "input": input});
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let done = h
        .wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await;
    if done["status"] == "succeeded" {
        let catalog = Catalog::embedded().expect("catalog");
        let action = catalog.action("shipping-ghtk", action).expect("action");
        let problems = action.output_mismatches(&done["output"]);
        assert!(
            problems.is_empty(),
            "{action:?} output: {problems:?}",
            action = action.action_id
        );
    }
    done
}

fn fee_input() -> Value {
    json!({"toProvince": "Hồ Chí Minh", "toDistrict": "Quận 1", "weight": 1200})
}

fn order_input() -> Value {
    json!({
        "products": [{"name": "Sách", "weight": 600, "quantity": 2}],
        "toName": "Tran Thi B", "toPhone": "0987654321", "toAddress": "5 Le Loi",
        "toProvince": "Hồ Chí Minh", "toDistrict": "Quận 1", "codAmount": 150000
    })
}

async fn orders(h: &Harness) -> u64 {
    let v: Value = reqwest::get(format!("{}/__ghtk/stats", h.fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    v["orders"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = connection(&h, ghtk::TOKEN).await;
    let fee = run(&h, &conn, "calculate_fee", fee_input()).await;
    assert_eq!(fee["status"], "succeeded", "{fee}");
    assert_eq!(fee["output"]["fee"], 35_000);
    let created = run(&h, &conn, "create_order", order_input()).await;
    assert_eq!(created["status"], "succeeded", "{created}");
    assert_eq!(created["output"]["partnerId"], created["executionId"]);
    let label = json!({"label": created["output"]["label"]});
    let tracked = run(&h, &conn, "track_order", label.clone()).await;
    assert_eq!(tracked["output"]["status"], 2, "{tracked}");
    let cancelled = run(&h, &conn, "cancel_order", label).await;
    assert_eq!(
        cancelled["output"]["alreadyCancelled"], false,
        "{cancelled}"
    );
    let (s, b) = h
        .call(
            Method::POST,
            &format!("/connections/{conn}/test"),
            "t1",
            None,
        )
        .await;
    assert_eq!(
        (s, b["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{b}"
    );
    h.stop().await;
}

#[tokio::test]
async fn business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = connection(&h, ghtk::TOKEN).await;
    let mut input = fee_input();
    input["toProvince"] = json!("Atlantis");
    let done = run(&h, &conn, "calculate_fee", input).await;
    assert_eq!(
        (done["status"].clone(), done["attempts"].clone()),
        (json!("failed"), json!(1))
    );
    assert_eq!(done["error"]["code"], "PROVIDER_REJECTED", "{done}");

    let bad = connection(&h, "ghtk-wrong-token-77").await;
    let done = run(&h, &bad, "calculate_fee", fee_input()).await;
    assert_eq!(done["error"]["code"], "PROVIDER_AUTH_FAILED", "{done}");
    assert_eq!(done["attempts"], 1);
    assert!(!done.to_string().contains("ghtk-wrong-token-77"));
    h.stop().await;
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = connection(&h, ghtk::TOKEN).await;
    h.fault(json!({"path": FEE, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    let started = Instant::now();
    let done = run(&h, &conn, "calculate_fee", fee_input()).await;
    assert_eq!(
        (done["status"].clone(), done["attempts"].clone()),
        (json!("succeeded"), json!(2))
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );

    h.fault(json!({"path": FEE, "kind": "status", "status": 500, "times": 2}))
        .await;
    let done = run(&h, &conn, "calculate_fee", fee_input()).await;
    assert_eq!(
        (done["status"].clone(), done["attempts"].clone()),
        (json!("succeeded"), json!(3))
    );
    assert_eq!(h.provider_calls(FEE).await, 5);
    h.stop().await;
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_finds_the_first_order() {
    let h = Harness::start_with(FakeConfig::default(), &["--action-timeout-cap-ms", "1000"]).await;
    let conn = connection(&h, ghtk::TOKEN).await;
    // GHTK creates the order, but the answer comes after the action's time budget.
    h.fault(json!({"path": CREATE, "kind": "delay", "delayMs": 2000, "times": 1}))
        .await;
    let done = run(&h, &conn, "create_order", order_input()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2);
    assert_eq!(done["output"]["alreadyExisted"], true, "{done}");
    assert_eq!(orders(&h).await, 1, "one order despite two attempts");
    h.stop().await;
}
