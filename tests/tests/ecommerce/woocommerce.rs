//! WooCommerce through the real worker.

use super::common::{
    assert_failed, assert_never_echoed, assert_succeeded, connect, lost_answer_fault, run,
    LOST_ANSWER,
};
use super::shops::{connection_test, control, fake_stats};
use fake_provider::ecommerce::woocommerce as woo;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::json;

const WOO_ORDERS: &str = "/woocommerce/wp-json/wc/v3/orders";

async fn woocommerce(h: &Harness, secret: &str) -> String {
    connect(
        h,
        "ecommerce-woocommerce",
        json!({"storeUrl": "https://shop.example.vn"}),
        json!({"consumerKey": woo::CONSUMER_KEY, "consumerSecret": secret}),
    )
    .await
}

#[tokio::test]
async fn woocommerce_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    for (action, input) in [
        ("list_orders", json!({"status": "processing"})),
        ("get_order", json!({"orderId": 101})),
        ("list_products", json!({"search": "áo"})),
        (
            "update_order_status",
            json!({"orderId": 101, "status": "completed"}),
        ),
        (
            "add_order_note",
            json!({"orderId": 101, "note": "Đã giao hàng"}),
        ),
    ] {
        assert_succeeded(&run(&h, &conn, action, input).await, 1);
    }
    assert_eq!(connection_test(&h, &conn).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn woocommerce_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    let done = run(&h, &conn, "get_order", json!({"orderId": 999})).await;
    assert_failed(&done, "PROVIDER_NOT_FOUND", 1);
    let secret = "cs_wrongwrongwrong0000";
    let bad = woocommerce(&h, secret).await;
    let done = run(&h, &bad, "list_orders", json!({})).await;
    assert_failed(&done, "PROVIDER_AUTH_FAILED", 1);
    assert_eq!(connection_test(&h, &bad).await["success"], false);
    assert_never_echoed(&h, secret);
    h.stop().await;
}

#[tokio::test]
async fn woocommerce_throttling_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    // Throttled, a note is not added: it is sent again (the 429 says nothing happened), not
    // ended OUTCOME_UNKNOWN like a note whose answer is lost.
    control(
        &h,
        "/__woocommerce/throttle",
        json!({"times": 1, "resetSecs": 1}),
    )
    .await;
    let note = json!({"orderId": 102, "note": "Cảm ơn"});
    assert_succeeded(&run(&h, &conn, "add_order_note", note).await, 2);
    assert_eq!(fake_stats(&h, "/__woocommerce/stats").await["notes"], 1);
    control(
        &h,
        "/__woocommerce/throttle",
        json!({"times": 1, "resetSecs": 1}),
    )
    .await;
    assert_succeeded(&run(&h, &conn, "list_orders", json!({})).await, 2);
    h.fault(json!({"path": WOO_ORDERS, "kind": "status", "status": 500, "times": 2}))
        .await;
    assert_succeeded(&run(&h, &conn, "list_orders", json!({})).await, 3);
    h.stop().await;
}

#[tokio::test]
async fn woocommerce_lost_answers_retry_status_updates_but_not_notes() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    h.fault(lost_answer_fault(&format!("{WOO_ORDERS}/101/notes")))
        .await;
    let done = run(
        &h,
        &conn,
        "add_order_note",
        json!({"orderId": 101, "note": "x"}),
    )
    .await;
    assert_failed(&done, "OUTCOME_UNKNOWN", 1);
    assert_eq!(
        fake_stats(&h, "/__woocommerce/stats").await["notes"],
        1,
        "one note, not sent again"
    );
    // Setting a status is natural: the repeat after the lost answer is safe and succeeds.
    h.fault(lost_answer_fault(&format!("{WOO_ORDERS}/103")))
        .await;
    let input = json!({"orderId": 103, "status": "cancelled"});
    let done = run(&h, &conn, "update_order_status", input).await;
    assert_succeeded(&done, 2);
    assert_eq!(done["output"]["status"], "cancelled");
    h.stop().await;
}
