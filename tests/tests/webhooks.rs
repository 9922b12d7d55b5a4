//! Provider webhooks through the real API: for each signing provider a valid delivery (answered as
//! the provider expects, recorded once), the same delivery again (answered alike, not recorded
//! again), a forged one (the provider's "bad signature" answer), Stripe's stale one; a delivery
//! survives a restart of the service; and a URL naming no connection answers 404. Their events'
//! publication is in [`published`].

#[path = "webhooks/published.rs"]
mod published;

use connectors::payment::stripe::webhook::signature as stripe_signature;
use connectors::payment::vnpay::webhook::secure_hash;
use fake_provider::payment::{momo as fake_momo, stripe as fake_stripe, zalopay as fake_zp};
use integration_tests::{capture_logs, Harness, SHOP_ID, TOKEN};
use integrations_core::model::now;
use integrations_core::webhooks::{DedupeWindow, InboundWebhook, ProviderEvent, RecordOutcome};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const WHSEC: &str = "whsec_test_0123456789";
const ZP_DATA: &str = r#"{"app_id":2553,"app_trans_id":"200904_2553_1598435687208","app_time":1599189392817,"app_user":"demo","amount":10000,"embed_data":"{\"merchantinfo\":\"embeddata123\",\"promotioninfo\":\"\"}","item":"[{\"itemid\":\"knb\",\"itemname\":\"kim nguyen bao\",\"itemprice\":198400,\"itemquantity\":1}]","zp_trans_id":200904000000389,"server_time":1599189413498,"channel":38,"merchant_user_id":"7ZMSl3nEg5sOUJzOLSoUFT8xKNQVaLOLXHB--8Eytqc","user_fee_amount":0,"discount_amount":0}"#;
const ZP_MAC: &str = "d8d33baf449b31d7f9b94fa50d7c942c08cd4d83f28fa185557da21acb104f67";

