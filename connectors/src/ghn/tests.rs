//! The GHN connector against the fake GHN (in-process, 127.0.0.1:0). Happy paths check inputs
//! and outputs against the catalog document's schemas.

use std::time::Duration;

use fake_provider::{FakeConfig, Fault};
use integrations_core::connector::Connector;
use integrations_core::model::Credentials;
use integrations_core::{Error, ErrorKind};
use serde_json::{json, Value};

use super::client::GhnApi;
use super::*;
use crate::http::ConnectorSettings;
use crate::testing::{self, assert_valid, Conn};

const TOKEN: &str = "tok-8f3a-SECRET-91c2";
const EXEC: &str = "01JCREATEORDEREXECUTION001";

fn credentials(token: &str) -> Credentials {
    testing::credentials(&[("apiKey", token)])
}

type Harness = testing::Harness<GhnConnector>;

async fn harness() -> Harness {
    let fake = fake_provider::start(FakeConfig {
        token: TOKEN.to_string(),
        ..FakeConfig::default()
    })
    .await
    .expect("start fake GHN");
    let settings = testing::settings_at(INTEGRATION_ID, &fake.base_url());
    let config = json!({ "shopId": fake.shop_id(), "environment": "sandbox" });
    Harness {
        connector: GhnConnector::new(&settings),
        conn: Conn::new(INTEGRATION_ID, config, &[("apiKey", TOKEN)]),
        fake,
    }
}

impl Harness {
    async fn err(&self, action: &str, input: Value) -> Error {
        let e = self.fails(EXEC, action, input).await;
        assert_no_token(&e);
        e
    }
}

fn assert_no_token(e: &Error) {
    assert!(!e.message.contains(TOKEN), "token leaked: {}", e.message);
}

/// GHN's document in the catalog embedded in this build.
fn catalog() -> &'static Value {
    testing::document(INTEGRATION_ID)
}

fn schema(action: &str, which: &str) -> Value {
    testing::schema(INTEGRATION_ID, action, which)
}

fn order_input() -> Value {
    json!({
        "toName": "Nguyễn Văn A",
        "toPhone": "0987654321",
        "toAddress": "12 Quang Trung, Phường 11",
        "toWardCode": "21302",
        "toDistrictId": 1461,
        "weight": 1000,
        "insuranceValue": 1_000_000,
        "codAmount": 250_000,
        "requiredNote": "KHONGCHOXEMHANG",
        "paymentTypeId": 1,
        "content": "Áo thun",
        "items": [{ "name": "Áo thun", "code": "TS-01", "quantity": 2, "price": 125_000 }]
    })
}

fn fee_input() -> Value {
    json!({ "toDistrictId": 1461, "toWardCode": "21302", "weight": 1000, "insuranceValue": 1_000_000 })
}

// ---- the catalog document -------------------------------------------------------------

