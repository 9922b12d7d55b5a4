//! MoMo: signatures against providers.md's vectors, and the connector against the fake MoMo,
//! which recomputes every signature.

use fake_provider::payment::momo as fake_momo;
use integrations_core::connector::Connector;
use integrations_core::ErrorKind;
use serde_json::{json, Map, Value};

use super::actions::{CREATE_KEYS, QUERY_KEYS, REFUND_KEYS};
use super::*;
use crate::testing::{self, exec, Conn};

const SECRET: &str = "K951B6PE1waDMi640xX08PD3vg6EkVlz";
const ACCESS: &str = "F8BBA842ECF85";

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

#[test]
fn signatures_match_the_providers_md_vectors() {
    let create = body(json!({
        "amount": 50000, "extraData": "", "ipnUrl": "https://example.com/ipn", "orderId": "ORDER123",
        "orderInfo": "pay with MoMo", "partnerCode": "MOMO", "redirectUrl": "https://example.com/return",
        "requestId": "REQ123", "requestType": "captureWallet",
    }));
    assert_eq!(
        signature(SECRET, ACCESS, CREATE_KEYS, &create),
        "797ea9e94ba548abba26463b77d6bd277071511accac6e712cc20fe7870b8f45"
    );
    let query = body(json!({"orderId": "ORDER123", "partnerCode": "MOMO", "requestId": "REQ124"}));
    assert_eq!(
        signature(SECRET, ACCESS, QUERY_KEYS, &query),
        "a6a2197f526fd29a27d1de39418dd576d9b87a6d9a7c97398bd0ddb77bfe82e3"
    );
    let refund = body(json!({
        "amount": 50000, "description": "refund", "orderId": "REFUND123", "partnerCode": "MOMO",
        "requestId": "REQ125", "transId": 4088878653_i64,
    }));
    assert_eq!(
        signature(SECRET, ACCESS, REFUND_KEYS, &refund),
        "eafeae556672278efab73977d505a49ca0763bb55b3c6a9935e879c6dd4e10de"
    );
}

fn conn(secret: &str) -> Conn {
    Conn::new(
        INTEGRATION_ID,
        json!({"partnerCode": fake_momo::PARTNER_CODE, "environment": "sandbox"}),
        &[("accessKey", fake_momo::ACCESS_KEY), ("secretKey", secret)],
    )
}

fn create_input() -> Value {
    json!({"amount": 50000, "orderInfo": "Đơn hàng 42", "redirectUrl": "https://shop.example/return", "ipnUrl": "https://shop.example/ipn"})
}

#[tokio::test]
async fn create_query_pay_and_refund_through_the_fake() {
    let fake = testing::fake().await;
    let c = MomoConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::MOMO_PREFIX,
    ));
    let conn = conn(fake_momo::SECRET_KEY);
    let id = exec();
    let created = conn
        .run(&c, &id, "create_payment", create_input())
        .await
        .expect("create");
    assert_eq!(
        (
            created["orderId"].as_str(),
            created["alreadyExisted"].as_bool()
        ),
        (Some(id.as_str()), Some(false))
    );
    let pay_url = created["payUrl"].as_str().expect("payUrl").to_string();

    let q = conn
        .run(&c, &exec(), "query_payment", json!({"orderId": id}))
        .await
        .expect("query");
    assert_eq!(q["status"], "pending", "{q}");
    reqwest::get(&pay_url).await.expect("pay");
    let q = conn
        .run(&c, &exec(), "query_payment", json!({"orderId": id}))
        .await
        .expect("query");
    assert_eq!(q["status"], "succeeded", "{q}");
    let trans_id = q["transId"].as_i64().expect("transId");

    let refund_id = exec();
    let input = json!({"transId": trans_id, "amount": 20000, "description": "khách trả hàng"});
    let r = conn
        .run(&c, &refund_id, "refund", input.clone())
        .await
        .expect("refund");
    assert_eq!(
        (r["resultCode"].as_i64(), r["amount"].as_i64()),
        (Some(0), Some(20000)),
        "{r}"
    );
    // The same execution again: MoMo replays the first refund instead of refunding twice.
    let again = conn
        .run(&c, &refund_id, "refund", input)
        .await
        .expect("replayed");
    assert_eq!(again["transId"], r["transId"]);
    let q = conn
        .run(&c, &exec(), "query_payment", json!({"orderId": id}))
        .await
        .expect("query");
    assert_eq!(q["refunds"].as_array().map(Vec::len), Some(1), "{q}");

    // Refunding more than what is left is MoMo's 1081, a rejection.
    let e = conn
        .run(
            &c,
            &exec(),
            "refund",
            json!({"transId": trans_id, "amount": 40000}),
        )
        .await
        .expect_err("too much");
    assert_eq!(e.kind, ErrorKind::ProviderRejected, "{e}");
}