async fn connect(h: &Harness, integration: &str, config: Value, credentials: Value) -> String {
    let body = json!({"integrationId": integration, "name": "Hooks", "config": config, "credentials": credentials});
    let (s, b) = h.call(Method::POST, "/connections", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

async fn post(h: &Harness, path: &str, headers: &[(&str, String)], body: String) -> (u16, String) {
    let mut req = h.http.post(format!("{}{path}", h.base)).body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// The event recorded for `key` on the connection: a probe with the same key must come back as a
/// duplicate naming it (and so proves that exactly one was recorded).
async fn recorded(h: &Harness, connection: &str, key: &str) -> ProviderEvent {
    let at = now();
    let probe = InboundWebhook {
        dedupe_key: key.to_string(),
        dedupe_until: DedupeWindow::DEFAULT.expiry(at),
        event: ProviderEvent {
            event_id: "probe".into(),
            tenant_id: "t1".into(),
            connection_id: connection.into(),
            integration_id: String::new(),
            event_type: "probe.probe".into(),
            provider_type: String::new(),
            occurred_at: at,
            received_at: at,
            data: Value::Null,
        },
        event_claim: None,
    };
    let outcome = h
        .backend
        .webhooks
        .record_webhook(&probe)
        .await
        .expect("probe");
    let RecordOutcome::Duplicate { event_id } = outcome else {
        panic!("no webhook was recorded for {key}");
    };
    h.backend
        .webhooks
        .get_provider_event("t1", &event_id)
        .await
        .expect("get")
        .expect("the recorded event")
}

#[tokio::test]
async fn stripe_valid_replayed_forged_and_stale() {
    let logs = capture_logs();
    let mut h = Harness::start().await;
    let conn = connect(
        &h,
        "payment-stripe",
        json!({}),
        json!({"secretKey": fake_stripe::SECRET_KEY, "webhookSecret": WHSEC}),
    )
    .await;
    let path = format!("/webhooks/payment-stripe/{conn}");
    let body = json!({"id": "evt_42", "type": "payment_intent.succeeded", "created": 1_700_000_000,
        "data": {"object": {"id": "pi_42", "amount": 1200, "receipt_email": "buyer@example.com"}}})
    .to_string();
    let t = now().timestamp();
    let signed = vec![(
        "stripe-signature",
        format!("t={t},v1={}", stripe_signature(WHSEC, t, body.as_bytes())),
    )];
    assert_eq!(post(&h, &path, &signed, body.clone()).await.0, 200);
    assert_eq!(
        post(&h, &path, &signed, body.clone()).await.0,
        200,
        "a replay is acknowledged"
    );

    let forged = body
        .replace("1200", "1")
        .replace("pi_42", "pi_forged_marker");
    assert_eq!(post(&h, &path, &signed, forged).await.0, 401);
    let logged = logs.contents();
    assert!(
        logged.contains("webhook refused") && logged.contains("reason=\"bad_signature\""),
        "{logged}"
    );
    assert!(
        !logged.contains("pi_forged_marker"),
        "a refused body is never logged"
    );
    let old = t - 301;
    let stale = vec![(
        "stripe-signature",
        format!(
            "t={old},v1={}",
            stripe_signature(WHSEC, old, body.as_bytes())
        ),
    )];
    assert_eq!(post(&h, &path, &stale, body.clone()).await.0, 401);
    let metrics = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for reason in ["bad_signature", "stale"] {
        let line = format!(
            "webhooks_rejected_total{{integration=\"payment-stripe\",reason=\"{reason}\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} not in {metrics}");
    }

    // Recorded before the answer: it is there after a restart, once.
    h.restart().await;
    let event = recorded(&h, &conn, "evt_42").await;
    assert_eq!(event.event_type, "payment.succeeded");
    assert_eq!(event.provider_type, "payment_intent.succeeded");
    assert_eq!(event.integration_id, "payment-stripe");
    assert_eq!(event.data["object"]["id"], "pi_42");
    assert_ne!(
        event.data["object"]["receipt_email"], "buyer@example.com",
        "sanitized"
    );

    let unknown = format!(
        "/webhooks/payment-stripe/{}",
        integrations_core::model::new_id()
    );
    assert_eq!(post(&h, &unknown, &signed, body.clone()).await.0, 404);
    let wrong_integration = format!("/webhooks/payment-zalopay/{conn}");
    assert_eq!(post(&h, &wrong_integration, &signed, body).await.0, 404);
}

#[tokio::test]
async fn zalopay_and_vnpay_get_the_answers_they_read() {
    let h = Harness::start().await;
    let zp = connect(
        &h,
        "payment-zalopay",
        json!({"appId": fake_zp::APP_ID}),
        json!({"key1": fake_zp::KEY1, "key2": fake_zp::KEY2}),
    )
    .await;
    let path = format!("/webhooks/payment-zalopay/{zp}");
    let callback = json!({"data": ZP_DATA, "mac": ZP_MAC, "type": 1}).to_string();
    for _ in 0..2 {
        let (status, body) = post(&h, &path, &[], callback.clone()).await;
        assert_eq!(
            (
                status,
                serde_json::from_str::<Value>(&body).expect("json")["return_code"].clone()
            ),
            (200, json!(1))
        );
    }
    let forged =
        json!({"data": ZP_DATA.replace("10000", "1"), "mac": ZP_MAC, "type": 1}).to_string();
    let (status, body) = post(&h, &path, &[], forged).await;
    assert_eq!(
        (
            status,
            serde_json::from_str::<Value>(&body).expect("json")["return_code"].clone()
        ),
        (200, json!(-1))
    );
    assert_eq!(
        recorded(&h, &zp, "200904_2553_1598435687208")
            .await
            .event_type,
        "payment.succeeded"
    );

    let secret = "VNPAYSECRETKEY0123";
    let vnp = connect(
        &h,
        "payment-vnpay",
        json!({"tmnCode": "DEMO0001"}),
        json!({"hashSecret": secret}),
    )
    .await;
    let mut query: Vec<(String, String)> = [
        ("vnp_Amount", "1000000"),
        ("vnp_ResponseCode", "00"),
        ("vnp_TmnCode", "DEMO0001"),
        ("vnp_TransactionNo", "14000000"),
        ("vnp_TransactionStatus", "00"),
        ("vnp_TxnRef", "ORDER42"),
        ("vnp_OrderInfo", "Thanh toan don hang"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let hash = secure_hash(secret, &query);
    query.push(("vnp_SecureHash".into(), hash));
    let ipn = |q: &[(String, String)]| {
        let url = format!("{}/webhooks/payment-vnpay/{vnp}", h.base);
        let req = h.http.get(url).query(q);
        async move {
            req.send()
                .await
                .expect("ipn")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    assert_eq!(ipn(&query).await["RspCode"], "00");
    assert_eq!(
        ipn(&query).await["RspCode"],
        "00",
        "a replay is confirmed too"
    );
    query[0].1 = "1".into();
    assert_eq!(ipn(&query).await["RspCode"], "97");
    assert_eq!(
        recorded(&h, &vnp, "ORDER42:14000000").await.data["vnp_Amount"],
        "1000000"
    );
}

#[tokio::test]
async fn momo_answers_204_and_ghn_needs_its_url_token() {
    let h = Harness::start().await;
    let momo = connect(
        &h,
        "payment-momo",
        json!({"partnerCode": fake_momo::PARTNER_CODE}),
        json!({"accessKey": fake_momo::ACCESS_KEY, "secretKey": fake_momo::SECRET_KEY}),
    )
    .await;
    let path = format!("/webhooks/payment-momo/{momo}");
    // providers.md's derived IPN vector.
    let ipn = json!({
        "partnerCode": "MOMO", "orderId": "ORDER123", "requestId": "REQ123", "amount": 50000,
        "orderInfo": "pay with MoMo", "orderType": "momo_wallet", "transId": 4088878653_u64,
        "resultCode": 0, "message": "Successful.", "payType": "qr",
        "responseTime": 1700000000000_u64, "extraData": "",
        "signature": "898c51586e804e9781be2ecb021f3707390f6a2e58a0af8d4a9ff8e54c9f0341"
    });
    assert_eq!(post(&h, &path, &[], ipn.to_string()).await.0, 204);
    assert_eq!(
        post(&h, &path, &[], ipn.to_string()).await.0,
        204,
        "a replay too"
    );
    let mut forged = ipn.clone();
    forged["amount"] = json!(5);
    assert_eq!(post(&h, &path, &[], forged.to_string()).await.0, 400);
    assert_eq!(
        recorded(&h, &momo, "ORDER123:4088878653").await.event_type,
        "payment.succeeded"
    );

    let token = "tok_3f9a1c7e5b2d8f4a6c0e9b1d";
    let ghn = connect(
        &h,
        "shipping-ghn",
        json!({"shopId": SHOP_ID, "environment": "sandbox"}),
        json!({"apiKey": TOKEN, "webhookToken": token}),
    )
    .await;
    let status = json!({"OrderCode": "GHN42", "Type": "switch_status", "Status": "delivered",
        "Time": "2026-01-02T03:04:05Z"})
    .to_string();
    let with = |t: &str| format!("/webhooks/shipping-ghn/{ghn}?token={t}");
    assert_eq!(post(&h, &with(token), &[], status.clone()).await.0, 200);
    assert_eq!(post(&h, &with(token), &[], status.clone()).await.0, 200);
    assert_eq!(
        post(
            &h,
            &with("tok_3f9a1c7e5b2d8f4a6c0e9b1X"),
            &[],
            status.clone()
        )
        .await
        .0,
        401
    );
    let unsigned = format!("/webhooks/shipping-ghn/{ghn}");
    assert_eq!(post(&h, &unsigned, &[], status).await.0, 401);
    let event = recorded(&h, &ghn, "GHN42:switch_status:2026-01-02T03:04:05Z").await;
    assert_eq!(event.event_type, "shipment.status_changed");
}
