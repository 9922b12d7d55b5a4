use fake_provider::payment::momo as fake;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::{json, Value};

use super::common::*;

const CREATE: &str = "/momo/v2/gateway/api/create";
const QUERY: &str = "/momo/v2/gateway/api/query";

async fn momo(h: &Harness, secret: &str) -> String {
    let config = json!({"partnerCode": fake::PARTNER_CODE, "environment": "sandbox"});
    connect(
        h,
        "payment-momo",
        config,
        json!({"accessKey": fake::ACCESS_KEY, "secretKey": secret}),
    )
    .await
}

fn payment() -> Value {
    json!({"amount": 75000, "orderInfo": "Đơn hàng 1001", "redirectUrl": "https://shop.example/r", "ipnUrl": "https://shop.example/ipn"})
}

#[tokio::test]
async fn momo_pays_refunds_and_reports_business_errors() {
    let h = Harness::start().await;
    let conn = momo(&h, fake::SECRET_KEY).await;
    let created = run(&h, &conn, "create_payment", payment()).await;
    assert_succeeded(&created, 1);
    assert_eq!(created["output"]["orderId"], created["executionId"]);
    let order_id = created["output"]["orderId"].clone();
    let q = run(&h, &conn, "query_payment", json!({"orderId": order_id})).await;
    assert_eq!(q["output"]["status"], "pending", "{q}");

    let refund = json!({"transId": fake::PAID_TRANS_ID, "amount": 20000, "description": "đổi ý"});
    let r = run(&h, &conn, "refund", refund).await;
    assert_succeeded(&r, 1);
    assert_eq!(r["output"]["resultCode"], 0);
    let too_much = run(
        &h,
        &conn,
        "refund",
        json!({"transId": fake::PAID_TRANS_ID, "amount": 40000}),
    )
    .await;
    assert_failed(&too_much, "PROVIDER_REJECTED", 1);
    let unknown = run(
        &h,
        &conn,
        "query_payment",
        json!({"orderId": "no-such-order"}),
    )
    .await;
    assert_failed(&unknown, "PROVIDER_NOT_FOUND", 1);
    h.stop().await;
}

#[tokio::test]
async fn momo_wrong_secret_is_an_auth_failure_and_never_echoed() {
    let h = Harness::start().await;
    let secret = "momo-wrong-secret-4711";
    let conn = momo(&h, secret).await;
    let done = run(&h, &conn, "create_payment", payment()).await;
    assert_failed(&done, "PROVIDER_AUTH_FAILED", 1);
    assert_never_echoed(&h, secret);
    h.stop().await;
}

#[tokio::test]
async fn momo_rate_limits_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = momo(&h, fake::SECRET_KEY).await;
    h.fault(json!({"path": CREATE, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    let started = std::time::Instant::now();
    let done = run(&h, &conn, "create_payment", payment()).await;
    assert_succeeded(&done, 2);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After honoured"
    );
    h.fault(json!({"path": QUERY, "kind": "status", "status": 502, "times": 2}))
        .await;
    let q = run(
        &h,
        &conn,
        "query_payment",
        json!({"orderId": done["output"]["orderId"]}),
    )
    .await;
    assert_succeeded(&q, 3);
    h.stop().await;
}

#[tokio::test]
async fn momo_create_whose_answer_is_lost_gets_the_first_payment() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = momo(&h, fake::SECRET_KEY).await;
    h.fault(lost_answer_fault(CREATE)).await;
    let done = run(&h, &conn, "create_payment", payment()).await;
    // The retry carries the same requestId: MoMo answers with the payment made the first time.
    assert_succeeded(&done, 2);
    assert!(done["output"]["payUrl"].as_str().is_some(), "{done}");
    assert_eq!(h.provider_calls(CREATE).await, 2);
    h.stop().await;
}
