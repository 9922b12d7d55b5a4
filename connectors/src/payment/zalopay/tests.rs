//! ZaloPay: macs against providers.md's vectors (official and derived), and the connector
//! against the fake ZaloPay, which recomputes every mac.

use fake_provider::payment::zalopay as fake_zp;
use integrations_core::connector::Connector;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::actions::{app_trans_id, m_refund_id};
use super::*;
use crate::testing::{self, exec, Conn};

#[test]
fn macs_match_the_providers_md_vectors() {
    let key1 = "PcY4iZIKFCIdgZvA6ueMcMHHUbRLYjPL";
    // Official: ZaloPay's legacy app 553 sample.
    assert_eq!(
        mac(
            "9phuAOYhan4urywHTh0ndEXiV3pKHr5Q",
            &[
                "553",
                "200904_000234",
                "user123",
                "10000",
                "1599202366026",
                "{}",
                "[]"
            ]
        ),
        "7e95836a9feace32458f23416feea423172ef0a098f27a668a1e10788b5a6838"
    );
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "2553",
                "240101_123456",
                "user123",
                "50000",
                "1704067200000",
                "{}",
                "[]",
            ],
            "25582ddf00033e1723a7a4d7daa2f6c7a7a93174489b9c470cfd45dd30377254",
        ),
        (
            &["2553", "240101_123456", key1],
            "1f398e7ecd7cc19e0c1baa0f82a47e11cb1042544f9d90dd55bbb0aa2522c2d0",
        ),
        (
            &[
                "2553",
                "240101000000123",
                "50000",
                "refund",
                "1704067200000",
            ],
            "c78071a58dde34cc7a7b029cb41797ffda7fadbd5342035f3ab7bb5d483186ef",
        ),
        (
            &["2553", "240101_2553_r1", "1704067200000"],
            "7175bd68149dc91818289b1512d4e051510a860169c65a2dd621b650baeb8daf",
        ),
    ];
    for (fields, want) in cases {
        assert_eq!(mac(key1, fields), want, "{fields:?}");
    }
}

/// Official vector 1: the callback mac is HMAC-SHA256 with key2 over the raw data string.
#[test]
fn callback_mac_matches_zalopays_published_sample() {
    let data = r#"{"app_id":2553,"app_trans_id":"200904_2553_1598435687208","app_time":1599189392817,"app_user":"demo","amount":10000,"embed_data":"{\"merchantinfo\":\"embeddata123\",\"promotioninfo\":\"\"}","item":"[{\"itemid\":\"knb\",\"itemname\":\"kim nguyen bao\",\"itemprice\":198400,\"itemquantity\":1}]","zp_trans_id":200904000000389,"server_time":1599189413498,"channel":38,"merchant_user_id":"7ZMSl3nEg5sOUJzOLSoUFT8xKNQVaLOLXHB--8Eytqc","user_fee_amount":0,"discount_amount":0}"#;
    assert_eq!(
        mac("kLtgPl8HHhfvMuDHPwKfgfsY4Ydm9eIz", &[data]),
        "d8d33baf449b31d7f9b94fa50d7c942c08cd4d83f28fa185557da21acb104f67"
    );
}

#[test]
fn keys_derive_from_the_execution_id_and_its_date() {
    let id = format!(
        "{}ABCDEFGHJKMNPQRS",
        crate::payment::tests::ulid_prefix(1_704_126_600_000)
    );
    assert_eq!(app_trans_id(&id), format!("240101_{id}"));
    assert!(app_trans_id(&id).len() <= 40);
    assert_eq!(m_refund_id(2553, &id), format!("240101_2553_{id}"));
}

fn conn(key1: &str) -> Conn {
    Conn::new(
        INTEGRATION_ID,
        json!({"appId": fake_zp::APP_ID, "environment": "sandbox"}),
        &[("key1", key1)],
    )
}

fn order() -> Value {
    json!({"amount": 50000, "appUser": "user123", "description": "Đơn hàng #42", "items": [{"itemid": "knb", "itemprice": 50000}], "embedData": {"redirecturl": "https://shop.example/done"}})
}

