//! The shop platforms (Shopify, WooCommerce, Sapo, Haravan): a base64 HMAC of the raw body with
//! the connection's secret. Signatures are constants computed with Python's `hmac`, not with
//! this workspace's code, so that a mistake shared by signer and verifier cannot pass.

use integration_tests::{capture_logs, Harness};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{create, post, recorded};

const BODY: &str =
    r##"{"id":450789469,"name":"#1001","email":"buyer@example.com","total_price":"199.00"}"##;
/// SHA-256 of [`BODY`], hex.
const BODY_SHA256: &str = "91c34586366dd71629bcf2dddf31de4a02c9dad826baafc32a8fa18d6496042e";
const CURRENT: &str = "shop_secret_current";
const NEXT: &str = "shop_secret_next";
/// base64 HMAC-SHA256 of [`BODY`] under [`CURRENT`], [`NEXT`] and an unrelated secret.
const BY_CURRENT: &str = "5AWMy1gh1WmPBz/foDvP5qJB5pOXMA/P6ZNeyF8xne8=";
const BY_NEXT: &str = "LDerlZRy/XPVAXMdlFZ6e7YaxJK3fwlNKOQ9We1cCVg=";
const BY_UNRELATED: &str = "oPMBa9XSKYymEkDqfji349EKxxyQHa9hhb3wZOhhZ50=";
/// The same HMAC under [`CURRENT`], hex: the right MAC in the wrong encoding.
const BY_CURRENT_HEX: &str = "e4058ccb5821d5698f073fdfa03bcfe6a241e69397300fcfe9935ec85f319def";

