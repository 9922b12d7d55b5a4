//! PrestaShop through the real worker.

use super::common::{
    assert_failed, assert_never_echoed, assert_succeeded, connect, lost_answer_fault, run,
    LOST_ANSWER,
};
use super::shops::{connection_test, control, fake_stats};
use fake_provider::ecommerce::prestashop as presta;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::json;

const PRESTA_HISTORIES: &str = "/prestashop/api/order_histories";

async fn prestashop(h: &Harness, key: &str) -> String {
    let config = json!({"shopUrl": "https://shop.example.vn"});
    let credentials = json!({"webserviceKey": key});
    connect(h, "ecommerce-prestashop", config, credentials).await
}

#[tokio::test]
async fn prestashop_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    for (action, input) in [
        ("list_orders", json!({"customerId": 2})),
        ("get_order", json!({"orderId": 1})),
        ("list_products", json!({"reference": "demo_1"})),
        ("get_product", json!({"productId": 2})),
        ("list_customers", json!({"lastname": "DOE"})),
        ("get_customer", json!({"customerId": 2})),
        ("change_order_state", json!({"orderId": 3, "stateId": 2})),
    ] {
        assert_succeeded(&run(&h, &conn, action, input).await, 1);
    }
    assert_eq!(connection_test(&h, &conn).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn prestashop_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    let done = run(
        &h,
        &conn,
        "change_order_state",
        json!({"orderId": 1, "stateId": 42}),
    )
    .await;
    assert_failed(&done, "PROVIDER_REJECTED", 1);
    let done = run(&h, &conn, "get_customer", json!({"customerId": 77})).await;
    assert_failed(&done, "PROVIDER_NOT_FOUND", 1);
    let key = "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    let bad = prestashop(&h, key).await;
    let done = run(&h, &bad, "list_orders", json!({})).await;
    assert_failed(&done, "PROVIDER_AUTH_FAILED", 1);
    assert_never_echoed(&h, key);
    h.stop().await;
}

#[tokio::test]
async fn prestashop_throttling_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    control(
        &h,
        "/__prestashop/throttle",
        json!({"times": 1, "retryAfterSecs": 1}),
    )
    .await;
    assert_succeeded(&run(&h, &conn, "list_products", json!({})).await, 2);
    let path = "/prestashop/api/customers/2";
    h.fault(json!({"path": path, "kind": "status", "status": 503, "times": 2}))
        .await;
    let done = run(&h, &conn, "get_customer", json!({"customerId": 2})).await;
    assert_succeeded(&done, 3);
    h.stop().await;
}

#[tokio::test]
async fn prestashop_a_state_change_whose_answer_is_lost_adds_one_history() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    h.fault(lost_answer_fault(PRESTA_HISTORIES)).await;
    let done = run(
        &h,
        &conn,
        "change_order_state",
        json!({"orderId": 2, "stateId": 5}),
    )
    .await;
    assert_succeeded(&done, 2);
    assert_eq!(done["output"]["alreadyInState"], true, "{done}");
    assert_eq!(fake_stats(&h, "/__prestashop/stats").await["histories"], 1);
    h.stop().await;
}
