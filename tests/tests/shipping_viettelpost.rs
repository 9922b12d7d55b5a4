//! Viettel Post through the real API and worker against the fake VTP: the login-then-token
//! flow with the token written back to the secret store, 50 concurrent executions on an
//! expired token causing one login, success, business errors, auth failure, rate limiting, a
//! server error, and a create whose answer is lost (the retry finds the first order through
//! ORDER_NUMBER). Every output checks against its outputSchema.

use std::time::{Duration, Instant};

use fake_provider::shipping::viettelpost::{self as vtp, VtpStats};
use fake_provider::FakeConfig;
use integration_tests::Harness;
use integrations_core::catalog::Catalog;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PRICE_ALL: &str = "/viettelpost/v2/order/getPriceAll";
const CREATE: &str = "/viettelpost/v2/order/createOrder";

async fn connection(h: &Harness, password: &str) -> String {
    let body = json!({
        "integrationId": "shipping-viettelpost",
        "name": "VTP shop",
        "config": {
            "username": vtp::USERNAME,
            "sender": {"name": "Shop A", "phone": "0911222333", "address": "1 Trang Tien",
                       "provinceId": 1, "districtId": 4, "wardId": 31}
        },
        "credentials": {"password": password}
    });
    let (s, b) = h.call(Method::POST, "/connections", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

async fn submit(h: &Harness, conn: &str, action: &str, input: Value) -> String {
    let body = json!({"connectionId": conn, "actionId": action, "input": input});
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    b["executionId"].as_str().expect("id").to_string()
}

/// Wait for the end; a succeeded output must match the catalog's outputSchema.
async fn finish(h: &Harness, action: &str, id: &str) -> Value {
    let done = h.wait_terminal("t1", id).await;
    if done["status"] == "succeeded" {
        let catalog = Catalog::embedded().expect("catalog");
        let a = catalog
            .action("shipping-viettelpost", action)
            .expect("action");
        let problems = a.output_mismatches(&done["output"]);
        assert!(problems.is_empty(), "{action} output: {problems:?}");
    }
    done
}

async fn run(h: &Harness, conn: &str, action: &str, input: Value) -> Value {
    let id = submit(h, conn, action, input).await;
    finish(h, action, &id).await
}

async fn stats(h: &Harness) -> VtpStats {
    reqwest::get(format!("{}/__viettelpost/stats", h.fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

async fn stored_token(h: &Harness, conn: &str) -> Option<String> {
    let name = format!("/integrations/t1/{conn}");
    let creds = h
        .backend
        .secrets
        .get_secret(&name)
        .await
        .expect("secret store");
    creds.and_then(|c| c.get("token").map(str::to_string))
}

fn route() -> Value {
    json!({"receiverProvinceId": 2, "receiverDistrictId": 43, "weight": 1200})
}

fn order_input() -> Value {
    json!({
        "receiverName": "Tran Thi B", "receiverPhone": "0987654321", "receiverAddress": "5 Le Loi",
        "receiverProvinceId": 2, "receiverDistrictId": 43, "receiverWardId": 510,
        "productName": "Sach", "weight": 1200, "codAmount": 200000, "paymentMethod": 3,
        "serviceCode": "VCN"
    })
}

#[tokio::test]
async fn every_action_succeeds_and_the_token_lands_in_the_secret_store() {
    let h = Harness::start().await;
    let conn = connection(&h, vtp::PASSWORD).await;
    for (action, input) in [
        ("get_provinces", json!({})),
        ("get_districts", json!({"provinceId": 2})),
        ("get_wards", json!({"districtId": 43})),
    ] {
        let done = run(&h, &conn, action, input).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    assert_eq!(stats(&h).await.logins, 0, "master data needs no token");
    let services = run(&h, &conn, "list_services", route()).await;
    assert_eq!(services["status"], "succeeded", "{services}");
    let mut input = route();
    input["serviceCode"] = json!("VCN");
    let price = run(&h, &conn, "calculate_price", input).await;
    assert_eq!(price["output"]["fee"], 45_000, "{price}");
    let created = run(&h, &conn, "create_order", order_input()).await;
    assert_eq!(
        created["output"]["partnerOrderNumber"],
        created["executionId"]
    );
    let cancel = json!({"orderNumber": created["output"]["orderNumber"]});
    let cancelled = run(&h, &conn, "cancel_order", cancel).await;
    assert_eq!(
        cancelled["output"]["alreadyCancelled"], false,
        "{cancelled}"
    );
    let s = stats(&h).await;
    assert_eq!(
        (s.logins, s.token_exchanges),
        (1, 1),
        "one login for all of them"
    );
    // The connection test logs in afresh: it proves the username and password.
    let (code, b) = h
        .call(
            Method::POST,
            &format!("/connections/{conn}/test"),
            "t1",
            None,
        )
        .await;
    assert_eq!(
        (code, b["success"].clone()),
        (StatusCode::OK, json!(true)),
        "{b}"
    );
    assert_eq!(stats(&h).await.logins, 2);
    let token = stored_token(&h, &conn).await.expect("token written back");
    for response in h.responses.lock().expect("responses").iter() {
        assert!(
            !response.contains(&token),
            "the token never leaves the secret store"
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn fifty_executions_on_an_expired_token_cause_one_login() {
    let h = Harness::start().await;
    let conn = connection(&h, vtp::PASSWORD).await;
    let first = run(&h, &conn, "list_services", route()).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    let before = stored_token(&h, &conn).await.expect("token");
    reqwest::Client::new()
        .post(format!("{}/__viettelpost/expire-tokens", h.fake.url()))
        .send()
        .await
        .expect("expire");
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.push(submit(&h, &conn, "list_services", route()).await);
    }
    for id in &ids {
        let done = finish(&h, "list_services", id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    let s = stats(&h).await;
    assert_eq!(
        (s.logins, s.token_exchanges),
        (2, 2),
        "exactly one renewal: {s:?}"
    );
    let after = stored_token(&h, &conn).await.expect("token");
    assert_ne!(before, after, "the renewed token is written back");
    h.stop().await;
}

#[tokio::test]
async fn business_auth_rate_limit_and_server_errors() {
    let h = Harness::start().await;
    let conn = connection(&h, vtp::PASSWORD).await;
    let mut input = order_input();
    input["receiverDistrictId"] = json!(4);
    let done = run(&h, &conn, "create_order", input).await;
    assert_eq!(done["error"]["code"], "PROVIDER_REJECTED", "{done}");
    assert_eq!(done["attempts"], 1);

    h.fault(json!({"path": PRICE_ALL, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    let started = Instant::now();
    let done = run(&h, &conn, "list_services", route()).await;
    assert_eq!(
        (done["status"].clone(), done["attempts"].clone()),
        (json!("succeeded"), json!(2))
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    h.fault(json!({"path": PRICE_ALL, "kind": "status", "status": 503, "times": 2}))
        .await;
    let done = run(&h, &conn, "list_services", route()).await;
    assert_eq!(
        (done["status"].clone(), done["attempts"].clone()),
        (json!("succeeded"), json!(3))
    );

    let bad = connection(&h, "vtp-wrong-password-5").await;
    let done = run(&h, &bad, "list_services", route()).await;
    assert_eq!(done["error"]["code"], "PROVIDER_AUTH_FAILED", "{done}");
    assert_eq!(done["attempts"], 1);
    assert!(!done.to_string().contains("vtp-wrong-password-5"));
    h.stop().await;
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_finds_the_first_order() {
    let h = Harness::start_with(FakeConfig::default(), &["--action-timeout-cap-ms", "1000"]).await;
    let conn = connection(&h, vtp::PASSWORD).await;
    // Log in first, so the delayed create is the whole first attempt.
    assert_eq!(
        run(&h, &conn, "list_services", route()).await["status"],
        "succeeded"
    );
    h.fault(json!({"path": CREATE, "kind": "delay", "delayMs": 2000, "times": 1}))
        .await;
    let done = run(&h, &conn, "create_order", order_input()).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2);
    assert_eq!(done["output"]["alreadyExisted"], true, "{done}");
    assert_eq!(stats(&h).await.orders, 1, "one order despite two attempts");
    h.stop().await;
}
