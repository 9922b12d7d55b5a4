//! The fake GHN over real HTTP: it must refuse what GHN refuses, in GHN's envelope, and its
//! control endpoints must work from another process.

use std::time::{Duration, Instant};

use fake_provider::{FakeConfig, FakeProvider, Fault};
use serde_json::{json, Value};

struct Client {
    http: reqwest::Client,
    fake: FakeProvider,
}

async fn fake() -> Client {
    Client {
        http: reqwest::Client::new(),
        fake: fake_provider::start(FakeConfig::default())
            .await
            .expect("start"),
    }
}

impl Client {
    /// POST to a GHN path with the right Token and ShopId unless overridden.
    async fn ghn(&self, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{path}", self.fake.base_url()))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if !has("token") {
            req = req.header("Token", "test-token");
        }
        if !has("shopid") {
            req = req.header("ShopId", "885");
        }
        for (n, v) in headers.iter().filter(|(_, v)| !v.is_empty()) {
            req = req.header(*n, *v);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.fake.url()));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

fn order(client_code: &str) -> Value {
    json!({
        "payment_type_id": 2, "required_note": "CHOXEMHANGKHONGTHU", "client_order_code": client_code,
        "to_name": "Trần Thị B", "to_phone": "+84912345678", "to_address": "5 Lê Lợi",
        "to_ward_code": "20109", "to_district_id": 1442, "weight": 500, "service_type_id": 2,
        "items": [{ "name": "Sách", "quantity": 1 }]
    })
}

fn assert_envelope(status: u16, body: &Value, want_status: u16, needle: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_status, "{body}");
    assert!(body["data"].is_null(), "{body}");
    let text = body.to_string();
    assert!(text.contains(needle), "{needle} not in {text}");
}

#[tokio::test]
async fn token_is_required_and_checked_everywhere() {
    let c = fake().await;
    let (s, b) = c.ghn("/master-data/province", &[("Token", "")], "").await;
    assert_envelope(s, &b, 401, "Token is required!");
    let (s, b) = c
        .ghn("/v2/shipping-order/fee", &[("Token", "nope")], "{}")
        .await;
    assert_envelope(s, &b, 401, "Token is not valid!");
}