#[test]
fn catalog_document_satisfies_the_meta_schema_and_matches_the_connector() {
    let meta = testing::schema_file("integration.schema.json");
    assert_valid(&meta, catalog());
    assert_eq!(catalog()["integrationId"], INTEGRATION_ID);
    assert_eq!(
        catalog()["configSchema"]["properties"]["apiKey"]["writeOnly"],
        true
    );
    jsonschema::validator_for(&catalog()["configSchema"]).expect("configSchema compiles");
    let ids: Vec<&str> = catalog()["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["actionId"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, action_ids());
    for id in action_ids() {
        for which in ["inputSchema", "outputSchema"] {
            jsonschema::validator_for(&schema(id, which))
                .unwrap_or_else(|e| panic!("{id} {which}: {e}"));
        }
    }
    let create = catalog()["actions"][1].clone();
    assert_eq!(
        create["idempotency"],
        json!({"strategy": "provider_key", "providerField": "client_order_code"})
    );
}

#[test]
fn input_schemas_reject_what_the_connector_cannot_send() {
    let input = schema("create_order", "inputSchema");
    let validator = jsonschema::validator_for(&input).expect("compiles");
    let mut bad = order_input();
    bad["toPhone"] = json!("12345");
    assert!(!validator.is_valid(&bad));
    let mut bad = order_input();
    bad["insuranceValue"] = json!(5_000_001);
    assert!(!validator.is_valid(&bad));
    let mut bad = order_input();
    bad["clientOrderCode"] = json!("mine");
    assert!(
        !validator.is_valid(&bad),
        "the execution id is the client_order_code"
    );
    let mut bad = order_input();
    bad["weight"] = json!(1_600_001);
    assert!(!validator.is_valid(&bad));
}

// ---- configuration and registry ---------------------------------------------------------

#[test]
fn registry_knows_ghn_and_lists_known_ids_otherwise() {
    let connectors = crate::registry(&ConnectorSettings::new().expect("HTTP client"));
    assert!(connectors.get(INTEGRATION_ID).is_ok());
    let e = connectors.get("shipping-nope").err().expect("unknown id");
    assert_eq!(e.kind, ErrorKind::IntegrationNotFound);
    assert!(e.message.contains(INTEGRATION_ID));
}

#[test]
fn environment_picks_the_base_url_unless_overridden() {
    let client = reqwest::Client::new();
    let creds = credentials(TOKEN);
    let url = |config: Value, over: Option<&str>| {
        let ctx = testing::ctx(EXEC, &config, &creds);
        GhnApi::new(&client, over, &ctx, crate::kit::Auth::None)
            .map(|api| api.base_url().to_string())
    };
    assert_eq!(
        url(json!({"shopId": 885}), None).ok().as_deref(),
        Some(SANDBOX_URL)
    );
    assert_eq!(
        url(json!({"shopId": 885, "environment": "production"}), None)
            .ok()
            .as_deref(),
        Some(PRODUCTION_URL)
    );
    assert_eq!(
        url(
            json!({"shopId": 885, "environment": "production"}),
            Some("http://127.0.0.1:9/x/")
        )
        .ok()
        .as_deref(),
        Some("http://127.0.0.1:9/x")
    );
    let bad = url(json!({"shopId": 885, "environment": "staging"}), None);
    assert_eq!(bad.err().map(|e| e.kind), Some(ErrorKind::ValidationFailed));
    let bad = url(json!({"shopId": 0}), None);
    assert_eq!(bad.err().map(|e| e.kind), Some(ErrorKind::ValidationFailed));
}

#[tokio::test]
async fn missing_credential_and_unknown_action_are_caller_errors() {
    let mut h = harness().await;
    let e = h.err("teleport", json!({})).await;
    assert_eq!(e.kind, ErrorKind::ActionNotFound);
    assert!(e.message.contains("create_order"));
    h.conn.credentials = Credentials::default();
    let e = h.err("get_provinces", json!({})).await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed);
    assert_eq!(
        h.fake.stats().calls.values().sum::<u64>(),
        0,
        "nothing reached GHN"
    );
}

// ---- test_connection ----------------------------------------------------------------------

#[tokio::test]
async fn test_connection_proves_token_and_shop() {
    let mut h = harness().await;
    let msg = h
        .connector
        .test_connection(h.ctx(EXEC))
        .await
        .expect("connection works");
    assert!(msg.contains("shop 885") && msg.contains("sandbox"), "{msg}");
    assert!(!msg.contains(TOKEN));

    h.conn.config = json!({ "shopId": 999 });
    let e = h
        .connector
        .test_connection(h.ctx(EXEC))
        .await
        .expect_err("foreign shop");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
    assert!(!e.retryable);
}

#[tokio::test]
async fn a_wrong_token_is_a_non_retryable_auth_failure_without_the_token() {
    let mut h = harness().await;
    h.conn.credentials = credentials("tok-wrong-0000");
    for action in ["get_provinces", "calculate_fee"] {
        let e = h.err(action, fee_input()).await;
        assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{action}: {e}");
        assert!(!e.retryable && e.request_sent);
        assert!(!e.message.contains("tok-wrong-0000"), "{}", e.message);
    }
    let e = h
        .connector
        .test_connection(h.ctx(EXEC))
        .await
        .expect_err("wrong token");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
}

