//! The fake Viettel Post over real HTTP: login then ownerconnect for a long-lived token, VTP's
//! `{status, error, message, data}` inside HTTP 200, token rejection and expiry, required
//! fields, a repeated partner ORDER_NUMBER, cancel rules, and the shared faults.

use fake_provider::shipping::viettelpost::{self as vtp, VtpStats};
use fake_provider::shipping::viettelpost_base_url;
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
        base: viettelpost_base_url(&fake),
        fake,
    }
}

fn creds() -> Value {
    json!({"USERNAME": vtp::USERNAME, "PASSWORD": vtp::PASSWORD})
}

impl Client {
    async fn post(&self, path: &str, token: &str, body: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Token", token)
            .json(body)
            .send()
            .await
            .expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self) -> String {
        let (_, b) = self.post("/user/Login", "", &creds()).await;
        let short = b["data"]["token"]
            .as_str()
            .expect("short token")
            .to_string();
        let (_, b) = self.post("/user/ownerconnect", &short, &creds()).await;
        b["data"]["token"].as_str().expect("long token").to_string()
    }

    async fn stats(&self) -> VtpStats {
        let url = format!("{}/__viettelpost/stats", self.fake.url());
        let resp = self.http.get(url).send().await.expect("stats");
        resp.json().await.expect("stats json")
    }
}

fn order(number: &str) -> Value {
    json!({
        "ORDER_NUMBER": number, "GROUPADDRESS_ID": 0, "SENDER_FULLNAME": "Shop A",
        "SENDER_ADDRESS": "1 Tràng Tiền", "SENDER_PHONE": "0911222333", "SENDER_PROVINCE": 1,
        "SENDER_DISTRICT": 4, "SENDER_WARD": 31, "RECEIVER_FULLNAME": "Trần Thị B",
        "RECEIVER_ADDRESS": "5 Lê Lợi", "RECEIVER_PHONE": "0987654321", "RECEIVER_PROVINCE": 2,
        "RECEIVER_DISTRICT": 43, "RECEIVER_WARDS": 510, "PRODUCT_NAME": "Sách", "PRODUCT_WEIGHT": 1200,
        "PRODUCT_PRICE": 200000, "PRODUCT_QUANTITY": 1, "PRODUCT_TYPE": "HH", "ORDER_PAYMENT": 3,
        "ORDER_SERVICE": "VCN", "ORDER_SERVICE_ADD": "", "MONEY_COLLECTION": 200000, "LIST_ITEM": [],
    })
}

fn assert_code(http: u16, body: &Value, status: i64, needle: &str) {
    assert_eq!(http, 200, "VTP fails inside HTTP 200: {body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["error"], status != 200, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle} not in {body}");
}

