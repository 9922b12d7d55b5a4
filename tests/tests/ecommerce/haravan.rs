//! Haravan through the real worker.

use super::common::{
    assert_failed, assert_never_echoed, assert_succeeded, connect, lost_answer_fault, run,
    LOST_ANSWER,
};
use super::shops::{connection_test, control, fake_stats};
use fake_provider::ecommerce::haravan;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::json;

const HARAVAN_FULFIL: &str = "/haravan/com/orders/1002/fulfillments.json";

async fn haravan(h: &Harness, token: &str) -> String {
    let config = json!({"shopDomain": "shop-a.myharavan.com"});
    connect(
        h,
        "ecommerce-haravan",
        config,
        json!({"accessToken": token}),
    )
    .await
}

#[tokio::test]
async fn haravan_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    for (action, input) in [
        ("list_orders", json!({"fulfillmentStatus": "unshipped"})),
        ("count_orders", json!({"status": "cancelled"})),
        ("list_products", json!({"title": "mũ"})),
        ("get_product", json!({"productId": 501})),
        (
            "create_fulfillment",
            json!({"orderId": 1001, "trackingNumber": "GHN1", "trackingCompany": "GHN"}),
        ),
    ] {
        assert_succeeded(&run(&h, &conn, action, input).await, 1);
    }
    assert_eq!(connection_test(&h, &conn).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn haravan_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    let input = json!({"orderId": 1003, "trackingNumber": "X1"});
    let done = run(&h, &conn, "create_fulfillment", input).await;
    assert_failed(&done, "PROVIDER_REJECTED", 1);
    let token = "haravan-wrong-token-123456";
    let bad = haravan(&h, token).await;
    let done = run(&h, &bad, "count_orders", json!({})).await;
    // Haravan's tokens cannot be renewed: a refused one needs a new authorization.
    assert_failed(&done, "CONNECTION_REAUTH_REQUIRED", 1);
    assert_never_echoed(&h, token);
    h.stop().await;
}

#[tokio::test]
async fn haravan_a_full_bucket_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    control(
        &h,
        "/__haravan/bucket",
        json!({"level": haravan::BUCKET_SIZE}),
    )
    .await;
    assert_succeeded(&run(&h, &conn, "count_orders", json!({})).await, 2);
    let path = "/haravan/com/products/501.json";
    h.fault(json!({"path": path, "kind": "status", "status": 502, "times": 2}))
        .await;
    let done = run(&h, &conn, "get_product", json!({"productId": 501})).await;
    assert_succeeded(&done, 3);
    h.stop().await;
}

#[tokio::test]
async fn haravan_a_fulfillment_whose_answer_is_lost_is_found_again() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    h.fault(lost_answer_fault(HARAVAN_FULFIL)).await;
    let input = json!({"orderId": 1002, "trackingNumber": "VTP77"});
    let done = run(&h, &conn, "create_fulfillment", input).await;
    assert_succeeded(&done, 2);
    assert_eq!(done["output"]["alreadyExisted"], true, "{done}");
    assert_eq!(fake_stats(&h, "/__haravan/stats").await["fulfillments"], 1);
    h.stop().await;
}
