//! Haravan by OAuth (tokens that never expire, no refresh token) against its fake.

use super::*;

/// Haravan by OAuth: start → consent → callback → an active connection whose token lists
/// orders through the worker; a replayed state and a declined consent answer their codes; a
/// revoked token ends CONNECTION_REAUTH_REQUIRED (nothing renews it) and marks the
/// connection `error`.
#[tokio::test]
async fn haravan_connects_by_oauth_and_a_revoked_token_needs_a_new_authorization() {
    use fake_provider::ecommerce::haravan as fake_haravan;
    let h = Harness::start().await;
    let secret = h.dir.path().join("haravan-client-secret");
    std::fs::write(&secret, fake_haravan::CLIENT_SECRET).expect("write");
    let register = OAuthAppAction::Register {
        integration: "ecommerce-haravan".into(),
        client_id: fake_haravan::CLIENT_ID.into(),
        client_secret_file: secret,
    };
    let catalog = Catalog::embedded().expect("catalog");
    apps::run(h.backend.secrets.as_ref(), &catalog, &register)
        .await
        .expect("registered");
    let body = json!({"integrationId": "ecommerce-haravan", "name": "Haravan shop",
                      "config": {"shopDomain": "shop-a.myharavan.com"}, "redirectUri": REDIRECT});
    let start = || {
        h.call(
            Method::POST,
            "/connections/oauth/start",
            "t1",
            Some(body.clone()),
        )
    };

    let (s, b) = start().await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let authorize = b["authorizeUrl"].as_str().expect("authorizeUrl");
    assert!(
        authorize.contains("/haravan/connect/authorize?response_mode=query&")
            && authorize.contains("scope=openid+profile+email+org+userinfo+com.read_orders"),
        "{authorize}"
    );
    let query = consent(authorize).await;
    let (s, conn) = callback(&h.base, &query).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    assert_eq!(conn["status"], "active", "{conn}");
    let id = conn["connectionId"].as_str().expect("id").to_string();
    let (s, b) = callback(&h.base, &query).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::CONFLICT, "OAUTH_STATE_REPLAYED"),
        "{b}"
    );
    haravan_webhooks_reach_the_connection(&h, &id, &conn["webhook"]).await;
    let done = run(&h, &id, "list_orders", json!({})).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let problems = catalog
        .action("ecommerce-haravan", "list_orders")
        .expect("action")
        .output_mismatches(&done["output"]);
    assert!(problems.is_empty(), "list_orders output: {problems:?}");

    // The token endpoint refuses what Haravan's would: a JSON body, a wrong secret, a spent
    // code, a code exchanged with another redirect_uri.
    let token_url = format!("{}/haravan/connect/token", h.fake.url());
    let exchange = |code: String, secret: &'static str, redirect: &'static str| {
        let form = [
            ("grant_type", "authorization_code".to_string()),
            ("code", code),
            ("client_id", fake_haravan::CLIENT_ID.into()),
            ("client_secret", secret.into()),
            ("redirect_uri", redirect.into()),
        ];
        let url = token_url.clone();
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("token");
            let status = resp.status();
            let body: Value = resp.json().await.expect("JSON");
            (
                status,
                body["error"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let spent = query["code"].clone();
    let refused = (StatusCode::BAD_REQUEST, "invalid_grant".to_string());
    let secret = fake_haravan::CLIENT_SECRET;
    assert_eq!(exchange(spent.clone(), secret, REDIRECT).await, refused);
    let (_, b) = start().await;
    let fresh = consent(b["authorizeUrl"].as_str().expect("url")).await["code"].clone();
    assert_eq!(
        exchange(fresh.clone(), "wrong-secret", REDIRECT).await,
        (StatusCode::BAD_REQUEST, "invalid_client".to_string())
    );
    let elsewhere = "http://127.0.0.1:9/elsewhere";
    assert_eq!(exchange(fresh, secret, elsewhere).await, refused);
    let json_body = reqwest::Client::new()
        .post(&token_url)
        .json(&json!({"grant_type": "authorization_code", "code": spent}))
        .send()
        .await
        .expect("token");
    assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);

    control(&h.fake, "haravan", "deny-next").await;
    let (_, b) = start().await;
    let declined = consent(b["authorizeUrl"].as_str().expect("url")).await;
    assert_eq!(
        declined.get("error").map(String::as_str),
        Some("access_denied")
    );
    let (s, b) = callback(&h.base, &declined).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::BAD_REQUEST, "OAUTH_CONSENT_DENIED"),
        "{b}"
    );

    control(&h.fake, "haravan", "revoke").await;
    let done = run(&h, &id, "list_orders", json!({})).await;
    failed_with(&done, "CONNECTION_REAUTH_REQUIRED");
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{id}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error", "{c}");
    h.stop().await;
}

/// The OAuth callback registered the connection's webhook endpoint, made its URL token (the
/// challenge's verify token) and copied the app's secret, which signs its webhooks.
async fn haravan_webhooks_reach_the_connection(h: &Harness, id: &str, webhook: &Value) {
    use connectors::kit::sign::{hmac, Encoding, HmacAlgorithm};
    use fake_provider::ecommerce::haravan as fake_haravan;
    let token = webhook["token"].as_str().expect("a URL token");
    let url = format!("{}/webhooks/ecommerce-haravan/{id}", h.base);
    let query = [
        ("hub.mode", "subscribe"),
        ("hub.verify_token", token),
        ("hub.challenge", "42"),
    ];
    let resp = h
        .http
        .get(&url)
        .query(&query)
        .send()
        .await
        .expect("challenge");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.expect("body"), "42");
    let body = r#"{"id":1001,"financial_status":"paid"}"#;
    let mac = hmac(
        HmacAlgorithm::Sha256,
        fake_haravan::CLIENT_SECRET.as_bytes(),
        body.as_bytes(),
    );
    let resp = h
        .http
        .post(&url)
        .header("x-haravan-topic", "orders/paid")
        .header("x-haravan-hmacsha256", Encoding::Base64.encode(&mac))
        .body(body)
        .send()
        .await
        .expect("webhook");
    assert_eq!(resp.status(), StatusCode::OK);
}
