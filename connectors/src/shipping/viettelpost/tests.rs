//! The Viettel Post connector against the fake VTP (in process): login-then-token, renewal on
//! expiry by one caller, idempotent ORDER_NUMBER, and every output against the catalog.

use std::sync::Arc;

use fake_provider::shipping::viettelpost::{self as fake_vtp, VtpStats};
use fake_provider::shipping::viettelpost_base_url;
use fake_provider::{FakeConfig, Fault};
use integrations_core::{Error, ErrorKind};
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, control, credentials, get_json, Conn};

const EXEC: &str = "01JVTPCREATEORDER00000001";

type Harness = testing::Harness<ViettelPostConnector>;

async fn harness() -> Harness {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("start fake");
    let settings = testing::settings_at(INTEGRATION_ID, &viettelpost_base_url(&fake));
    let config = json!({
        "username": fake_vtp::USERNAME,
        "groupAddressId": 0,
        "sender": {
            "name": "Shop A", "phone": "0911222333", "address": "1 Tràng Tiền",
            "provinceId": 1, "districtId": 4, "wardId": 31
        }
    });
    Harness {
        connector: ViettelPostConnector::new(&settings),
        conn: Conn::new(INTEGRATION_ID, config, &[("password", fake_vtp::PASSWORD)]),
        fake,
    }
}

impl Harness {
    async fn err(&self, action: &str, input: Value) -> Error {
        let e = self.fails(EXEC, action, input).await;
        assert!(
            !e.message.contains(fake_vtp::PASSWORD),
            "password leaked: {e}"
        );
        assert!(!e.message.contains("vtp.l"), "token leaked: {e}");
        e
    }

    async fn stats(&self) -> VtpStats {
        let v = get_json(format!("{}/__viettelpost/stats", self.fake.url())).await;
        serde_json::from_value(v).expect("stats")
    }

    async fn expire_tokens(&self) {
        control(
            format!("{}/__viettelpost/expire-tokens", self.fake.url()),
            json!({}),
        )
        .await;
    }
}

fn route() -> Value {
    json!({"receiverProvinceId": 2, "receiverDistrictId": 43, "weight": 1200, "codAmount": 200000})
}

fn order_input() -> Value {
    json!({
        "receiverName": "Trần Thị B", "receiverPhone": "0987654321", "receiverAddress": "5 Lê Lợi",
        "receiverProvinceId": 2, "receiverDistrictId": 43, "receiverWardId": 510,
        "productName": "Sách", "weight": 1200, "productPrice": 200000, "codAmount": 200000,
        "paymentMethod": 3, "serviceCode": "VCN",
        "items": [{"name": "Sách", "price": 200000, "weight": 1200, "quantity": 1}]
    })
}

#[tokio::test]
async fn the_first_call_logs_in_once_and_later_calls_reuse_the_token() {
    let h = harness().await;
    let mut input = route();
    input["serviceCode"] = json!("VCN");
    let price = h.ok(EXEC, "calculate_price", input).await;
    assert_eq!(
        (price["fee"].clone(), price["total"].clone()),
        (json!(45_000), json!(50_760))
    );
    let services = h.ok(EXEC, "list_services", route()).await;
    assert!(
        services["services"]
            .as_array()
            .is_some_and(|s| s.len() == 3),
        "{services}"
    );
    let stats = h.stats().await;
    assert_eq!(
        (stats.logins, stats.token_exchanges, stats.rejected_tokens),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn master_data_needs_no_login() {
    let h = harness().await;
    let p = h.ok(EXEC, "get_provinces", json!({})).await;
    assert_eq!(p["provinces"][0]["name"], "Hà Nội");
    let d = h.ok(EXEC, "get_districts", json!({"provinceId": 2})).await;
    assert_eq!(d["districts"][0]["districtId"], 43);
    let w = h.ok(EXEC, "get_wards", json!({"districtId": 43})).await;
    assert_eq!(w["wards"][0]["wardId"], 510);
    assert_eq!(h.stats().await.logins, 0);
}

#[tokio::test]
async fn fifty_concurrent_calls_with_an_expired_token_log_in_once() {
    let h = Arc::new(harness().await);
    h.ok(EXEC, "list_services", route()).await;
    h.expire_tokens().await;
    let calls = (0..50).map(|i| {
        let h = h.clone();
        tokio::spawn(async move {
            let exec = format!("01JVTPCONCURRENT{i:010}");
            h.run_as(&exec, "list_services", route()).await
        })
    });
    for outcome in futures_join(calls).await {
        outcome.expect("renewed and succeeded");
    }
    let stats = h.stats().await;
    assert_eq!(
        (stats.logins, stats.token_exchanges),
        (2, 2),
        "one login before, one renewal"
    );
    assert!(
        stats.rejected_tokens >= 1 && stats.rejected_tokens <= 50,
        "{stats:?}"
    );
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn a_connection_token_is_used_and_renewed_when_rejected() {
    let mut h = harness().await;
    h.conn.credentials = credentials(&[("password", fake_vtp::PASSWORD), ("token", "stale-token")]);
    h.ok(EXEC, "list_services", route()).await;
    let stats = h.stats().await;
    assert_eq!((stats.logins, stats.rejected_tokens), (1, 1));
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_failure_without_the_password() {
    let mut h = harness().await;
    h.conn.credentials = credentials(&[("password", "wrong-password-42")]);
    let e = h.err("list_services", route()).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderAuthFailed, false),
        "{e}"
    );
    assert!(!e.message.contains("wrong-password-42"), "{e}");
    let c = h.ctx(EXEC);
    let e = h.connector.test_connection(c).await.expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
}

#[tokio::test]
async fn create_is_idempotent_on_order_number_and_cancel_twice_succeeds() {
    let h = harness().await;
    let first = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(
        (
            first["partnerOrderNumber"].clone(),
            first["alreadyExisted"].clone()
        ),
        (json!(EXEC), json!(false))
    );
    let again = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(again["alreadyExisted"], true);
    assert_eq!(again["orderNumber"], first["orderNumber"]);
    assert_eq!(h.stats().await.orders, 1);
    let cancel = json!({"orderNumber": first["orderNumber"], "note": "khách hủy"});
    assert_eq!(
        h.ok(EXEC, "cancel_order", cancel.clone()).await["alreadyCancelled"],
        false
    );
    assert_eq!(
        h.ok(EXEC, "cancel_order", cancel).await["alreadyCancelled"],
        true
    );

    let other = h
        .ok("01JVTPOTHERORDER000000002", "create_order", order_input())
        .await;
    let code = other["orderNumber"].as_str().expect("code");
    control(
        format!("{}/__viettelpost/orders/{code}/status", h.fake.url()),
        json!({"status": 501}),
    )
    .await;
    let e = h.err("cancel_order", json!({"orderNumber": code})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
}

#[tokio::test]
async fn business_errors_outages_and_validation_are_classified() {
    let mut h = harness().await;
    let mut input = order_input();
    input["receiverDistrictId"] = json!(4);
    let e = h.err("create_order", input).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    h.fake
        .inject(Fault::status(502).on("/viettelpost/v2/order/getPriceAll"))
        .expect("inject");
    let e = h.err("list_services", route()).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true),
        "{e}"
    );
    h.fake.inject(Fault::rate_limit(2)).expect("inject");
    let e = h.err("list_services", route()).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true),
        "{e}"
    );
    h.conn.config["sender"] = json!({});
    let e = h.err("list_services", route()).await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}");
}