// ---- actions: happy paths -------------------------------------------------------------------

#[tokio::test]
async fn calculate_fee_returns_the_deterministic_quote() {
    let h = harness().await;
    let out = h.ok(EXEC, "calculate_fee", fee_input()).await;
    assert_eq!(out["fee"], 22_000);
    assert_eq!(out["serviceFee"], 17_000);
    assert_eq!(out["insuranceFee"], 5_000);
    assert_eq!(out["currency"], "VND");
    assert_eq!(out["breakdown"]["pickStationFee"], 0);

    let out = h
        .ok(
            EXEC,
            "calculate_fee",
            json!({ "toDistrictId": 1493, "toWardCode": "1A0710", "weight": 1000 }),
        )
        .await;
    assert_eq!(out["fee"], 27_000, "inter-province route");
}

#[tokio::test]
async fn create_order_sends_the_execution_id_and_normalizes_the_answer() {
    let h = harness().await;
    let out = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(out["clientOrderCode"], EXEC);
    assert_eq!(out["alreadyExisted"], false);
    assert_eq!(out["status"], "ready_to_pick");
    // The fake sends total_fee as a string, as GHN's sample does.
    assert_eq!(out["totalFee"], 22_000);
    assert_eq!(out["breakdown"]["mainService"], 17_000);
    assert!(out["sortCode"].is_string() && out["expectedDeliveryTime"].is_string());

    let tracked = h
        .ok(
            EXEC,
            "track_order",
            json!({ "orderCode": out["orderCode"] }),
        )
        .await;
    assert_eq!(tracked["clientOrderCode"], EXEC);
    assert_eq!(tracked["status"], "ready_to_pick");
    assert_eq!(tracked["codAmount"], 250_000);
    assert_eq!(h.fake.stats().orders_created, 1);
}

#[tokio::test]
async fn a_repeated_create_returns_the_existing_order_instead_of_a_second_one() {
    let h = harness().await;
    let first = h.ok(EXEC, "create_order", order_input()).await;
    let again = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(again["orderCode"], first["orderCode"]);
    assert_eq!(again["alreadyExisted"], true);
    assert_eq!(again["status"], "ready_to_pick");
    assert_eq!(again["sortCode"], first["sortCode"]);
    let stats = h.fake.stats();
    assert_eq!(stats.orders_created, 1);
    assert_eq!(stats.calls("/v2/shipping-order/create"), 2);
    assert_eq!(stats.calls("/v2/shipping-order/detail-by-client-code"), 1);

    // Another execution is another order.
    let other = h
        .ok("01JOTHEREXECUTION000000002", "create_order", order_input())
        .await;
    assert_ne!(other["orderCode"], first["orderCode"]);
    assert_eq!(h.fake.stats().orders_created, 2);
}

#[tokio::test]
async fn a_retry_after_a_timed_out_create_finds_the_order_the_first_attempt_made() {
    let h = harness().await;
    // GHN creates the order but answers too late.
    h.fake
        .inject(Fault::delay(Duration::from_millis(1500)).on("/v2/shipping-order/create"))
        .expect("inject");
    let e = h
        .run_within(
            EXEC,
            "create_order",
            order_input(),
            Duration::from_millis(300),
        )
        .await
        .expect_err("timeout");
    assert_eq!(e.kind, ErrorKind::ProviderTimeout);
    assert!(e.retryable && e.request_sent);
    assert_eq!(
        h.fake.stats().orders_created,
        1,
        "the first attempt took effect"
    );

    let retry = h.ok(EXEC, "create_order", order_input()).await;
    assert_eq!(retry["alreadyExisted"], true);
    assert_eq!(h.fake.stats().orders_created, 1);
}