#[tokio::test]
async fn a_repeat_of_the_same_execution_finds_the_first_payment() {
    let fake = testing::fake().await;
    let c = MomoConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::MOMO_PREFIX,
    ));
    let conn = conn(fake_momo::SECRET_KEY);
    let id = exec();
    let first = conn
        .run(&c, &id, "create_payment", create_input())
        .await
        .expect("create");
    let replay = conn
        .run(&c, &id, "create_payment", create_input())
        .await
        .expect("replay");
    assert_eq!(replay["payUrl"], first["payUrl"]);
    // With other parameters MoMo refuses the requestId (40): the payment is looked up.
    let mut other = create_input();
    other["orderInfo"] = json!("changed");
    let found = conn
        .run(&c, &id, "create_payment", other)
        .await
        .expect("found");
    assert_eq!(
        (found["alreadyExisted"].as_bool(), found["amount"].as_i64()),
        (Some(true), Some(50000)),
        "{found}"
    );
}

#[tokio::test]
async fn wrong_keys_fail_authentication_and_the_connection_test() {
    let fake = testing::fake().await;
    let c = MomoConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::MOMO_PREFIX,
    ));
    let good = conn(fake_momo::SECRET_KEY);
    let msg = c
        .test_connection(good.ctx(&exec()))
        .await
        .expect("connection test");
    assert!(msg.contains("MOMO"), "{msg}");
    let bad = conn("not-the-secret-key-0000");
    let e = c
        .test_connection(bad.ctx(&exec()))
        .await
        .expect_err("bad key");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
    bad.assert_clean(&e);
    let e = bad
        .run(&c, &exec(), "create_payment", create_input())
        .await
        .expect_err("bad key");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
    let e = good
        .run(&c, &exec(), "query_payment", json!({"orderId": "nope"}))
        .await
        .expect_err("unknown");
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
}

/// MoMo refuses a requestId again after an unfinished answer even though nothing was made:
/// the connector resends under a fresh requestId, the orderId still guarding the payment.
#[tokio::test]
async fn a_retry_after_an_unfinished_answer_still_creates_the_payment() {
    let fake = testing::fake().await;
    let c = MomoConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::MOMO_PREFIX,
    ));
    let conn = conn(fake_momo::SECRET_KEY);
    let id = exec();
    // An earlier attempt of this execution that MoMo refused (22, not final).
    let mut first = body(json!({
        "partnerCode": "MOMO", "requestId": id, "orderId": id, "amount": 500, "orderInfo": "x",
        "redirectUrl": "https://shop.example/r", "ipnUrl": "https://shop.example/i",
        "requestType": "captureWallet", "extraData": "", "lang": "vi",
    }));
    let sig = signature(
        fake_momo::SECRET_KEY,
        fake_momo::ACCESS_KEY,
        CREATE_KEYS,
        &first,
    );
    first.insert("signature".into(), json!(sig));
    let url = format!(
        "{}{}/v2/gateway/api/create",
        fake.url(),
        fake_provider::MOMO_PREFIX
    );
    let refused: Value = reqwest::Client::new()
        .post(url)
        .json(&first)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(refused["resultCode"], 22, "{refused}");

    let made = conn
        .run(&c, &id, "create_payment", create_input())
        .await
        .expect("created");
    assert_eq!(
        (made["orderId"].as_str(), made["alreadyExisted"].as_bool()),
        (Some(id.as_str()), Some(false)),
        "{made}"
    );
    assert!(made["payUrl"].as_str().is_some(), "{made}");
}
