use fake_provider::payment::vnpay as fake;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::{json, Value};

use super::common::*;

const API: &str = "/vnpay/merchant_webapi/api/transaction";

async fn vnpay(h: &Harness, secret: &str) -> String {
    connect(
        h,
        "payment-vnpay",
        json!({"tmnCode": fake::TMN_CODE}),
        json!({"hashSecret": secret}),
    )
    .await
}

fn seeded() -> Value {
    json!({"txnRef": fake::PAID_TXN_REF, "transactionDate": fake::PAID_CREATE_DATE})
}

fn refund(amount: i64) -> Value {
    json!({"txnRef": fake::PAID_TXN_REF, "transactionDate": fake::PAID_CREATE_DATE, "amount": amount,
           "transactionType": "03", "createBy": "ops", "transactionNo": fake::PAID_TRANSACTION_NO})
}

#[tokio::test]
async fn vnpay_builds_urls_queries_refunds_and_reports_business_errors() {
    let h = Harness::start().await;
    let conn = vnpay(&h, fake::HASH_SECRET).await;
    let url = run(&h, &conn, "create_payment_url", json!({"amount": 120000, "orderInfo": "Don hang 9", "returnUrl": "https://shop.example/vnp", "ipAddr": "203.0.113.5"})).await;
    assert_succeeded(&url, 1);
    assert_eq!(url["output"]["txnRef"], url["executionId"]);
    assert_eq!(
        h.provider_calls("/vnpay/paymentv2/vpcpay.html").await,
        0,
        "no network call"
    );

    let q = run(&h, &conn, "query_transaction", seeded()).await;
    assert_eq!(q["output"]["transactionStatus"], "00", "{q}");
    assert_succeeded(&run(&h, &conn, "refund", refund(10000)).await, 1);
    assert_failed(
        &run(&h, &conn, "refund", refund(90000)).await,
        "PROVIDER_REJECTED",
        1,
    );
    let unknown = run(
        &h,
        &conn,
        "query_transaction",
        json!({"txnRef": "NOPE", "transactionDate": "20240101000000"}),
    )
    .await;
    assert_failed(&unknown, "PROVIDER_NOT_FOUND", 1);
    h.stop().await;
}

#[tokio::test]
async fn vnpay_wrong_secret_is_an_auth_failure_and_never_echoed() {
    let h = Harness::start().await;
    let secret = "VNPAYWRONGSECRET77";
    let conn = vnpay(&h, secret).await;
    assert_failed(
        &run(&h, &conn, "query_transaction", seeded()).await,
        "PROVIDER_AUTH_FAILED",
        1,
    );
    assert_never_echoed(&h, secret);
    h.stop().await;
}

#[tokio::test]
async fn vnpay_rate_limits_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = vnpay(&h, fake::HASH_SECRET).await;
    h.fault(json!({"path": API, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    assert_succeeded(&run(&h, &conn, "query_transaction", seeded()).await, 2);
    h.fault(json!({"path": API, "kind": "status", "status": 503, "times": 2}))
        .await;
    assert_succeeded(&run(&h, &conn, "query_transaction", seeded()).await, 3);
    h.stop().await;
}

#[tokio::test]
async fn vnpay_refund_whose_answer_is_lost_is_outcome_unknown() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = vnpay(&h, fake::HASH_SECRET).await;
    h.fault(lost_answer_fault(API)).await;
    let done = run(&h, &conn, "refund", refund(10000)).await;
    // VNPay has no idempotency key for refunds: it is not sent twice.
    assert_failed(&done, "OUTCOME_UNKNOWN", 1);
    assert_eq!(h.provider_calls(API).await, 1);
    h.stop().await;
}
