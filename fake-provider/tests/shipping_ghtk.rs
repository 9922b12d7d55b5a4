//! The fake GHTK over real HTTP: GHTK's token, its `{success, message}` answers (HTTP 200 even
//! when failing), required fields, idempotent `order.id`, the cancel rules, and the shared
//! fault injection under the `/ghtk` prefix.

use fake_provider::shipping::{ghtk, ghtk_base_url};
use fake_provider::{FakeConfig, FakeProvider, Fault};
use serde_json::{json, Value};

struct Client {
    http: reqwest::Client,
    fake: FakeProvider,
    base: String,
}

async fn fake() -> Client {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("start");
    Client {
        http: reqwest::Client::new(),
        base: ghtk_base_url(&fake),
        fake,
    }
}

impl Client {
    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req.header("Token", token)).await
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let req = self.http.post(format!("{}{path}", self.base)).json(body);
        self.send(req.header("Token", token)).await
    }
}

const FEE: &str = "/services/shipment/fee?pick_province=H%C3%A0%20N%E1%BB%99i&pick_district=Qu%E1%BA%ADn%20Ba%20%C4%90%C3%ACnh&province=H%E1%BB%93%20Ch%C3%AD%20Minh&district=Qu%E1%BA%ADn%201&weight=1200&value=3000000";
const CREATE: &str = "/services/shipment/order/?ver=1.5";

fn order(id: &str) -> Value {
    json!({
        "products": [{"name": "Sách", "weight": 0.6, "quantity": 2}],
        "order": {
            "id": id, "pick_name": "Shop A", "pick_address": "1 Tràng Tiền", "pick_province": "Hà Nội",
            "pick_district": "Quận Hoàn Kiếm", "pick_tel": "0911222333", "tel": "0987654321",
            "name": "Trần Thị B", "address": "5 Lê Lợi", "province": "Hồ Chí Minh", "district": "Quận 1",
            "hamlet": "Khác", "pick_money": 150000, "value": 3000000,
        }
    })
}

fn assert_failed(status: u16, body: &Value, needle: &str) {
    assert_eq!(status, 200, "GHTK fails inside HTTP 200: {body}");
    assert_eq!(body["success"], false, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle} not in {body}");
}

#[tokio::test]
async fn the_token_is_required_and_checked() {
    let c = fake().await;
    let (s, b) = c.get(FEE, "").await;
    assert_failed(s, &b, "Token");
    let (s, b) = c.post(CREATE, "wrong", &order("o1")).await;
    assert_failed(s, &b, "Token không hợp lệ");
}

#[tokio::test]
async fn the_fee_is_deterministic_and_needs_the_route() {
    let c = fake().await;
    let (s, b) = c.get(FEE, ghtk::TOKEN).await;
    assert_eq!((s, &b["success"]), (200, &json!(true)), "{b}");
    // 30,000 across provinces + 2 started 500 g steps above 500 g; 0.5 % insurance.
    assert_eq!(b["fee"]["fee"], 35_000);
    assert_eq!(b["fee"]["insurance_fee"], 15_000);
    assert_eq!(b["fee"]["delivery"], true);
    let (s, b) = c
        .get(
            "/services/shipment/fee?province=X&district=Y&weight=1",
            ghtk::TOKEN,
        )
        .await;
    assert_failed(s, &b, "pick_province");
    let unknown = FEE.replace("province=H%E1%BB%93%20Ch%C3%AD%20Minh", "province=Atlantis");
    let (s, b) = c.get(&unknown, ghtk::TOKEN).await;
    assert_failed(s, &b, "Atlantis");
}