#[tokio::test]
async fn a_create_rejected_for_another_reason_stays_rejected() {
    let h = harness().await;
    let mut input = order_input();
    input["toWardCode"] = json!("1A0710"); // a Hà Nội ward, not in Gò Vấp
    let e = h.err("create_order", input).await;
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    assert!(!e.retryable);
    assert!(e.message.contains("WARD_IS_INVALID"), "{}", e.message);
    let stats = h.fake.stats();
    assert_eq!(stats.orders_created, 0);
    assert_eq!(stats.calls("/v2/shipping-order/detail-by-client-code"), 1);
}

#[tokio::test]
async fn ghn_rejects_missing_fields_with_its_envelope() {
    let h = harness().await;
    // Bypasses the catalog's schema on purpose: GHN itself must refuse.
    let mut input = order_input();
    input.as_object_mut().map(|o| o.remove("toName"));
    let e = h.err("create_order", input).await;
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    assert!(
        e.message.contains("CreateOrderRequest.ToName"),
        "{}",
        e.message
    );
    assert!(e.message.contains("USER_ERR_COMMON"), "{}", e.message);

    let e = h
        .err("calculate_fee", json!({ "toDistrictId": 1461 }))
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    assert!(
        e.message.contains("CalculateFeeRequest.Weight"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn track_order_reports_status_history() {
    let h = harness().await;
    let created = h.ok(EXEC, "create_order", order_input()).await;
    let code = created["orderCode"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for status in ["picking", "picked", "delivering"] {
        h.fake.set_order_status(&code, status).expect("move order");
    }
    let out = h
        .ok(EXEC, "track_order", json!({ "orderCode": code }))
        .await;
    assert_eq!(out["status"], "delivering");
    let history: Vec<&str> = out["statusHistory"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(history, ["picking", "picked", "delivering"]);

    let e = h
        .err("track_order", json!({ "orderCode": "NOPE1234" }))
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound);
    assert!(!e.retryable);
}

#[tokio::test]
async fn cancel_is_idempotent_and_refused_after_pick_up() {
    let h = harness().await;
    let created = h.ok(EXEC, "create_order", order_input()).await;
    let input = json!({ "orderCode": created["orderCode"] });
    let first = h.ok(EXEC, "cancel_order", input.clone()).await;
    assert_eq!(first["alreadyCancelled"], false);
    let second = h.ok(EXEC, "cancel_order", input.clone()).await;
    assert_eq!(second["alreadyCancelled"], true);
    assert_eq!(h.ok(EXEC, "track_order", input).await["status"], "cancel");

    let picked = h
        .ok("01JPICKEDORDER000000000003", "create_order", order_input())
        .await;
    let code = picked["orderCode"].as_str().unwrap_or_default().to_string();
    h.fake.set_order_status(&code, "picked").expect("pick up");
    let e = h.err("cancel_order", json!({ "orderCode": code })).await;
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    assert!(e.message.contains("status picked"), "{}", e.message);

    let e = h
        .err("cancel_order", json!({ "orderCode": "NOPE1234" }))
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound);
}

#[tokio::test]
async fn master_data_walks_province_district_ward() {
    let h = harness().await;
    let provinces = h.ok(EXEC, "get_provinces", json!({})).await;
    let hcm = provinces["provinces"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "Hồ Chí Minh"))
        .cloned()
        .expect("HCM listed");
    let districts = h
        .ok(
            EXEC,
            "get_districts",
            json!({ "provinceId": hcm["provinceId"] }),
        )
        .await;
    let ids: Vec<i64> = districts["districts"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["districtId"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [1442, 1461]);
    let wards = h.ok(EXEC, "get_wards", json!({ "districtId": 1461 })).await;
    assert_eq!(
        wards["wards"][0],
        json!({ "wardCode": "21302", "districtId": 1461, "name": "Phường 11" })
    );
}

// ---- failures -------------------------------------------------------------------------------

#[tokio::test]
async fn provider_outages_and_throttling_are_retryable_with_hints() {
    let h = harness().await;
    let fee = "/v2/shipping-order/fee";
    h.fake.inject(Fault::status(500).on(fee)).expect("inject");
    let e = h.err("calculate_fee", fee_input()).await;
    assert_eq!(e.kind, ErrorKind::ProviderUnavailable);
    assert!(e.retryable && e.request_sent);

    h.fake.inject(Fault::rate_limit(2).on(fee)).expect("inject");
    let e = h.err("calculate_fee", fee_input()).await;
    assert_eq!(e.kind, ErrorKind::ProviderRateLimited);
    assert!(e.retryable);
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));

    // Faults are used up: the next call succeeds.
    h.ok(EXEC, "calculate_fee", fee_input()).await;
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_after_the_request_was_sent() {
    let h = harness().await;
    // An answer that would come far too late: only the call's own timeout ends the call, so the
    // error's kind (not a measured duration) proves the timeout.
    h.fake
        .inject(Fault::delay(Duration::from_secs(60)))
        .expect("inject");
    let e = h
        .run_within(
            EXEC,
            "calculate_fee",
            fee_input(),
            Duration::from_millis(250),
        )
        .await
        .expect_err("timeout");
    assert_eq!(e.kind, ErrorKind::ProviderTimeout);
    assert!(e.retryable && e.request_sent);
}

#[tokio::test]
async fn a_dropped_connection_is_a_network_error_after_sending() {
    let h = harness().await;
    h.fake.inject(Fault::drop_connection()).expect("inject");
    let e = h.err("get_provinces", json!({})).await;
    assert_eq!(e.kind, ErrorKind::NetworkError);
    assert!(e.retryable && e.request_sent);
}

#[tokio::test]
async fn an_unreachable_provider_is_a_network_error_before_sending() {
    let h = harness().await;
    let url = h.fake.base_url();
    h.fake.shutdown().await;
    let connector = GhnConnector::new(&testing::settings_at(INTEGRATION_ID, &url));
    let (config, creds) = (json!({ "shopId": 885 }), credentials(TOKEN));
    let ctx = testing::ctx(EXEC, &config, &creds);
    let e = connector
        .execute("get_provinces", &json!({}), ctx)
        .await
        .expect_err("down");
    assert_eq!(e.kind, ErrorKind::NetworkError);
    assert!(e.retryable && !e.request_sent);
}

#[tokio::test]
async fn malformed_json_is_a_retryable_bad_response() {
    let h = harness().await;
    h.fake.inject(Fault::malformed()).expect("inject");
    let e = h.err("get_provinces", json!({})).await;
    assert_eq!(e.kind, ErrorKind::ProviderBadResponse);
    assert!(e.retryable && e.request_sent);
}

#[tokio::test]
async fn http_200_with_an_error_envelope_is_classified_by_its_code() {
    let h = harness().await;
    let cases = [
        (
            Fault::envelope(400, "Sai thông tin Required Note", Some("USER_ERR_COMMON")),
            ErrorKind::ProviderRejected,
            false,
        ),
        (
            Fault::envelope(500, "Hệ thống đang bận", Some("SERVER_ERR_COMMON")),
            ErrorKind::ProviderUnavailable,
            true,
        ),
        (
            Fault::envelope(400, "code=401, message=Token is not valid!", None),
            ErrorKind::ProviderAuthFailed,
            false,
        ),
        (
            Fault::envelope(400, "Too many request. This request is processing", None),
            ErrorKind::ProviderRateLimited,
            true,
        ),
    ];
    for (fault, kind, retryable) in cases {
        h.fake.inject(fault).expect("inject");
        let e = h.err("calculate_fee", fee_input()).await;
        assert_eq!((e.kind, e.retryable), (kind, retryable), "{e}");
        assert!(e.request_sent);
    }
}

#[tokio::test]
async fn provider_text_echoing_the_token_is_redacted() {
    let h = harness().await;
    let echo = format!("token {} is locked", TOKEN.to_uppercase());
    h.fake
        .inject(Fault::envelope(400, &echo, Some("USER_ERR_COMMON")))
        .expect("inject");
    let e = h.err("get_provinces", json!({})).await;
    assert!(
        !e.message.to_lowercase().contains(&TOKEN.to_lowercase()),
        "{}",
        e.message
    );
    assert!(e.message.contains("***"), "{}", e.message);
}