/// One platform's case.
struct Shop {
    integration: &'static str,
    config: Value,
    /// Credentials besides the webhook secret.
    credentials: Value,
    signature_header: &'static str,
    /// The topic and delivery headers.
    headers: [(&'static str, &'static str); 2],
    /// The connection's secret field and its rotation companion.
    fields: [&'static str; 2],
    dedupe_key: String,
}

fn shops() -> [Shop; 4] {
    [
        Shop {
            integration: "ecommerce-shopify",
            config: json!({"shop": "shop-a.myshopify.com"}),
            credentials: json!({"accessToken": "shpat_test_token"}),
            signature_header: "X-Shopify-Hmac-Sha256",
            headers: [
                ("X-Shopify-Topic", "orders/create"),
                (
                    "X-Shopify-Webhook-Id",
                    "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
                ),
            ],
            fields: ["clientSecret", "previousClientSecret"],
            dedupe_key: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".into(),
        },
        Shop {
            integration: "ecommerce-woocommerce",
            config: json!({"storeUrl": "https://shop.example.vn"}),
            credentials: json!({"consumerKey": "ck_test", "consumerSecret": "cs_test"}),
            signature_header: "X-WC-Webhook-Signature",
            headers: [
                ("X-WC-Webhook-Topic", "order.created"),
                ("X-WC-Webhook-Delivery-ID", "7001"),
            ],
            fields: ["webhookSecret", "previousWebhookSecret"],
            dedupe_key: format!("7001:{BODY_SHA256}"),
        },
        Shop {
            integration: "ecommerce-sapo",
            config: json!({"storeDomain": "shop-a.mysapo.net"}),
            credentials: json!({"accessToken": "sapo_test_token"}),
            signature_header: "X-Sapo-Hmac-Sha256",
            headers: [("X-Sapo-Topic", "orders/create"), ("X-Sapo-Format", "json")],
            fields: ["webhookSecret", "previousWebhookSecret"],
            dedupe_key: format!("orders/create:{BODY_SHA256}"),
        },
        Shop {
            integration: "ecommerce-haravan",
            config: json!({"shopDomain": "shop-a.myharavan.com"}),
            credentials: json!({"accessToken": "haravan_test_token"}),
            signature_header: "X-Haravan-Hmacsha256",
            headers: [
                ("X-Haravan-Topic", "orders/create"),
                ("X-Haravan-Org-Id", "1000"),
            ],
            fields: ["clientSecret", "previousClientSecret"],
            dedupe_key: format!("orders/create:{BODY_SHA256}"),
        },
    ]
}

#[tokio::test]
async fn shops_valid_replayed_forged_and_rotated() {
    let h = Harness::start().await;
    for shop in shops() {
        let what = shop.integration;
        let mut credentials = shop.credentials.clone();
        credentials[shop.fields[0]] = json!(CURRENT);
        let (conn, _) = create(&h, what, shop.config.clone(), credentials).await;
        let path = format!("/webhooks/{what}/{conn}");
        let send = |signature: Option<&str>, body: &str| {
            let mut headers: Vec<(&str, String)> = shop
                .headers
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect();
            headers.extend(signature.map(|s| (shop.signature_header, s.to_string())));
            let (h, path, body) = (&h, path.clone(), body.to_string());
            async move { post(h, &path, &headers, body).await.0 }
        };
        assert_eq!(send(Some(BY_CURRENT), BODY).await, 200, "{what}: valid");
        assert_eq!(send(Some(BY_CURRENT), BODY).await, 200, "{what}: replay");
        let event = recorded(&h, &conn, &shop.dedupe_key).await;
        assert_eq!(event.event_type, "order.created", "{what}");
        assert_eq!(event.integration_id, what);
        assert_eq!(event.data["id"], 450789469);
        assert_ne!(
            event.data["email"], "buyer@example.com",
            "{what}: sanitized"
        );

        let forged = BODY.replace("199.00", "1.00");
        assert_eq!(send(Some(BY_CURRENT), &forged).await, 401, "{what}: forged");
        assert_eq!(send(Some(BY_CURRENT_HEX), BODY).await, 401, "{what}: hex");
        assert_eq!(send(None, BODY).await, 401, "{what}: unsigned");
        assert_eq!(send(Some(BY_CURRENT), "").await, 401, "{what}: empty");

        // The secret rotates: the new one is set, the old one kept beside it.
        let rotation = json!({"credentials": {shop.fields[0]: NEXT, shop.fields[1]: CURRENT}});
        let (s, b) = h
            .call(
                Method::PATCH,
                &format!("/connections/{conn}"),
                "t1",
                Some(rotation),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{what}: {b}");
        assert_eq!(send(Some(BY_NEXT), BODY).await, 200, "{what}: new secret");
        assert_eq!(
            send(Some(BY_CURRENT), BODY).await,
            200,
            "{what}: old secret"
        );
        assert_eq!(
            send(Some(BY_UNRELATED), BODY).await,
            401,
            "{what}: unrelated"
        );
    }
}

#[tokio::test]
async fn woocommerce_ping_is_answered_and_not_recorded() {
    let logs = capture_logs();
    let h = Harness::start().await;
    let (conn, _) = create(
        &h,
        "ecommerce-woocommerce",
        json!({"storeUrl": "https://shop.example.vn"}),
        json!({"consumerKey": "ck_test", "consumerSecret": "cs_test", "webhookSecret": CURRENT}),
    )
    .await;
    let path = format!("/webhooks/ecommerce-woocommerce/{conn}");
    let form = (
        "content-type",
        "application/x-www-form-urlencoded".to_string(),
    );
    let (status, body) = post(
        &h,
        &path,
        std::slice::from_ref(&form),
        "webhook_id=42".into(),
    )
    .await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert!(
        !logs.contents().contains("webhook received"),
        "a ping is not an event: {}",
        logs.contents()
    );
    // Anything else unsigned is refused, even a form.
    let other = post(&h, &path, &[form], "webhook_id=42&status=paid".into()).await;
    assert_eq!(other.0, 401);
}

#[tokio::test]
async fn haravan_challenge_needs_the_connections_token() {
    let h = Harness::start().await;
    let (conn, created) = create(
        &h,
        "ecommerce-haravan",
        json!({"shopDomain": "shop-a.myharavan.com"}),
        json!({"accessToken": "haravan_test_token", "clientSecret": CURRENT}),
    )
    .await;
    let token = created["webhook"]["token"].as_str().expect("token");
    let challenge = |verify_token: &str| {
        let url = format!("{}/webhooks/ecommerce-haravan/{conn}", h.base);
        let query = [
            ("hub.mode", "subscribe"),
            ("hub.verify_token", verify_token),
            ("hub.challenge", "1158201444"),
        ];
        let req = h.http.get(url).query(&query);
        async move {
            let resp = req.send().await.expect("challenge");
            (resp.status().as_u16(), resp.text().await.expect("body"))
        }
    };
    assert_eq!(challenge(token).await, (200, "1158201444".to_string()));
    assert_eq!(challenge("not-the-token").await.0, 401);
}
