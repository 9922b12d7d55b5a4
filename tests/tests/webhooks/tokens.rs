//! GHN and GHTK sign nothing: the URL carries a token the service makes when the connection is
//! created, shown in the create answer and by `GET /connections/{id}/webhook`, rotated by
//! `POST /connections/{id}/webhook-token/rotate` with a grace period for the old one.

use fake_provider::FakeConfig;
use integration_tests::{Harness, SHOP_ID, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{connect, create, post, recorded};

const PUBLIC_URL: &str = "https://hooks.example.com";

fn ghn_status() -> String {
    json!({"OrderCode": "GHN42", "Type": "switch_status", "Status": "delivered",
        "Time": "2026-01-02T03:04:05Z"})
    .to_string()
}

async fn ghn(h: &Harness) -> (String, Value) {
    create(
        h,
        "shipping-ghn",
        json!({"shopId": SHOP_ID, "environment": "sandbox"}),
        json!({"apiKey": TOKEN}),
    )
    .await
}

async fn rotate(h: &Harness, conn: &str) -> Value {
    let path = format!("/connections/{conn}/webhook-token/rotate");
    let (s, b) = h.call(Method::POST, &path, "t1", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn path_of(endpoint: &Value) -> String {
    endpoint["path"].as_str().expect("path").to_string()
}

#[tokio::test]
async fn ghn_token_is_made_shown_and_rotated_with_a_grace() {
    let h = Harness::start_with(FakeConfig::default(), &["--public-url", PUBLIC_URL]).await;
    let (conn, created) = ghn(&h).await;
    let endpoint = &created["webhook"];
    let token = endpoint["token"].as_str().expect("a token").to_string();
    assert!(
        token.len() >= 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "256 bits, base64url: {token}"
    );
    let path = path_of(endpoint);
    assert_eq!(path, format!("/webhooks/shipping-ghn/{conn}?token={token}"));
    assert_eq!(endpoint["url"], format!("{PUBLIC_URL}{path}"));
    let (s, shown) = h
        .call(
            Method::GET,
            &format!("/connections/{conn}/webhook"),
            "t1",
            None,
        )
        .await;
    assert_eq!((s, &shown), (StatusCode::OK, endpoint));
    let (s, _) = h
        .call(
            Method::GET,
            &format!("/connections/{conn}/webhook"),
            "t2",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's connection");

    assert_eq!(post(&h, &path, &[], ghn_status()).await.0, 200);
    assert_eq!(post(&h, &path, &[], ghn_status()).await.0, 200, "a replay");
    let event = recorded(&h, &conn, "GHN42:switch_status:2026-01-02T03:04:05Z").await;
    assert_eq!(event.event_type, "shipment.status_changed");
    let wrong = format!(
        "/webhooks/shipping-ghn/{conn}?token={}X",
        &token[..token.len() - 1]
    );
    assert_eq!(post(&h, &wrong, &[], ghn_status()).await.0, 401);
    let bare = format!("/webhooks/shipping-ghn/{conn}");
    assert_eq!(post(&h, &bare, &[], ghn_status()).await.0, 401);

    let rotated = rotate(&h, &conn).await;
    let new_path = path_of(&rotated);
    assert_ne!(rotated["token"], json!(token));
    assert!(rotated["previousTokenExpiresAt"].is_string(), "{rotated}");
    assert_eq!(post(&h, &new_path, &[], ghn_status()).await.0, 200, "new");
    assert_eq!(
        post(&h, &path, &[], ghn_status()).await.0,
        200,
        "old, in grace"
    );
    // Other credentials still change, and the tokens stay.
    let key = json!({"credentials": {"apiKey": TOKEN}});
    let (s, b) = h
        .call(
            Method::PATCH,
            &format!("/connections/{conn}"),
            "t1",
            Some(key),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(post(&h, &new_path, &[], ghn_status()).await.0, 200);

    // The token is the service's: a tenant cannot choose or overwrite it.
    let chosen = json!({"integrationId": "shipping-ghn", "name": "Mine",
        "config": {"shopId": SHOP_ID, "environment": "sandbox"},
        "credentials": {"apiKey": TOKEN, "webhookToken": "tok_3f9a1c7e5b2d8f4a6c0e9b1d"}});
    let (s, b) = h
        .call(Method::POST, "/connections", "t1", Some(chosen))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let overwrite = json!({"credentials": {"webhookToken": "tok_3f9a1c7e5b2d8f4a6c0e9b1d"}});
    let (s, b) = h
        .call(
            Method::PATCH,
            &format!("/connections/{conn}"),
            "t1",
            Some(overwrite),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
}

#[tokio::test]
async fn after_the_grace_only_the_new_token_works() {
    let h = Harness::start_with(FakeConfig::default(), &["--webhook-token-grace-secs", "0"]).await;
    let (conn, created) = ghn(&h).await;
    let old = path_of(&created["webhook"]);
    assert!(created["webhook"]["url"].is_null(), "no --public-url");
    let new = path_of(&rotate(&h, &conn).await);
    assert_eq!(post(&h, &new, &[], ghn_status()).await.0, 200);
    assert_eq!(post(&h, &old, &[], ghn_status()).await.0, 401, "grace over");

    // GHTK: a form body with the token it was given.
    let (ghtk, made) = create(
        &h,
        "shipping-ghtk",
        json!({}),
        json!({"apiToken": "ghtk_test_token"}),
    )
    .await;
    let path = path_of(&made["webhook"]);
    let form = "label_id=S1.A1.17373471&partner_id=ORDER9&status_id=5&action_time=2026-01-02T10%3A00%3A00%2B07%3A00";
    assert_eq!(post(&h, &path, &[], form.into()).await.0, 200);
    let event = recorded(&h, &ghtk, "S1.A1.17373471:5:2026-01-02T10:00:00+07:00").await;
    assert_eq!(event.data["partner_id"], "ORDER9");

    // Signed providers have a URL but no token; others no webhook at all.
    let stripe = connect(
        &h,
        "payment-stripe",
        json!({}),
        json!({"secretKey": "sk_test_0123456789", "webhookSecret": "whsec_test_0123456789"}),
    )
    .await;
    let (s, b) = h
        .call(
            Method::GET,
            &format!("/connections/{stripe}/webhook"),
            "t1",
            None,
        )
        .await;
    assert_eq!((s, &b["token"]), (StatusCode::OK, &Value::Null), "{b}");
    let (s, _) = h
        .call(
            Method::POST,
            &format!("/connections/{stripe}/webhook-token/rotate"),
            "t1",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let presta = connect(
        &h,
        "ecommerce-prestashop",
        json!({"shopUrl": "https://shop.example.vn"}),
        json!({"webserviceKey": "PRESTAKEY0123456789ABCDEFGHIJKLM"}),
    )
    .await;
    let (s, _) = h
        .call(
            Method::GET,
            &format!("/connections/{presta}/webhook"),
            "t1",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