#[tokio::test]
async fn login_then_ownerconnect_gives_the_token_for_order_calls() {
    let c = fake().await;
    let (s, b) = c
        .post(
            "/user/Login",
            "",
            &json!({"USERNAME": vtp::USERNAME, "PASSWORD": "x"}),
        )
        .await;
    assert_code(s, &b, vtp::BUSINESS_ERROR, "mật khẩu");
    let (_, b) = c.post("/user/Login", "", &creds()).await;
    let short = b["data"]["token"].as_str().expect("token").to_string();
    assert!(b["data"]["expired"].as_i64().is_some(), "{b}");
    // The short login token is only good for the exchange.
    let (s, b) = c.post("/order/createOrder", &short, &order("n1")).await;
    assert_code(s, &b, 201, "Token");
    let (s, b) = c.post("/user/ownerconnect", "nope", &creds()).await;
    assert_code(s, &b, 201, "Token");
    let (_, b) = c.post("/user/ownerconnect", &short, &creds()).await;
    let long = b["data"]["token"].as_str().expect("long").to_string();
    let (s, b) = c.post("/order/createOrder", &long, &order("n1")).await;
    assert_code(s, &b, 200, "OK");
    let stats = c.stats().await;
    assert_eq!(
        (stats.logins, stats.token_exchanges, stats.orders),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn expired_tokens_answer_202_until_renewed() {
    let c = fake().await;
    let token = c.token().await;
    let url = format!("{}/__viettelpost/expire-tokens", c.fake.url());
    let resp = c.http.post(url).send().await.expect("expire");
    assert_eq!(resp.status(), 200);
    let (s, b) = c.post("/order/getPrice", &token, &order("p")).await;
    assert_code(s, &b, 202, "hết hạn");
    let fresh = c.token().await;
    let (s, b) = c.post("/order/getPrice", &fresh, &order("p")).await;
    assert_code(s, &b, 200, "OK");
    // 25,000 + 2 started 500 g steps + 10,000 across provinces; 1 % of 200,000; 8 % VAT.
    assert_eq!(b["data"]["MONEY_FEE"], 45_000);
    assert_eq!(b["data"]["MONEY_COLLECTION_FEE"], 2_000);
    assert_eq!(b["data"]["MONEY_TOTAL"], 45_000 + 2_000 + 3_760);
    assert_eq!(c.stats().await.rejected_tokens, 1);
}

#[tokio::test]
async fn required_fields_routes_and_services_are_enforced() {
    let c = fake().await;
    let token = c.token().await;
    for field in ["RECEIVER_PHONE", "SENDER_FULLNAME", "PRODUCT_NAME"] {
        let mut o = order("r");
        o.as_object_mut().expect("order").remove(field);
        let (s, b) = c.post("/order/createOrder", &token, &o).await;
        assert_code(s, &b, vtp::BUSINESS_ERROR, field);
    }
    let mut o = order("r");
    o["RECEIVER_DISTRICT"] = json!(4);
    let (s, b) = c.post("/order/createOrder", &token, &o).await;
    assert_code(s, &b, vtp::BUSINESS_ERROR, "quận/huyện");
    o = order("r");
    o["ORDER_SERVICE"] = json!("NOPE");
    let (s, b) = c.post("/order/createOrder", &token, &o).await;
    assert_code(s, &b, vtp::BUSINESS_ERROR, "NOPE");
    // getPriceAll answers a bare array.
    let (_, b) = c.post("/order/getPriceAll", &token, &order("x")).await;
    let list = b.as_array().expect("array");
    assert!(list.iter().any(|s| s["MA_DV_CHINH"] == "VCN"), "{b}");
}

#[tokio::test]
async fn a_repeated_order_number_answers_the_first_order_and_cancel_rules_hold() {
    let c = fake().await;
    let token = c.token().await;
    let (_, first) = c.post("/order/createOrder", &token, &order("exec-9")).await;
    let code = first["data"]["ORDER_NUMBER"]
        .as_str()
        .expect("code")
        .to_string();
    assert_ne!(code, "exec-9", "VTP answers its own order code");
    let (s, again) = c.post("/order/createOrder", &token, &order("exec-9")).await;
    assert_code(s, &again, vtp::BUSINESS_ERROR, "đã tồn tại");
    assert_eq!(again["data"]["ORDER_NUMBER"], code.as_str());
    assert_eq!(c.stats().await.orders, 1);

    let cancel = json!({"TYPE": 4, "ORDER_NUMBER": code, "NOTE": "khách hủy"});
    let (s, b) = c.post("/order/UpdateOrder", &token, &cancel).await;
    assert_code(s, &b, 200, "OK");
    let (s, b) = c.post("/order/UpdateOrder", &token, &cancel).await;
    assert_code(s, &b, vtp::BUSINESS_ERROR, "đã hủy");

    let (_, other) = c
        .post("/order/createOrder", &token, &order("exec-10"))
        .await;
    let code = other["data"]["ORDER_NUMBER"]
        .as_str()
        .expect("code")
        .to_string();
    let url = format!("{}/__viettelpost/orders/{code}/status", c.fake.url());
    let resp = c.http.post(url).json(&json!({"status": 200})).send().await;
    assert_eq!(resp.expect("control").status(), 200);
    let cancel = json!({"TYPE": 4, "ORDER_NUMBER": code});
    let (s, b) = c.post("/order/UpdateOrder", &token, &cancel).await;
    assert_code(s, &b, vtp::BUSINESS_ERROR, "không thể hủy");
}

#[tokio::test]
async fn master_data_is_public_and_faults_apply() {
    let c = fake().await;
    let get = |path: &str| c.http.get(format!("{}{path}", c.base)).send();
    let b: Value = get("/categories/listProvinceById?provinceId=-1")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(b["data"][0]["PROVINCE_NAME"], "Hà Nội", "{b}");
    let b: Value = get("/categories/listDistrict?provinceId=2")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(b["data"].as_array().is_some_and(|d| d.len() == 2), "{b}");
    let b: Value = get("/categories/listWards?districtId=43")
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(b["data"][0]["WARDS_ID"], 510, "{b}");

    c.fake
        .inject(Fault::status(502).on("/viettelpost/v2/user/Login"))
        .expect("inject");
    let (s, _) = c.post("/user/Login", "", &creds()).await;
    assert_eq!(s, 502);
    c.fake.inject(Fault::malformed()).expect("inject");
    let resp = get("/categories/listWards?districtId=43")
        .await
        .expect("send");
    assert!(resp.json::<Value>().await.is_err(), "a truncated body");
    assert_eq!(c.fake.stats().calls("/viettelpost/v2/user/Login"), 1);
}