#[tokio::test]
async fn shop_id_is_required_on_order_and_fee_calls() {
    let c = fake().await;
    for shop in ["", "abc", "886"] {
        let (s, b) = c
            .ghn(
                "/v2/shipping-order/create",
                &[("ShopId", shop)],
                &order("x").to_string(),
            )
            .await;
        assert_envelope(s, &b, 400, "SHOP_NOT_FOUND");
    }
    // Master data needs only the token.
    let (s, _) = c.ghn("/master-data/province", &[("ShopId", "")], "").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn malformed_bodies_and_wrong_types_are_refused() {
    let c = fake().await;
    let (s, b) = c
        .ghn("/v2/shipping-order/fee", &[], "{\"weight\": 10,")
        .await;
    assert_envelope(s, &b, 400, "Syntax error");
    let (s, b) = c
        .ghn(
            "/v2/shipping-order/fee",
            &[],
            r#"{"to_district_id":1442,"weight":"500"}"#,
        )
        .await;
    assert_envelope(s, &b, 400, "expected=int, got=string, field=weight");
    let (s, b) = c
        .ghn("/v2/switch-status/cancel", &[], r#"{"order_codes":"A"}"#)
        .await;
    assert_envelope(s, &b, 400, "expected=[]string");
}

#[tokio::test]
async fn every_required_create_field_is_enforced() {
    let c = fake().await;
    let required = [
        ("to_name", "ToName"),
        ("to_phone", "ToPhone"),
        ("to_address", "ToAddress"),
        ("to_ward_code", "ToWardCode"),
        ("to_district_id", "ToDistrictId"),
        ("weight", "Weight"),
        ("required_note", "RequiredNote"),
        ("payment_type_id", "PaymentTypeId"),
        ("items", "Items"),
    ];
    for (field, go) in required {
        let mut body = order("x");
        body.as_object_mut().map(|o| o.remove(field));
        let (s, b) = c
            .ghn("/v2/shipping-order/create", &[], &body.to_string())
            .await;
        assert_envelope(s, &b, 400, &format!("CreateOrderRequest.{go}'"));
    }
    let mut body = order("x");
    body["items"] = json!([{ "quantity": 1 }]);
    let (s, b) = c
        .ghn("/v2/shipping-order/create", &[], &body.to_string())
        .await;
    assert_envelope(s, &b, 400, "Items[0].Name");
    for (s, b) in [
        c.ghn(
            "/v2/shipping-order/fee",
            &[],
            r#"{"weight":500,"service_type_id":2}"#,
        )
        .await,
        c.ghn(
            "/v2/shipping-order/fee",
            &[],
            r#"{"to_district_id":1442,"service_type_id":2}"#,
        )
        .await,
    ] {
        assert_envelope(s, &b, 400, "failed on the 'required' tag");
    }
    assert_eq!(c.fake.stats().orders_created, 0);
}

#[tokio::test]
async fn business_rules_are_enforced_like_ghn() {
    let c = fake().await;
    let cases = [
        (
            "required_note",
            json!("MAYBE"),
            "Sai thông tin Required Note",
        ),
        ("to_phone", json!("12345"), "PHONE_INVALID"),
        ("weight", json!(1_600_001), "Cân nặng không hợp lệ"),
        ("insurance_value", json!(5_000_001), "insurance_value"),
        ("to_district_id", json!(9999), "ROUTE_NOT_FOUND_SERVICE"),
        ("service_type_id", json!(7), "service_type_id"),
    ];
    for (field, value, needle) in cases {
        let mut body = order("x");
        body[field] = value;
        let (s, b) = c
            .ghn("/v2/shipping-order/create", &[], &body.to_string())
            .await;
        assert_envelope(s, &b, 400, needle);
    }
}

#[tokio::test]
async fn orders_honour_client_order_code_and_can_be_cancelled_once() {
    let c = fake().await;
    let (s, created) = c
        .ghn(
            "/v2/shipping-order/create",
            &[],
            &order("merchant-1").to_string(),
        )
        .await;
    assert_eq!(s, 200, "{created}");
    let code = created["data"]["order_code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(created["data"]["total_fee"], "16000", "500 g inside HCM");

    let (s, b) = c
        .ghn(
            "/v2/shipping-order/create",
            &[],
            &order("merchant-1").to_string(),
        )
        .await;
    assert_envelope(s, &b, 400, "merchant-1");

    let (s, b) = c
        .ghn(
            "/v2/shipping-order/detail-by-client-code",
            &[("ShopId", "")],
            r#"{"client_order_code":"merchant-1"}"#,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["data"][0]["order_code"], code.as_str());
    assert_eq!(b["data"][0]["status"], "ready_to_pick");
    assert_eq!(b["data"][0]["to_name"], "Trần Thị B");

    let cancel = json!({ "order_codes": [code, "NOPE"] }).to_string();
    let (_, b) = c.ghn("/v2/switch-status/cancel", &[], &cancel).await;
    assert_eq!(
        b["data"][0],
        json!({ "order_code": code, "result": true, "message": "OK" })
    );
    assert_eq!(b["data"][1]["result"], false);
    let (_, b) = c.ghn("/v2/switch-status/cancel", &[], &cancel).await;
    assert_eq!(b["data"][0]["result"], false, "already cancelled");

    let (_, b) = c
        .ghn(
            "/v2/shipping-order/detail",
            &[],
            &json!({ "order_code": code }).to_string(),
        )
        .await;
    assert_eq!(b["data"]["status"], "cancel");
    assert_eq!(b["data"]["log"][0]["status"], "cancel");
    let (s, b) = c
        .ghn("/v2/shipping-order/detail", &[], r#"{"order_code":"NOPE"}"#)
        .await;
    assert_envelope(s, &b, 400, "code=404");
}

#[tokio::test]
async fn master_data_and_services_follow_ghn_field_names() {
    let c = fake().await;
    let (_, b) = c
        .ghn("/master-data/district", &[], r#"{"province_id":201}"#)
        .await;
    assert_eq!(b["data"][0]["DistrictID"], 1485);
    let (_, b) = c
        .ghn("/master-data/ward", &[], r#"{"district_id":1485}"#)
        .await;
    assert_eq!(b["data"][0]["WardCode"], "1A0101");
    let (s, b) = c.ghn("/master-data/ward", &[], "{}").await;
    assert_envelope(s, &b, 400, "GetWardRequest.DistrictId");
    let (_, b) = c
        .ghn(
            "/v2/shipping-order/available-services",
            &[],
            r#"{"shop_id":885,"from_district":1442,"to_district":1526}"#,
        )
        .await;
    assert_eq!(b["data"][0]["service_type_id"], 2);
    let (s, b) = c
        .ghn(
            "/v2/shipping-order/available-services",
            &[],
            r#"{"shop_id":1,"from_district":1442,"to_district":1526}"#,
        )
        .await;
    assert_envelope(s, &b, 400, "SHOP_NOT_FOUND");
}

#[tokio::test]
async fn control_endpoints_inject_faults_count_calls_and_reset() {
    let c = fake().await;
    let fault =
        json!({ "path": "/v2/shipping-order/fee", "kind": "status", "status": 503, "times": 2 });
    let (s, b) = c
        .control(reqwest::Method::POST, "/__faults", Some(fault))
        .await;
    assert_eq!((s, b["pending"].as_u64()), (200, Some(1)));
    let fee = r#"{"to_district_id":1442,"weight":100,"service_type_id":2}"#;
    assert_eq!(c.ghn("/v2/shipping-order/fee", &[], fee).await.0, 503);
    assert_eq!(
        c.ghn("/master-data/province", &[], "").await.0,
        200,
        "other paths unaffected"
    );
    assert_eq!(c.ghn("/v2/shipping-order/fee", &[], fee).await.0, 503);
    assert_eq!(c.ghn("/v2/shipping-order/fee", &[], fee).await.0, 200);

    let (_, stats) = c.control(reqwest::Method::GET, "/__stats", None).await;
    assert_eq!(stats["calls"]["/v2/shipping-order/fee"], 3);
    assert_eq!(stats["calls"]["/master-data/province"], 1);
    assert_eq!(stats["faultsServed"], 2);

    let bad = json!({ "kind": "explode" });
    assert_eq!(
        c.control(reqwest::Method::POST, "/__faults", Some(bad))
            .await
            .0,
        400
    );
    c.control(
        reqwest::Method::POST,
        "/__faults",
        Some(json!({ "kind": "malformed", "times": 5 })),
    )
    .await;
    let (_, b) = c.control(reqwest::Method::DELETE, "/__faults", None).await;
    assert_eq!(b["cleared"], 1);

    c.ghn("/v2/shipping-order/create", &[], &order("m").to_string())
        .await;
    let (s, _) = c.control(reqwest::Method::POST, "/__reset", None).await;
    assert_eq!(s, 200);
    let stats = c.fake.stats();
    assert_eq!((stats.orders_created, stats.calls.len()), (0, 0));
}

#[tokio::test]
async fn order_status_can_be_moved_through_the_control_endpoint() {
    let c = fake().await;
    let (_, created) = c
        .ghn("/v2/shipping-order/create", &[], &order("m").to_string())
        .await;
    let code = created["data"]["order_code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let path = format!("/__orders/{code}/status");
    let (s, _) = c
        .control(
            reqwest::Method::POST,
            &path,
            Some(json!({ "status": "delivered" })),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = c
        .control(
            reqwest::Method::POST,
            &path,
            Some(json!({ "status": "teleported" })),
        )
        .await;
    assert_eq!(s, 400);
    let (_, b) = c
        .ghn(
            "/v2/shipping-order/detail",
            &[],
            &json!({ "order_code": code }).to_string(),
        )
        .await;
    assert_eq!(b["data"]["status"], "delivered");
    assert!(b["data"]["finish_date"].is_string());
}

#[tokio::test]
async fn rate_limit_drop_malformed_and_envelope_faults_look_right_on_the_wire() {
    let c = fake().await;
    c.fake.inject(Fault::rate_limit(9)).expect("inject");
    let resp = c
        .http
        .post(format!("{}/master-data/province", c.fake.base_url()))
        .header("Token", "test-token")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("9")
    );

    c.fake.inject(Fault::drop_connection()).expect("inject");
    let dropped = c
        .http
        .post(format!("{}/master-data/province", c.fake.base_url()))
        .header("Token", "test-token")
        .send()
        .await;
    assert!(dropped.is_err(), "no answer expected");

    c.fake.inject(Fault::malformed()).expect("inject");
    let (s, b) = c.ghn("/master-data/province", &[], "").await;
    assert_eq!((s, b), (200, Value::Null), "body is not JSON");

    c.fake
        .inject(Fault::envelope(
            400,
            "Sai thông tin",
            Some("USER_ERR_COMMON"),
        ))
        .expect("inject");
    let (s, b) = c.ghn("/master-data/province", &[], "").await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!({ "code": 400, "message": "Sai thông tin", "data": null, "code_message": "USER_ERR_COMMON" })
    );
}

#[tokio::test]
async fn a_delayed_call_takes_effect_even_when_the_caller_gives_up() {
    let c = fake().await;
    c.fake
        .inject(Fault::delay(Duration::from_secs(2)).on("/v2/shipping-order/create"))
        .expect("inject");
    let gave_up = c
        .http
        .post(format!("{}/v2/shipping-order/create", c.fake.base_url()))
        .header("Token", "test-token")
        .header("ShopId", "885")
        .timeout(Duration::from_millis(200))
        .json(&order("slow"))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    assert_eq!(c.fake.stats().orders_created, 1);
}

#[tokio::test]
async fn configured_latency_delays_provider_calls_but_not_control_calls() {
    let fake = fake_provider::start(FakeConfig {
        // Long enough that the control call, made after it starts, surely answers first.
        latency: Duration::from_millis(1500),
        ..FakeConfig::default()
    })
    .await
    .expect("start");
    let http = reqwest::Client::new();
    let started = Instant::now();
    let provider_call = http
        .post(format!("{}/master-data/province", fake.base_url()))
        .header("Token", "test-token")
        .send();
    tokio::pin!(provider_call);
    // A control call made while the provider call waits out its latency answers first.
    let stats = http.get(format!("{}/__stats", fake.url())).send();
    tokio::select! {
        biased;
        _ = &mut provider_call => panic!("the provider call answered before the control call"),
        stats = stats => assert!(stats.expect("stats").status().is_success()),
    }
    let resp = provider_call.await.expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    // Not before its latency (a lower bound: the property itself is about time).
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-provider"))
        .args(["--port", "0", "--token", "bin-token", "--shop-id", "42"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("printed in time")
        .expect("read")
        .unwrap_or_default();
    let url = line
        .strip_prefix("fake-provider listening on http://127.0.0.1:")
        .map(|port| format!("http://127.0.0.1:{port}"))
        .unwrap_or_else(|| panic!("unexpected line: {line}"));
    let http = reqwest::Client::new();
    let fee = http
        .post(format!("{url}/shiip/public-api/v2/shipping-order/fee"))
        .header("Token", "bin-token")
        .header("ShopId", "42")
        .json(&json!({ "to_district_id": 1526, "weight": 250, "service_type_id": 2 }))
        .send()
        .await
        .expect("send");
    let body: Value = fee.json().await.expect("json");
    // 15 000 + 3 × 200 + 10 000 (Đà Nẵng is another province).
    assert_eq!(body["data"]["total"], 25_600);
    let _ = child.kill().await;
}