#[tokio::test]
async fn create_enforces_required_fields_and_answers_strings() {
    let c = fake().await;
    for field in ["id", "pick_tel", "hamlet", "province"] {
        let mut o = order("o-req");
        o["order"].as_object_mut().expect("order").remove(field);
        let (s, b) = c.post(CREATE, ghtk::TOKEN, &o).await;
        assert_failed(s, &b, field);
    }
    let mut o = order("o-phone");
    o["order"]["tel"] = json!("12345");
    let (s, b) = c.post(CREATE, ghtk::TOKEN, &o).await;
    assert_failed(s, &b, "Số điện thoại");

    let (s, b) = c.post(CREATE, ghtk::TOKEN, &order("o-ok")).await;
    assert_eq!((s, &b["success"]), (200, &json!(true)), "{b}");
    let label = b["order"]["label"].as_str().expect("label");
    assert!(label.starts_with("S1.A1."), "{label}");
    assert_eq!(b["order"]["partner_id"], "o-ok");
    assert_eq!(b["order"]["fee"], "35000", "GHTK sends fees as strings");
}

#[tokio::test]
async fn a_repeated_order_id_answers_the_first_order() {
    let c = fake().await;
    let (_, first) = c.post(CREATE, ghtk::TOKEN, &order("exec-1")).await;
    let (s, again) = c.post(CREATE, ghtk::TOKEN, &order("exec-1")).await;
    assert_failed(s, &again, "đã tồn tại");
    assert_eq!(again["error"]["code"], "ORDER_ID_EXIST");
    assert_eq!(again["error"]["ghtk_label"], first["order"]["label"]);
    let stats: Value = reqwest::get(format!("{}/__ghtk/stats", c.fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(stats["orders"], 1);
}

#[tokio::test]
async fn status_by_label_or_partner_id_and_cancel_rules() {
    let c = fake().await;
    let (_, b) = c.post(CREATE, ghtk::TOKEN, &order("exec-2")).await;
    let label = b["order"]["label"].as_str().expect("label").to_string();
    let (_, d) = c
        .get(&format!("/services/shipment/v2/{label}"), ghtk::TOKEN)
        .await;
    assert_eq!(d["order"]["status"], "2", "{d}");
    let (_, d) = c
        .get("/services/shipment/v2/partner_id:exec-2", ghtk::TOKEN)
        .await;
    assert_eq!(d["order"]["label_id"], label.as_str());
    let (s, d) = c.get("/services/shipment/v2/S1.A1.1", ghtk::TOKEN).await;
    assert_failed(s, &d, "Không tìm thấy");

    let cancel = format!("/services/shipment/cancel/{label}");
    let (_, d) = c.post(&cancel, ghtk::TOKEN, &json!({})).await;
    assert_eq!(d["success"], true, "{d}");
    let (s, d) = c.post(&cancel, ghtk::TOKEN, &json!({})).await;
    assert_failed(s, &d, "đã bị hủy");

    // Past pick-up, GHTK refuses.
    let (_, b) = c.post(CREATE, ghtk::TOKEN, &order("exec-3")).await;
    let label = b["order"]["label"].as_str().expect("label").to_string();
    let url = format!("{}/__ghtk/orders/{label}/status", c.fake.url());
    let resp = c.http.post(url).json(&json!({"status": 3})).send().await;
    assert_eq!(resp.expect("control").status(), 200);
    let (s, d) = c
        .post(
            &format!("/services/shipment/cancel/{label}"),
            ghtk::TOKEN,
            &json!({}),
        )
        .await;
    assert_failed(s, &d, "Không thể hủy");
}

#[tokio::test]
async fn shared_faults_apply_under_the_ghtk_prefix() {
    let c = fake().await;
    c.fake
        .inject(Fault::rate_limit(7).on("/ghtk/services/shipment/fee"))
        .expect("inject");
    let resp = c
        .http
        .get(format!("{}{FEE}", c.base))
        .header("Token", ghtk::TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 429);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    c.fake.inject(Fault::status(503)).expect("inject");
    let (s, _) = c.get(FEE, ghtk::TOKEN).await;
    assert_eq!(s, 503);
    c.fake.inject(Fault::drop_connection()).expect("inject");
    let dropped = c
        .http
        .get(format!("{}{FEE}", c.base))
        .header("Token", ghtk::TOKEN)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "the connection is closed without an answer"
    );
    assert_eq!(c.fake.stats().calls("/ghtk/services/shipment/fee"), 3);
}
