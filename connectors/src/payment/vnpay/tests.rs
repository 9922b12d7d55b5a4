//! VNPay: the payment-URL hash against providers.md's vector (through the kit's signer), and
//! the connector against the fake VNPay, which recomputes both kinds of checksum.

use fake_provider::payment::vnpay as fake_vnpay;
use integrations_core::connector::Connector;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::kit::auth::canonical;
use crate::kit::sign::{hmac, Encoding, HmacAlgorithm};
use crate::kit::Request;
use crate::testing::{self, exec, Conn};

#[test]
fn payment_url_hash_matches_the_providers_md_vector() {
    let out = Request::get("/paymentv2/vpcpay.html")
        .query("vnp_Version", "2.1.0")
        .query("vnp_Command", "pay")
        .query("vnp_TmnCode", "DEMOV210")
        .query("vnp_Amount", "1806000")
        .query("vnp_CreateDate", "20210801153333")
        .query("vnp_CurrCode", "VND")
        .query("vnp_IpAddr", "127.0.0.1")
        .query("vnp_Locale", "vn")
        .query("vnp_OrderInfo", "Thanh toan don hang :5")
        .query("vnp_OrderType", "other")
        .query("vnp_ReturnUrl", "https://domainmerchant.vn/ReturnUrl")
        .query("vnp_TxnRef", "5")
        .query("vnp_BankCode", "")
        .encode()
        .expect("encode");
    let data = canonical::sorted_query(&out).expect("canonical");
    assert_eq!(data, "vnp_Amount=1806000&vnp_Command=pay&vnp_CreateDate=20210801153333&vnp_CurrCode=VND&vnp_IpAddr=127.0.0.1&vnp_Locale=vn&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other&vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210&vnp_TxnRef=5&vnp_Version=2.1.0");
    assert_eq!(
        Encoding::Hex.encode(&hmac(HmacAlgorithm::Sha512, b"TESTSECRET", data.as_bytes())),
        "8d664a901079332bbfcc6c56b36be15967e4fc3c408436bf167dd73a2cb1f14f4fbd78dc43d1fb3e4dfae752476ba3b817121ba08edd1a7f6b947d4a51ee1c7d"
    );
}

fn conn(secret: &str) -> Conn {
    Conn::new(
        INTEGRATION_ID,
        json!({"tmnCode": fake_vnpay::TMN_CODE}),
        &[("hashSecret", secret)],
    )
}

fn pay_input() -> Value {
    json!({"amount": 150000, "orderInfo": "Thanh toan don hang 42", "returnUrl": "https://shop.example/vnpay-return", "ipAddr": "203.0.113.9"})
}

#[tokio::test]
async fn build_the_url_pay_it_query_and_refund() {
    let fake = testing::fake().await;
    let c = VnpayConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::VNPAY_PREFIX,
    ));
    let conn = conn(fake_vnpay::HASH_SECRET);
    let id = exec();
    let built = conn
        .run(&c, &id, "create_payment_url", pay_input())
        .await
        .expect("url");
    assert_eq!(built["txnRef"], id.as_str());
    let again = conn
        .run(&c, &id, "create_payment_url", pay_input())
        .await
        .expect("url");
    assert_eq!(again, built, "a repeat builds the same URL");
    // The fake's payment page recomputes the hash, then sends the payer back.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let page = no_redirect
        .get(built["paymentUrl"].as_str().expect("url"))
        .send()
        .await
        .expect("pay");
    assert_eq!(page.status().as_u16(), 302, "{:?}", page.text().await);

    let q = json!({"txnRef": id, "transactionDate": built["createDate"]});
    let tx = conn
        .run(&c, &exec(), "query_transaction", q.clone())
        .await
        .expect("query");
    assert_eq!(
        (tx["transactionStatus"].as_str(), tx["amount"].as_i64()),
        (Some("00"), Some(150000)),
        "{tx}"
    );
    let refund = json!({"txnRef": id, "amount": 50000, "transactionType": "03", "transactionDate": built["createDate"], "createBy": "ops", "transactionNo": tx["transactionNo"]});
    let r = conn
        .run(&c, &exec(), "refund", refund)
        .await
        .expect("refund");
    assert_eq!(
        (r["responseCode"].as_str(), r["transactionType"].as_str()),
        (Some("00"), Some("03")),
        "{r}"
    );
    let too_much = json!({"txnRef": id, "amount": 500000, "transactionType": "03", "transactionDate": built["createDate"], "createBy": "ops"});
    let e = conn
        .run(&c, &exec(), "refund", too_much)
        .await
        .expect_err("too much");
    assert_eq!(e.kind, ErrorKind::ProviderRejected, "{e}");
    let e = conn
        .run(
            &c,
            &exec(),
            "query_transaction",
            json!({"txnRef": "nope", "transactionDate": "20240101000000"}),
        )
        .await
        .expect_err("unknown");
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
}

#[tokio::test]
async fn a_wrong_secret_fails_authentication_and_the_connection_test() {
    let fake = testing::fake().await;
    let c = VnpayConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::VNPAY_PREFIX,
    ));
    let good = conn(fake_vnpay::HASH_SECRET);
    assert!(c
        .test_connection(good.ctx(&exec()))
        .await
        .expect("ok")
        .contains(fake_vnpay::TMN_CODE));
    let bad = conn("WRONGSECRET");
    let e = c.test_connection(bad.ctx(&exec())).await.expect_err("bad");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
    bad.assert_clean(&e);
    let seeded = json!({"txnRef": fake_vnpay::PAID_TXN_REF, "transactionDate": fake_vnpay::PAID_CREATE_DATE});
    let e = bad
        .run(&c, &exec(), "query_transaction", seeded)
        .await
        .expect_err("bad");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
}

/// The connector's and the fake's answer checksums agree (both follow the UNCONFIRMED order).
#[test]
fn answer_checksums_agree_with_the_fake() {
    let mut answer: serde_json::Map<String, Value> = json!({
        "vnp_ResponseId": "R1", "vnp_Command": "querydr", "vnp_ResponseCode": "00", "vnp_Message": "ok",
        "vnp_TmnCode": "DEMOV210", "vnp_TxnRef": "T1", "vnp_Amount": "100000", "vnp_BankCode": "NCB",
        "vnp_PayDate": "20240101120000", "vnp_TransactionNo": "1", "vnp_TransactionType": "01",
        "vnp_TransactionStatus": "00", "vnp_OrderInfo": "x", "vnp_PromotionCode": "", "vnp_PromotionAmount": "",
    })
    .as_object()
    .cloned()
    .expect("object");
    let hash = fake_vnpay::pipe_hash(fake_vnpay::RESPONSE_FIELDS, &answer);
    answer.insert("vnp_SecureHash".into(), json!(hash));
    assert!(super::client::answer_verified(
        fake_vnpay::HASH_SECRET,
        super::actions::ANSWER_FIELDS,
        &answer
    ));
    assert!(!super::client::answer_verified(
        "other",
        super::actions::ANSWER_FIELDS,
        &answer
    ));
}
