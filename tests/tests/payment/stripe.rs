use fake_provider::payment::stripe as fake;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::json;

use super::common::*;

const REFUNDS: &str = "/stripe/v1/refunds";

async fn stripe(h: &Harness, key: &str) -> String {
    connect(h, "payment-stripe", json!({}), json!({"secretKey": key})).await
}

#[tokio::test]
async fn stripe_reads_refunds_and_reports_business_errors() {
    let h = Harness::start().await;
    let conn = stripe(&h, fake::SECRET_KEY).await;
    let pi = run(
        &h,
        &conn,
        "get_payment_intent",
        json!({"paymentIntentId": fake::PAID_INTENT_ID}),
    )
    .await;
    assert_eq!(pi["output"]["status"], "succeeded", "{pi}");
    let charges = run(
        &h,
        &conn,
        "list_customer_charges",
        json!({"customerId": fake::CUSTOMER_ID}),
    )
    .await;
    assert_eq!(
        charges["output"]["charges"].as_array().map(Vec::len),
        Some(2),
        "{charges}"
    );
    let r = run(
        &h,
        &conn,
        "create_refund",
        json!({"chargeId": fake::CHARGE_ID, "amount": 500}),
    )
    .await;
    assert_succeeded(&r, 1);
    assert_eq!(r["output"]["status"], "succeeded");
    let nothing = run(
        &h,
        &conn,
        "create_refund",
        json!({"paymentIntentId": fake::UNPAID_INTENT_ID}),
    )
    .await;
    assert_failed(&nothing, "PROVIDER_REJECTED", 1);
    let missing = run(
        &h,
        &conn,
        "get_payment_intent",
        json!({"paymentIntentId": "pi_missing"}),
    )
    .await;
    assert_failed(&missing, "PROVIDER_NOT_FOUND", 1);
    h.stop().await;
}

#[tokio::test]
async fn stripe_wrong_key_is_an_auth_failure_and_never_echoed() {
    let h = Harness::start().await;
    let key = "sk_test_wrong_0000111122223333";
    let conn = stripe(&h, key).await;
    let done = run(
        &h,
        &conn,
        "get_payment_intent",
        json!({"paymentIntentId": fake::PAID_INTENT_ID}),
    )
    .await;
    assert_failed(&done, "PROVIDER_AUTH_FAILED", 1);
    assert_never_echoed(&h, key);
    h.stop().await;
}

#[tokio::test]
async fn stripe_rate_limits_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = stripe(&h, fake::SECRET_KEY).await;
    h.fault(json!({"path": REFUNDS, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    let r = run(
        &h,
        &conn,
        "create_refund",
        json!({"chargeId": fake::CHARGE_ID, "amount": 100}),
    )
    .await;
    assert_succeeded(&r, 2);
    h.fault(json!({"path": REFUNDS, "kind": "status", "status": 500, "times": 1}))
        .await;
    let r = run(
        &h,
        &conn,
        "create_refund",
        json!({"chargeId": fake::CHARGE_ID, "amount": 100}),
    )
    .await;
    assert_succeeded(&r, 2);
    h.stop().await;
}

#[tokio::test]
async fn stripe_refund_whose_answer_is_lost_is_made_once() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = stripe(&h, fake::SECRET_KEY).await;
    h.fault(lost_answer_fault(REFUNDS)).await;
    let done = run(
        &h,
        &conn,
        "create_refund",
        json!({"paymentIntentId": fake::PAID_INTENT_ID, "amount": 1500}),
    )
    .await;
    // The retry carries the same Idempotency-Key: Stripe replays the refund made the first time.
    assert_succeeded(&done, 2);
    let charges = run(
        &h,
        &conn,
        "list_customer_charges",
        json!({"customerId": fake::CUSTOMER_ID}),
    )
    .await;
    let refunded: Vec<i64> = charges["output"]["charges"]
        .as_array()
        .expect("charges")
        .iter()
        .filter_map(|c| c["amountRefunded"].as_i64())
        .collect();
    assert_eq!(
        refunded.iter().sum::<i64>(),
        1500,
        "refunded once: {refunded:?}"
    );
    h.stop().await;
}
