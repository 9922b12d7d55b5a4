use fake_provider::payment::zalopay as fake;
use fake_provider::FakeConfig;
use integration_tests::Harness;
use serde_json::{json, Value};

use super::common::*;

const CREATE: &str = "/zalopay/v2/create";
const REFUND: &str = "/zalopay/v2/refund";

async fn zalopay(h: &Harness, key1: &str) -> String {
    connect(
        h,
        "payment-zalopay",
        json!({"appId": fake::APP_ID}),
        json!({"key1": key1}),
    )
    .await
}

fn order() -> Value {
    json!({"amount": 50000, "appUser": "khach-01", "description": "Đơn hàng #7", "items": [{"itemid": "a1", "itemprice": 50000}]})
}

#[tokio::test]
async fn zalopay_orders_refunds_and_business_errors() {
    let h = Harness::start().await;
    let conn = zalopay(&h, fake::KEY1).await;
    let created = run(&h, &conn, "create_order", order()).await;
    assert_succeeded(&created, 1);
    let q = run(
        &h,
        &conn,
        "query_order",
        json!({"appTransId": created["output"]["appTransId"]}),
    )
    .await;
    assert_eq!(q["output"]["status"], "processing", "{q}");
    let paid = run(
        &h,
        &conn,
        "query_order",
        json!({"appTransId": fake::PAID_APP_TRANS_ID}),
    )
    .await;
    assert_eq!(paid["output"]["status"], "paid", "{paid}");

    let r = run(
        &h,
        &conn,
        "refund",
        json!({"zpTransId": fake::PAID_ZP_TRANS_ID, "amount": 10000, "description": "refund"}),
    )
    .await;
    assert_succeeded(&r, 1);
    assert_eq!(r["output"]["status"], "processing");
    let followed = run(
        &h,
        &conn,
        "query_refund",
        json!({"mRefundId": r["output"]["mRefundId"]}),
    )
    .await;
    assert_eq!(followed["output"]["status"], "succeeded", "{followed}");
    let too_much = run(
        &h,
        &conn,
        "refund",
        json!({"zpTransId": fake::PAID_ZP_TRANS_ID, "amount": 90000, "description": "x"}),
    )
    .await;
    assert_failed(&too_much, "PROVIDER_REJECTED", 1);
    h.stop().await;
}

#[tokio::test]
async fn zalopay_wrong_key_is_an_auth_failure_and_never_echoed() {
    let h = Harness::start().await;
    let key = "zalopay-wrong-key1-0815";
    let conn = zalopay(&h, key).await;
    let done = run(&h, &conn, "create_order", order()).await;
    assert_failed(&done, "PROVIDER_AUTH_FAILED", 1);
    assert_never_echoed(&h, key);
    h.stop().await;
}

#[tokio::test]
async fn zalopay_rate_limits_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = zalopay(&h, fake::KEY1).await;
    h.fault(json!({"path": CREATE, "kind": "rate_limit", "retryAfterSecs": 1, "times": 1}))
        .await;
    assert_succeeded(&run(&h, &conn, "create_order", order()).await, 2);
    h.fault(json!({"path": "/zalopay/v2/query", "kind": "status", "status": 500, "times": 1}))
        .await;
    let q = run(
        &h,
        &conn,
        "query_order",
        json!({"appTransId": fake::PAID_APP_TRANS_ID}),
    )
    .await;
    assert_succeeded(&q, 2);
    h.stop().await;
}

#[tokio::test]
async fn zalopay_writes_whose_answers_are_lost_find_the_first_effect() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = zalopay(&h, fake::KEY1).await;
    h.fault(lost_answer_fault(CREATE)).await;
    let done = run(&h, &conn, "create_order", order()).await;
    // The retry reuses the app_trans_id; ZaloPay refuses the duplicate and the order is found.
    assert_succeeded(&done, 2);
    assert_eq!(done["output"]["alreadyExisted"], true, "{done}");

    h.fault(lost_answer_fault(REFUND)).await;
    let refund =
        json!({"zpTransId": fake::PAID_ZP_TRANS_ID, "amount": 50000, "description": "full"});
    let done = run(&h, &conn, "refund", refund).await;
    assert_succeeded(&done, 2);
    // The whole amount was refunded once: nothing is left to refund.
    let more = run(
        &h,
        &conn,
        "refund",
        json!({"zpTransId": fake::PAID_ZP_TRANS_ID, "amount": 1, "description": "x"}),
    )
    .await;
    assert_failed(&more, "PROVIDER_REJECTED", 1);
    h.stop().await;
}
