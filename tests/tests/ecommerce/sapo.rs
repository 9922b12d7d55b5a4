//! Sapo through the real worker.

use super::common::{
    assert_failed, assert_never_echoed, assert_succeeded, connect, lost_answer_fault, run,
    LOST_ANSWER,
};
use super::shops::{connection_test, control};
use fake_provider::ecommerce::sapo;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::{json, Value};

const SAPO_ORDER: &str = "/sapo/admin/orders/1002.json";

async fn sapo(h: &Harness, credentials: Value) -> String {
    let config = json!({"storeDomain": "shop-a.mysapo.net"});
    connect(h, "ecommerce-sapo", config, credentials).await
}

fn sapo_key(secret: &str) -> Value {
    json!({"apiKey": sapo::API_KEY, "apiSecret": secret})
}

#[tokio::test]
async fn sapo_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    for (action, input) in [
        ("list_orders", json!({"status": "any", "limit": 2})),
        ("get_order", json!({"orderId": 1001})),
        ("list_products", json!({"vendor": "Shop A"})),
        ("update_order", json!({"orderId": 1002, "tags": "gấp"})),
    ] {
        assert_succeeded(&run(&h, &conn, action, input).await, 1);
    }
    let token = sapo(&h, json!({"accessToken": sapo::ACCESS_TOKEN})).await;
    assert_eq!(connection_test(&h, &token).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn sapo_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    let input = json!({"orderId": 1002, "note": "n", "email": "not-an-email"});
    let done = run(&h, &conn, "update_order", input).await;
    assert_failed(&done, "PROVIDER_REJECTED", 1);
    let secret = "sapo-wrong-secret-55";
    let bad = sapo(&h, sapo_key(secret)).await;
    let done = run(&h, &bad, "list_orders", json!({})).await;
    assert_failed(&done, "PROVIDER_AUTH_FAILED", 1);
    assert_never_echoed(&h, secret);
    h.stop().await;
}

#[tokio::test]
async fn sapo_a_full_bucket_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    control(&h, "/__sapo/bucket", json!({"level": sapo::BUCKET_SIZE})).await;
    let done = run(&h, &conn, "get_order", json!({"orderId": 1002})).await;
    assert_succeeded(&done, 2);
    h.fault(json!({"path": SAPO_ORDER, "kind": "status", "status": 500, "times": 2}))
        .await;
    let done = run(&h, &conn, "get_order", json!({"orderId": 1002})).await;
    assert_succeeded(&done, 3);
    h.stop().await;
}

#[tokio::test]
async fn sapo_an_update_whose_answer_is_lost_is_sent_again() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    h.fault(lost_answer_fault(SAPO_ORDER)).await;
    let done = run(
        &h,
        &conn,
        "update_order",
        json!({"orderId": 1002, "note": "đã gọi"}),
    )
    .await;
    assert_succeeded(&done, 2);
    assert_eq!(done["output"]["note"], "đã gọi");
    h.stop().await;
}
