//! The payment fakes over real HTTP: each refuses what its provider refuses (recomputed
//! signatures, required fields), answers repeats as the provider does, and the shared fault
//! injection applies to them.

use fake_provider::payment::{momo, stripe, vnpay, zalopay};
use fake_provider::{FakeConfig, FakeProvider, Fault};
use serde_json::{json, Map, Value};

async fn fake() -> (FakeProvider, reqwest::Client) {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("start");
    (fake, reqwest::Client::new())
}

async fn post_json(http: &reqwest::Client, url: String, body: &Value) -> (u16, Value) {
    let resp = http.post(url).json(body).send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn momo_create(order_id: &str, request_id: &str, amount: i64) -> Value {
    let mut b: Map<String, Value> = json!({
        "partnerCode": "MOMO", "requestId": request_id, "amount": amount, "orderId": order_id,
        "orderInfo": "pay with MoMo", "redirectUrl": "https://example.com/return",
        "ipnUrl": "https://example.com/ipn", "requestType": "captureWallet", "extraData": "",
        "lang": "vi",
    })
    .as_object()
    .cloned()
    .expect("object");
    let sig = momo::signature(momo::CREATE_KEYS, &b);
    b.insert("signature".into(), json!(sig));
    Value::Object(b)
}

#[tokio::test]
async fn momo_checks_signatures_and_answers_repeats_by_request_id() {
    let (f, http) = fake().await;
    let url = format!("{}/momo/v2/gateway/api/create", f.url());
    let (s, first) = post_json(&http, url.clone(), &momo_create("ORD-1", "REQ-1", 50_000)).await;
    assert_eq!((s, first["resultCode"].as_i64()), (200, Some(0)), "{first}");
    assert!(first["payUrl"]
        .as_str()
        .is_some_and(|u| u.contains("/momo/pay/ORD-1")));

    // Same requestId, same body: the first answer again.
    let (_, again) = post_json(&http, url.clone(), &momo_create("ORD-1", "REQ-1", 50_000)).await;
    assert_eq!(again, first);
    // Same requestId, other body: 40; new requestId, same orderId: 41.
    let (_, other) = post_json(&http, url.clone(), &momo_create("ORD-1", "REQ-1", 60_000)).await;
    assert_eq!(other["resultCode"], 40, "{other}");
    let (_, dup) = post_json(&http, url.clone(), &momo_create("ORD-1", "REQ-2", 50_000)).await;
    assert_eq!(dup["resultCode"], 41, "{dup}");

    // A wrong signature is MoMo's 13, a missing field 20.
    let mut bad = momo_create("ORD-2", "REQ-3", 50_000);
    bad["signature"] = json!("00".repeat(32));
    let (s, b) = post_json(&http, url.clone(), &bad).await;
    assert_eq!((s, b["resultCode"].as_i64()), (400, Some(13)), "{b}");
    let mut missing = momo_create("ORD-2", "REQ-3", 50_000);
    missing.as_object_mut().expect("obj").remove("ipnUrl");
    let (_, b) = post_json(&http, url.clone(), &missing).await;
    assert_eq!(b["resultCode"], 20, "{b}");
    let (_, b) = post_json(&http, url.clone(), &momo_create("ORD-3", "REQ-4", 500)).await;
    assert_eq!(b["resultCode"], 22, "{b}");
    // 22 is not final: the same requestId is refused afterwards, even with the same body.
    let (_, b) = post_json(&http, url, &momo_create("ORD-3", "REQ-4", 500)).await;
    assert_eq!(b["resultCode"], 40, "{b}");

    // Paying through payUrl moves the query from 1000 to 0.
    let mut q: Map<String, Value> =
        json!({"partnerCode": "MOMO", "requestId": "Q1", "orderId": "ORD-1", "lang": "vi"})
            .as_object()
            .cloned()
            .expect("object");
    let sig = momo::signature(momo::QUERY_KEYS, &q);
    q.insert("signature".into(), json!(sig));
    let q = Value::Object(q);
    let qurl = format!("{}/momo/v2/gateway/api/query", f.url());
    let (_, b) = post_json(&http, qurl.clone(), &q).await;
    assert_eq!(b["resultCode"], 1000, "{b}");
    http.get(first["payUrl"].as_str().expect("payUrl"))
        .send()
        .await
        .expect("pay");
    let (_, b) = post_json(&http, qurl, &q).await;
    assert_eq!(b["resultCode"], 0, "{b}");
    assert!(b["transId"].as_i64().is_some_and(|t| t > 0), "{b}");
}

fn zalopay_form(call: &str, pairs: &[(&str, String)]) -> Vec<(String, String)> {
    let fields: std::collections::BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let mut out: Vec<(String, String)> = fields.clone().into_iter().collect();
    out.push(("mac".into(), zalopay::mac(call, &fields)));
    out
}

async fn post_form(http: &reqwest::Client, url: String, form: &[(String, String)]) -> Value {
    http.post(url)
        .form(form)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn zalopay_checks_macs_duplicates_and_refunds_asynchronously() {
    let (f, http) = fake().await;
    let now = chrono::Utc::now().timestamp_millis().to_string();
    let create = |id: &str| {
        zalopay_form(
            "create",
            &[
                ("app_id", "2553".into()),
                ("app_trans_id", id.into()),
                ("app_user", "u1".into()),
                ("app_time", now.clone()),
                ("amount", "50000".into()),
                ("item", "[]".into()),
                ("embed_data", "{}".into()),
                ("description", "Order".into()),
            ],
        )
    };
    let url = format!("{}/zalopay/v2/create", f.url());
    let b = post_form(&http, url.clone(), &create("240101_abc")).await;
    assert_eq!(b["return_code"], 1, "{b}");
    let b = post_form(&http, url.clone(), &create("240101_abc")).await;
    assert_eq!(
        (b["return_code"].as_i64(), b["sub_return_code"].as_i64()),
        (Some(2), Some(-68)),
        "{b}"
    );
    let mut bad = create("240101_def");
    if let Some(m) = bad.last_mut() {
        m.1 = "f".repeat(64);
    }
    let b = post_form(&http, url.clone(), &bad).await;
    assert_eq!(b["sub_return_code"], -402, "{b}");
    let b = post_form(&http, url, &create("nodate")).await;
    assert_eq!(b["sub_return_code"], -401, "{b}");

    // Refund the seeded paid order: processing, then done; a repeat answers the same refund.
    let refund = zalopay_form(
        "refund",
        &[
            ("app_id", "2553".into()),
            ("m_refund_id", "240101_2553_r1".into()),
            ("zp_trans_id", zalopay::PAID_ZP_TRANS_ID.to_string()),
            ("amount", "1000".into()),
            ("timestamp", now.clone()),
            ("description", "refund".into()),
        ],
    );
    let rurl = format!("{}/zalopay/v2/refund", f.url());
    let first = post_form(&http, rurl.clone(), &refund).await;
    assert_eq!(first["return_code"], 3, "{first}");
    let again = post_form(&http, rurl, &refund).await;
    assert_eq!(again["refund_id"], first["refund_id"]);
    let q = zalopay_form(
        "query_refund",
        &[
            ("app_id", "2553".into()),
            ("m_refund_id", "240101_2553_r1".into()),
            ("timestamp", now),
        ],
    );
    let b = post_form(&http, format!("{}/zalopay/v2/query_refund", f.url()), &q).await;
    assert_eq!(b["return_code"], 1, "{b}");
}

fn vnpay_signed(command: &str, fields: &[&str], values: &[(&str, &str)]) -> Value {
    let mut m: Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    m.insert("vnp_Command".into(), json!(command));
    let hash = vnpay::pipe_hash(fields, &m);
    m.insert("vnp_SecureHash".into(), json!(hash));
    Value::Object(m)
}

#[tokio::test]
async fn vnpay_verifies_the_payment_url_and_the_merchant_api_checksums() {
    let (f, http) = fake().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let params: Vec<(String, String)> = [
        ("vnp_Version", "2.1.0"),
        ("vnp_Command", "pay"),
        ("vnp_TmnCode", vnpay::TMN_CODE),
        ("vnp_Amount", "1806000"),
        ("vnp_CreateDate", "20240102101010"),
        ("vnp_CurrCode", "VND"),
        ("vnp_IpAddr", "127.0.0.1"),
        ("vnp_Locale", "vn"),
        ("vnp_OrderInfo", "Thanh toan :5"),
        ("vnp_OrderType", "other"),
        ("vnp_ReturnUrl", "https://shop.example/return"),
        ("vnp_TxnRef", "T1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let hash =
        fake_provider::payment::hmac_sha512_hex(vnpay::HASH_SECRET, &vnpay::sign_data(&params));
    let query = |h: &str| {
        let mut p = params.clone();
        p.push(("vnp_SecureHash".into(), h.to_string()));
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&p)
            .finish()
    };
    let page = format!("{}/vnpay/paymentv2/vpcpay.html", f.url());
    let bad = no_redirect
        .get(format!("{page}?{}", query("ab")))
        .send()
        .await
        .expect("send");
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.expect("text").contains("code=70"));
    let ok = no_redirect
        .get(format!("{page}?{}", query(&hash)))
        .send()
        .await
        .expect("send");
    assert_eq!(ok.status().as_u16(), 302);
    let location = ok.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(
        location.starts_with("https://shop.example/return?")
            && location.contains("vnp_ResponseCode=00")
    );

    let api = format!("{}/vnpay/merchant_webapi/api/transaction", f.url());
    let q = |rid: &str| {
        vnpay_signed(
            "querydr",
            vnpay::QUERYDR_FIELDS,
            &[
                ("vnp_RequestId", rid),
                ("vnp_Version", "2.1.0"),
                ("vnp_TmnCode", vnpay::TMN_CODE),
                ("vnp_TxnRef", "T1"),
                ("vnp_TransactionDate", "20240102101010"),
                ("vnp_CreateDate", "20240102101500"),
                ("vnp_IpAddr", "127.0.0.1"),
                ("vnp_OrderInfo", "q"),
            ],
        )
    };
    let (_, b) = post_json(&http, api.clone(), &q("R1")).await;
    assert_eq!(
        (
            b["vnp_ResponseCode"].as_str(),
            b["vnp_TransactionStatus"].as_str()
        ),
        (Some("00"), Some("00")),
        "{b}"
    );
    assert_eq!(b["vnp_Amount"], "1806000");
    let (_, b) = post_json(&http, api.clone(), &q("R1")).await;
    assert_eq!(b["vnp_ResponseCode"], "94", "{b}");
    let mut wrong = q("R2");
    wrong["vnp_SecureHash"] = json!("00");
    let (_, b) = post_json(&http, api, &wrong).await;
    assert_eq!(b["vnp_ResponseCode"], "97", "{b}");
}

#[tokio::test]
async fn stripe_authenticates_and_replays_idempotent_refunds() {
    let (f, http) = fake().await;
    let base = format!("{}/stripe", f.url());
    let r = http
        .get(format!(
            "{base}/v1/payment_intents/{}",
            stripe::PAID_INTENT_ID
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let r = http
        .get(format!("{base}/v1/payment_intents/pi_nope"))
        .bearer_auth(stripe::SECRET_KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 404);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["error"]["code"], "resource_missing");

    let refund = |key: &str, amount: &str| {
        http.post(format!("{base}/v1/refunds"))
            .bearer_auth(stripe::SECRET_KEY)
            .header("Idempotency-Key", key)
            .form(&[
                ("payment_intent", stripe::PAID_INTENT_ID),
                ("amount", amount),
                ("metadata[order]", "o-1"),
            ])
            .send()
    };
    let first = refund("k1", "1000").await.expect("send");
    assert_eq!(first.status().as_u16(), 200);
    let first: Value = first.json().await.expect("json");
    assert_eq!(
        (
            first["amount"].as_i64(),
            first["metadata"]["order"].as_str()
        ),
        (Some(1000), Some("o-1"))
    );
    let again = refund("k1", "1000").await.expect("send");
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(again.json::<Value>().await.expect("json"), first);
    let other = refund("k1", "2000").await.expect("send");
    assert_eq!(other.status().as_u16(), 400);
    assert_eq!(
        other.json::<Value>().await.expect("json")["error"]["type"],
        "idempotency_error"
    );
    let too_much = refund("k2", "999999").await.expect("send");
    assert_eq!(
        too_much.json::<Value>().await.expect("json")["error"]["code"],
        "amount_too_large"
    );
}

#[tokio::test]
async fn shared_faults_apply_to_payment_paths() {
    let (f, http) = fake().await;
    let url = format!("{}/momo/v2/gateway/api/create", f.url());
    f.inject(Fault::rate_limit(7).on("/momo/v2/gateway/api/create"))
        .expect("fault");
    let r = http
        .post(&url)
        .json(&momo_create("F-1", "F-1", 50_000))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    f.inject(Fault::status(503).on("/stripe/v1/refunds"))
        .expect("fault");
    let r = http
        .post(format!("{}/stripe/v1/refunds", f.url()))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 503);
    f.inject(Fault::drop_connection().on("/zalopay/v2/query"))
        .expect("fault");
    assert!(http
        .post(format!("{}/zalopay/v2/query", f.url()))
        .send()
        .await
        .is_err());
    f.inject(Fault::malformed().on("/vnpay/merchant_webapi/api/transaction"))
        .expect("fault");
    let r = http
        .post(format!("{}/vnpay/merchant_webapi/api/transaction", f.url()))
        .send()
        .await
        .expect("send");
    assert!(r.json::<Value>().await.is_err(), "a truncated body");
    assert_eq!(f.stats().calls("/momo/v2/gateway/api/create"), 1);
}
