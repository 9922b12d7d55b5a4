//! The GHTK connector against the fake GHTK (in process): every happy path's input and output
//! checked against the embedded catalog's schemas.

use fake_provider::shipping::{ghtk as fake_ghtk, ghtk_base_url};
use fake_provider::{FakeConfig, Fault};
use integrations_core::{Error, ErrorKind};
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, control, credentials, get_json, Conn};

const EXEC: &str = "01JGHTKCREATEORDER0000001";

type Harness = testing::Harness<GhtkConnector>;

async fn harness() -> Harness {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("start fake");
    let settings = testing::settings_at(INTEGRATION_ID, &ghtk_base_url(&fake));
    let config = json!({
        "environment": "staging",
        "clientSource": "partner-1",
        "pickup": {
            "name": "Shop A", "phone": "0911222333", "address": "1 Tràng Tiền",
            "province": "Hà Nội", "district": "Quận Hoàn Kiếm"
        }
    });
    Harness {
        connector: GhtkConnector::new(&settings),
        conn: Conn::new(INTEGRATION_ID, config, &[("apiToken", fake_ghtk::TOKEN)]),
        fake,
    }
}

impl Harness {
    async fn err(&self, action: &str, input: Value) -> Error {
        self.fails(EXEC, action, input).await
    }
}

fn fee_input() -> Value {
    json!({"toProvince": "Hồ Chí Minh", "toDistrict": "Quận 1", "weight": 1200, "value": 3000000})
}

fn order_input() -> Value {
    json!({
        "products": [{"name": "Sách", "weight": 600, "quantity": 2, "price": 100000}],
        "toName": "Trần Thị B", "toPhone": "0987654321", "toAddress": "5 Lê Lợi",
        "toProvince": "Hồ Chí Minh", "toDistrict": "Quận 1", "codAmount": 150000, "value": 3000000,
        "note": "Gọi trước khi giao"
    })
}

#[tokio::test]
async fn fee_uses_the_connection_pickup_and_matches_the_schema() {
    let h = harness().await;
    let out = h.ok(EXEC, "calculate_fee", fee_input()).await;
    assert_eq!(out["fee"], 35_000);
    assert_eq!(out["insuranceFee"], 15_000);
    assert_eq!(out["delivery"], true);
    let mut input = fee_input();
    input["pickup"] = json!({"province": "Hồ Chí Minh", "district": "Quận 3"});
    let out = h.ok(EXEC, "calculate_fee", input).await;
    assert_eq!(out["fee"], 27_000, "within one province");
}

#[tokio::test]
async fn create_is_idempotent_on_the_execution_id() {
    let h = harness().await;
    let first = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(first["partnerId"], EXEC);
    assert_eq!(first["alreadyExisted"], false);
    assert_eq!(
        first["fee"], 35_000,
        "GHTK's string fee is read as a number"
    );
    let again = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(again["alreadyExisted"], true);
    assert_eq!(again["label"], first["label"]);
    let stats = get_json(format!("{}/__ghtk/stats", h.fake.url())).await;
    assert_eq!(stats["orders"], 1);
    let other = h
        .ok("01JGHTKOTHER00000000000002", "create_order", order_input())
        .await;
    assert_ne!(other["label"], first["label"]);
}

#[tokio::test]
async fn track_and_cancel_twice_then_refuse_past_pickup() {
    let h = harness().await;
    let created = h.ok(EXEC, "create_order", order_input()).await;
    let label = json!({"label": created["label"]});
    let tracked = h.ok(EXEC, "track_order", label.clone()).await;
    assert_eq!(
        (tracked["status"].clone(), tracked["partnerId"].clone()),
        (json!(2), json!(EXEC))
    );
    assert_eq!(tracked["codAmount"], 150_000);
    let cancelled = h.ok(EXEC, "cancel_order", label.clone()).await;
    assert_eq!(cancelled["alreadyCancelled"], false);
    let again = h.ok(EXEC, "cancel_order", label.clone()).await;
    assert_eq!(again["alreadyCancelled"], true);
    assert_eq!(h.ok(EXEC, "track_order", label).await["status"], -1);

    let other = h
        .ok("01JGHTKOTHER00000000000003", "create_order", order_input())
        .await;
    let l = other["label"].as_str().expect("label");
    control(
        format!("{}/__ghtk/orders/{l}/status", h.fake.url()),
        json!({"status": 3}),
    )
    .await;
    let e = h.err("cancel_order", json!({"label": l})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    let e = h.err("track_order", json!({"label": "S1.A1.1"})).await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
}

#[tokio::test]
async fn auth_business_and_validation_failures_are_classified() {
    let mut h = harness().await;
    let e = h
        .err(
            "calculate_fee",
            json!({"toProvince": "Atlantis", "toDistrict": "X", "weight": 1}),
        )
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    let mut input = order_input();
    input["toPhone"] = json!("0123");
    assert_eq!(
        h.err("create_order", input).await.kind,
        ErrorKind::ProviderRejected
    );
    let pickup = std::mem::replace(&mut h.conn.config["pickup"], json!({}));
    let e = h.err("calculate_fee", fee_input()).await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}");
    h.conn.config["pickup"] = pickup;
    h.conn.credentials = credentials(&[("apiToken", "not-the-token")]);
    let e = h.err("calculate_fee", fee_input()).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderAuthFailed, false),
        "{e}"
    );
    assert!(!e.message.contains("not-the-token"), "{e}");
}

#[tokio::test]
async fn throttling_outages_and_garbled_answers_are_retryable() {
    let h = harness().await;
    h.fake.inject(Fault::rate_limit(3)).expect("inject");
    let e = h.err("calculate_fee", fee_input()).await;
    assert_eq!(e.kind, ErrorKind::ProviderRateLimited, "{e}");
    assert!(e.retryable);
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
    h.fake.inject(Fault::status(502)).expect("inject");
    let e = h.err("track_order", json!({"label": "S1.A1.1"})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true),
        "{e}"
    );
    h.fake.inject(Fault::malformed()).expect("inject");
    let e = h.err("calculate_fee", fee_input()).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderBadResponse, true),
        "{e}"
    );
}

#[tokio::test]
async fn the_connection_test_proves_the_token() {
    let mut h = harness().await;
    let c = h.ctx(EXEC);
    let message = h
        .connector
        .test_connection(c)
        .await
        .expect("connection test");
    assert!(message.contains("staging"), "{message}");
    h.conn.credentials = credentials(&[("apiToken", "wrong")]);
    let c = h.ctx(EXEC);
    let e = h.connector.test_connection(c).await.expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
}
