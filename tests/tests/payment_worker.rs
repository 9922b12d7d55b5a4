//! The payment connectors through the real API and worker against the payment fakes:
//! success, typical business errors, auth failure, rate limiting, a server error, and a write
//! whose answer is lost (the provider's idempotency finds the first effect; VNPay's refund,
//! which has none, ends OUTCOME_UNKNOWN). Every succeeded output checks against its
//! outputSchema.

#[path = "payment/common.rs"]
mod common;
#[path = "payment/momo.rs"]
mod momo;
#[path = "payment/stripe.rs"]
mod stripe;
#[path = "payment/vnpay.rs"]
mod vnpay;
#[path = "payment/zalopay.rs"]
mod zalopay;

use fake_provider::payment::{
    momo as fake_momo, stripe as fake_stripe, vnpay as fake_vnpay, zalopay as fake_zp,
};
use integration_tests::Harness;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// `GET /catalog` lists the four payment integrations, and each connection test passes with
/// the fake's credentials and fails, without echoing them, with wrong ones.
#[tokio::test]
async fn payment_catalog_and_connection_tests_through_the_api() {
    let h = Harness::start().await;
    let (s, b) = h
        .call(Method::GET, "/catalog?category=payment", "t1", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = b["integrations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["integrationId"].as_str())
        .collect();
    for id in [
        "payment-momo",
        "payment-zalopay",
        "payment-vnpay",
        "payment-stripe",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    let cases: [(&str, Value, &str, &str, &str); 4] = [
        (
            "payment-momo",
            json!({"partnerCode": fake_momo::PARTNER_CODE}),
            "secretKey",
            fake_momo::SECRET_KEY,
            "momo-bad-secret-1",
        ),
        (
            "payment-zalopay",
            json!({"appId": fake_zp::APP_ID}),
            "key1",
            fake_zp::KEY1,
            "zalopay-bad-key-1",
        ),
        (
            "payment-vnpay",
            json!({"tmnCode": fake_vnpay::TMN_CODE}),
            "hashSecret",
            fake_vnpay::HASH_SECRET,
            "VNPAYBADSECRET1",
        ),
        (
            "payment-stripe",
            json!({}),
            "secretKey",
            fake_stripe::SECRET_KEY,
            "sk_test_bad_key_000001",
        ),
    ];
    for (integration, config, field, good, bad) in cases {
        for (secret, ok) in [(good, true), (bad, false)] {
            let mut creds = json!({ field: secret });
            if integration == "payment-momo" {
                creds["accessKey"] = json!(fake_momo::ACCESS_KEY);
            }
            let conn = common::connect(&h, integration, config.clone(), creds).await;
            let (s, b) = h
                .call(
                    Method::POST,
                    &format!("/connections/{conn}/test"),
                    "t1",
                    None,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{b}");
            assert_eq!(b["success"], ok, "{integration}: {b}");
            if !ok {
                assert_eq!(
                    b["error"]["code"], "PROVIDER_AUTH_FAILED",
                    "{integration}: {b}"
                );
            }
        }
        common::assert_never_echoed(&h, good);
    }
    h.stop().await;
}