#[tokio::test]
async fn create_query_pay_refund_and_follow_the_refund() {
    let fake = testing::fake().await;
    let c = ZaloPayConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::ZALOPAY_PREFIX,
    ));
    let conn = conn(fake_zp::KEY1);
    let id = exec();
    let created = conn
        .run(&c, &id, "create_order", order())
        .await
        .expect("create");
    assert_eq!(created["appTransId"], app_trans_id(&id));
    let q = conn
        .run(
            &c,
            &exec(),
            "query_order",
            json!({"appTransId": created["appTransId"]}),
        )
        .await
        .expect("query");
    assert_eq!(q["status"], "processing", "{q}");
    reqwest::get(created["orderUrl"].as_str().expect("orderUrl"))
        .await
        .expect("pay");
    let q = conn
        .run(
            &c,
            &exec(),
            "query_order",
            json!({"appTransId": created["appTransId"]}),
        )
        .await
        .expect("query");
    assert_eq!(q["status"], "paid", "{q}");

    let refund_exec = exec();
    let input = json!({"zpTransId": q["zpTransId"], "amount": 10000, "description": "refund"});
    let r = conn
        .run(&c, &refund_exec, "refund", input.clone())
        .await
        .expect("refund");
    assert_eq!(r["status"], "processing", "{r}");
    let again = conn
        .run(&c, &refund_exec, "refund", input)
        .await
        .expect("same refund");
    assert_eq!(again["refundId"], r["refundId"]);
    let done = conn
        .run(
            &c,
            &exec(),
            "query_refund",
            json!({"mRefundId": r["mRefundId"]}),
        )
        .await
        .expect("query refund");
    assert_eq!(done["status"], "succeeded", "{done}");

    let e = conn
        .run(
            &c,
            &exec(),
            "refund",
            json!({"zpTransId": q["zpTransId"], "amount": 90000, "description": "x"}),
        )
        .await
        .expect_err("too much");
    assert_eq!(e.kind, ErrorKind::ProviderRejected, "{e}");
}

#[tokio::test]
async fn a_repeat_of_the_same_execution_finds_the_first_order() {
    let fake = testing::fake().await;
    let c = ZaloPayConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::ZALOPAY_PREFIX,
    ));
    let conn = conn(fake_zp::KEY1);
    let id = exec();
    conn.run(&c, &id, "create_order", order())
        .await
        .expect("create");
    let again = conn
        .run(&c, &id, "create_order", order())
        .await
        .expect("found");
    assert_eq!(
        (again["alreadyExisted"].as_bool(), again["status"].as_str()),
        (Some(true), Some("processing")),
        "{again}"
    );
}

#[tokio::test]
async fn a_wrong_key_fails_authentication_and_the_connection_test() {
    let fake = testing::fake().await;
    let c = ZaloPayConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::ZALOPAY_PREFIX,
    ));
    let good = conn(fake_zp::KEY1);
    assert!(c
        .test_connection(good.ctx(&exec()))
        .await
        .expect("ok")
        .contains("2553"));
    let bad = conn("wrong-key1-value");
    let e = c
        .test_connection(bad.ctx(&exec()))
        .await
        .expect_err("bad key");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
    let e = bad
        .run(&c, &exec(), "create_order", order())
        .await
        .expect_err("bad key");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
    bad.assert_clean(&e);
    let e = good
        .run(
            &c,
            &exec(),
            "query_refund",
            json!({"mRefundId": "240101_2553_nope"}),
        )
        .await
        .expect_err("unknown");
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
}

/// ZaloPay's key formats are for the actions the catalog gives a providerField; one on any
/// other action fails the check.
#[test]
fn key_formats_must_belong_to_keyed_actions() {
    use crate::kit::{Actions, KeyFormat, KeyPart};
    const STRAY: &[(&str, KeyFormat)] = &[("query_order", KeyFormat(&[KeyPart::ExecutionId]))];
    let catalog = testing::catalog();
    Actions::new(INTEGRATION_ID, super::actions::TABLE)
        .with_key_formats(super::actions::KEY_FORMATS)
        .check_catalog(catalog)
        .expect("ZaloPay's formats are on keyed actions");
    let e = Actions::new(INTEGRATION_ID, super::actions::TABLE)
        .with_key_formats(STRAY)
        .check_catalog(catalog)
        .expect_err("query_order has no providerField");
    assert_eq!(
        e.message,
        "payment-zalopay.query_order: a key format for an action without a providerField"
    );
}
