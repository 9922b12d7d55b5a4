//! OAuth2 connections end to end against the fake Shopify: start → the provider's authorize
//! (the fake consents and redirects) → callback → an active connection → an action through the
//! worker; every callback failure on its stable code (invalid, expired and replayed state,
//! declined consent, bad hmac); after the access token expires, 50 executions across two
//! worker processes cause exactly one refresh and the rotated refresh token is the one kept
//! (the next refresh works with it); a revoked grant marks the connection `error` and its
//! executions fail fast with CONNECTION_REAUTH_REQUIRED. Haravan (tokens that never expire,
//! no refresh token) through the same flow against its fake.

use std::collections::BTreeMap;

use dispatcher::config::OAuthAppAction;
use dispatcher::oauth::{apps, state::Pending};
use fake_provider::ecommerce::shopify::{self as fake_shopify, ShopifyStats};
use fake_provider::{FakeConfig, FakeProvider};
use integration_tests::fleet::Fleet;
use integration_tests::{shipping_base_url_args, ApiClient, Harness};
use integrations_core::catalog::Catalog;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const ORDER: &str = "gid://shopify/Order/1001";

fn start_body() -> Value {
    json!({"integrationId": "ecommerce-shopify", "name": "Fake shop",
           "config": {"shop": fake_shopify::SHOP}, "redirectUri": REDIRECT})
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The user's browser at the provider: the query the provider sends it back with.
async fn consent(authorize_url: &str) -> BTreeMap<String, String> {
    let resp = no_redirects()
        .get(authorize_url)
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().expect("location");
    let url = url::Url::parse(location).expect("callback URL");
    assert!(location.starts_with(REDIRECT), "{location}");
    url.query_pairs().into_owned().collect()
}

/// The browser arriving at the callback (public: no API key).
async fn callback(base: &str, query: &BTreeMap<String, String>) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/oauth/callback"))
        .query(query)
        .send()
        .await
        .expect("callback");
    let status = resp.status();
    (status, resp.json().await.expect("JSON"))
}

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn shopify_stats(fake: &FakeProvider) -> ShopifyStats {
    reqwest::get(format!("{}/__shopify/stats", fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

/// A fake platform's control endpoint, `POST /__<platform>/<what>`.
async fn control(fake: &FakeProvider, platform: &str, what: &str) {
    reqwest::Client::new()
        .post(format!("{}/__{platform}/{what}", fake.url()))
        .send()
        .await
        .expect("control");
}

fn secret_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("shopify-client-secret");
    std::fs::write(&path, format!("{}\n", fake_shopify::CLIENT_SECRET)).expect("write");
    path
}

fn assert_output(action: &str, done: &Value) {
    assert_eq!(done["status"], "succeeded", "{done}");
    let catalog = Catalog::embedded().expect("catalog");
    let integration = match action {
        "create_contact" | "get_contact" => "crm-hubspot",
        _ => "ecommerce-shopify",
    };
    let a = catalog.action(integration, action).expect("action");
    let problems = a.output_mismatches(&done["output"]);
    assert!(problems.is_empty(), "{action} output: {problems:?}");
}

#[tokio::test]
async fn the_flow_creates_an_active_connection_and_refuses_every_bad_callback() {
    let h = Harness::start().await;

    // Before the operator registers the app, nothing can start.
    let (s, b) = start(&h).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::CONFLICT, "OAUTH_APP_NOT_REGISTERED"),
        "{b}"
    );
    let catalog = Catalog::embedded().expect("catalog");
    let register = OAuthAppAction::Register {
        integration: "ecommerce-shopify".into(),
        client_id: fake_shopify::CLIENT_ID.into(),
        client_secret_file: secret_file(h.dir.path()),
    };
    let lines = apps::run(h.backend.secrets.as_ref(), &catalog, &register)
        .await
        .expect("registered");
    assert!(!lines.concat().contains(fake_shopify::CLIENT_SECRET));

    let (s, b) = start(&h).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let authorize = b["authorizeUrl"].as_str().expect("authorizeUrl");
    assert!(
        authorize.contains("scope=read_orders%2Cwrite_orders"),
        "{authorize}"
    );
    assert!(
        !authorize.contains("code_challenge"),
        "Shopify takes no PKCE"
    );
    let query = consent(authorize).await;
    let (s, conn) = callback(&h.base, &query).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    assert_eq!(
        (conn["status"].as_str(), conn["tenantId"].as_str()),
        (Some("active"), Some("t1"))
    );
    assert!(
        !conn.to_string().contains("shpat_"),
        "tokens are never shown"
    );

    // The same callback again: the state is single-use.
    let (s, b) = callback(&h.base, &query).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::CONFLICT, "OAUTH_STATE_REPLAYED"),
        "{b}"
    );

    // A tampered callback: Shopify's hmac no longer verifies.
    let (_, b) = start(&h).await;
    let mut query = consent(b["authorizeUrl"].as_str().expect("url")).await;
    query.insert("timestamp".into(), "1".into());
    let (s, b) = callback(&h.base, &query).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::BAD_REQUEST, "OAUTH_HMAC_INVALID"),
        "{b}"
    );

    // The merchant declines.
    control(&h.fake, "shopify", "deny-next").await;
    let (_, b) = start(&h).await;
    let query = consent(b["authorizeUrl"].as_str().expect("url")).await;
    assert_eq!(
        query.get("error").map(String::as_str),
        Some("access_denied")
    );
    let (s, b) = callback(&h.base, &query).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::BAD_REQUEST, "OAUTH_CONSENT_DENIED"),
        "{b}"
    );

    // A state past its 10 minutes, and one this service never signed.
    let key = apps::state_key(h.backend.secrets.as_ref())
        .await
        .expect("key");
    let mut old = Pending::new(
        "t1",
        "ecommerce-shopify",
        "x",
        json!({"shop": fake_shopify::SHOP}),
        REDIRECT,
    );
    old.expires_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        - 1;
    let expired = BTreeMap::from([
        ("state".to_string(), old.sign(&key).expect("sign")),
        ("code".into(), "c".into()),
    ]);
    let (s, b) = callback(&h.base, &expired).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::BAD_REQUEST, "OAUTH_STATE_EXPIRED"),
        "{b}"
    );
    let forged = BTreeMap::from([("state".to_string(), old.sign(b"not-the-key").expect("sign"))]);
    let (s, b) = callback(&h.base, &forged).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::BAD_REQUEST, "OAUTH_STATE_INVALID"),
        "{b}"
    );
    let stats = shopify_stats(&h.fake).await;
    assert_eq!(
        stats.code_exchanges, 1,
        "only the good callback exchanged a code: {stats:?}"
    );

    // The connection works through the worker.
    let conn_id = conn["connectionId"].as_str().expect("id");
    let body =
        json!({"connectionId": conn_id, "actionId": "get_order", "input": {"orderId": ORDER}});
    let (s, b) = h.execute("t1", body.clone()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let done = h
        .wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await;
    assert_output("get_order", &done);

    // The merchant uninstalls the app: the renewal is refused, the connection needs a new
    // consent, and its next executions fail at once.
    control(&h.fake, "shopify", "revoke").await;
    let (_, b) = h.execute("t1", body.clone()).await;
    let done = h
        .wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(
        (done["status"].as_str(), done["error"]["code"].as_str()),
        (Some("failed"), Some("CONNECTION_REAUTH_REQUIRED")),
        "{done}"
    );
    assert_eq!(done["attempts"], 1, "not retried: {done}");
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{conn_id}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error", "{c}");
    assert!(
        c["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("CONNECTION_REAUTH_REQUIRED")),
        "{c}"
    );
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(
        (s, code_of(&b)),
        (StatusCode::CONFLICT, "CONNECTION_REAUTH_REQUIRED"),
        "{b}"
    );
    let refused = shopify_stats(&h.fake).await.refused_refreshes;
    assert_eq!(refused, 1, "the revoked grant was tried once");
    h.stop().await;
}

async fn start(h: &Harness) -> (StatusCode, Value) {
    let path = "/connections/oauth/start";
    h.call(Method::POST, path, "t1", Some(start_body())).await
}

async fn submit(api: &ApiClient, conn: &str) -> String {
    let body = json!({"connectionId": conn, "actionId": "get_order", "input": {"orderId": ORDER}});
    let b = api.call(Method::POST, "/execute", Some(body)).await;
    b["executionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"))
        .to_string()
}

/// The done-when run: the flow through real processes (the app registered with the
/// operator's command), then an expired access token and 50 executions across two workers.
#[tokio::test]
async fn fifty_executions_across_two_workers_refresh_once_and_keep_the_rotated_token() {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut extra = vec!["--allow-private-urls".to_string()];
    extra.extend(shipping_base_url_args(&fake));
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let fleet = Fleet::embedded(BIN, &[], dir.path(), &extra);
    let secret = secret_file(dir.path());
    let out = fleet.run(&[
        "oauth-app",
        "register",
        "--integration",
        "ecommerce-shopify",
        "--client-id",
        fake_shopify::CLIENT_ID,
        "--client-secret-file",
        &secret.display().to_string(),
    ]);
    assert!(!out.contains(fake_shopify::CLIENT_SECRET), "{out}");
    let key = fleet
        .run(&["create-key", "--caller-service", "flows", "--tenants", "t1"])
        .trim()
        .to_string();
    let (_procs, api) = fleet.start(key, 2, &["--concurrency", "32", "--backoff-base-ms", "50"]);

    let started = api
        .call(Method::POST, "/connections/oauth/start", Some(start_body()))
        .await;
    let query = consent(
        started["authorizeUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("{started}")),
    )
    .await;
    let (s, conn) = callback(&api.base, &query).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let conn = conn["connectionId"].as_str().expect("id").to_string();
    let first = submit(&api, &conn).await;
    assert_output("get_order", &api.terminal(&first).await);

    control(&fake, "shopify", "expire-tokens").await;
    let ids = futures::future::join_all((0..50).map(|_| submit(&api, &conn))).await;
    for id in &ids {
        assert_output("get_order", &api.terminal(id).await);
    }
    let s = shopify_stats(&fake).await;
    assert_eq!(
        (s.refreshes, s.refused_refreshes),
        (1, 0),
        "exactly one refresh: {s:?}"
    );

    // The kept refresh token is the rotated one: the next refresh uses it and is honoured
    // (a stale one would answer invalid_grant).
    control(&fake, "shopify", "expire-tokens").await;
    let again = submit(&api, &conn).await;
    assert_output("get_order", &api.terminal(&again).await);
    let s = shopify_stats(&fake).await;
    assert_eq!((s.refreshes, s.refused_refreshes), (2, 0), "{s:?}");
}

/// The operator's app, then one authorized Shopify connection of t1.
async fn shopify_connection(h: &Harness) -> String {
    let catalog = Catalog::embedded().expect("catalog");
    let register = OAuthAppAction::Register {
        integration: "ecommerce-shopify".into(),
        client_id: fake_shopify::CLIENT_ID.into(),
        client_secret_file: secret_file(h.dir.path()),
    };
    apps::run(h.backend.secrets.as_ref(), &catalog, &register)
        .await
        .expect("registered");
    let (_, b) = start(h).await;
    let query = consent(b["authorizeUrl"].as_str().expect("url")).await;
    let (s, conn) = callback(&h.base, &query).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    conn["connectionId"].as_str().expect("id").to_string()
}

async fn run(h: &Harness, conn: &str, action: &str, input: Value) -> Value {
    let body = json!({"connectionId": conn, "actionId": action, "input": input});
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    h.wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await
}

fn failed_with(done: &Value, code: &str) {
    assert_eq!(
        (done["status"].as_str(), done["error"]["code"].as_str()),
        (Some("failed"), Some(code)),
        "{done}"
    );
}

/// Through the real worker: Shopify's THROTTLED and a 503 are retried to success, userErrors
/// fail at once, a fulfillment whose answer is lost ends OUTCOME_UNKNOWN; HubSpot with a
/// private app token succeeds, a missing contact fails at once, a refused token needs a new
/// credential, a 502 is retried, a deal whose answer is lost ends OUTCOME_UNKNOWN.
#[tokio::test]
async fn shopify_and_hubspot_outcomes_through_the_worker() {
    use fake_provider::Fault;
    let h = Harness::start().await;
    let shop = shopify_connection(&h).await;
    let graphql = "/shopify/admin/api/2025-10/graphql.json";
    let order = json!({"orderId": ORDER});

    control(&h.fake, "shopify", "throttle").await;
    let done = run(&h, &shop, "get_order", order.clone()).await;
    assert_output("get_order", &done);
    assert_eq!(
        done["attempts"], 2,
        "retried after the bucket refilled: {done}"
    );
    let fault = Fault {
        path: Some(graphql.into()),
        ..Fault::status(503)
    };
    h.fake.inject(fault).expect("fault");
    let done = run(&h, &shop, "get_order", order).await;
    assert_eq!(done["attempts"], 2, "{done}");
    let done = run(
        &h,
        &shop,
        "update_order",
        json!({"orderId": "gid://shopify/Order/9", "note": "x"}),
    )
    .await;
    failed_with(&done, "PROVIDER_REJECTED");
    assert_eq!(done["attempts"], 1);
    let fault = Fault {
        path: Some(graphql.into()),
        ..Fault::drop_connection()
    };
    h.fake.inject(fault).expect("fault");
    let done = run(
        &h,
        &shop,
        "create_fulfillment",
        json!({
        "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/4001",
        "trackingNumber": "GHN1", "trackingCompany": "GHN"}),
    )
    .await;
    failed_with(&done, "OUTCOME_UNKNOWN");

    let hubspot = |token: &str| {
        json!({"integrationId": "crm-hubspot", "name": "CRM",
        "credentials": {"accessToken": token}})
    };
    let (_, c) = h
        .call(
            Method::POST,
            "/connections",
            "t1",
            Some(hubspot(fake_provider::crm::hubspot::PRIVATE_APP_TOKEN)),
        )
        .await;
    let crm = c["connectionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{c}"))
        .to_string();
    let done = run(
        &h,
        &crm,
        "create_contact",
        json!({"properties": {"email": "chi@example.com"}}),
    )
    .await;
    assert_output("create_contact", &done);
    let done = run(&h, &crm, "get_contact", json!({"contactId": "999"})).await;
    failed_with(&done, "PROVIDER_NOT_FOUND");
    // Throttled by HubSpot's ten-secondly limit (a 1 s window here): the 429's headers say how
    // long to wait, and the execution succeeds on the next attempt after that.
    reqwest::Client::new()
        .post(format!("{}/__hubspot/throttle", h.fake.url()))
        .json(&json!({"times": 1, "intervalMs": 1000}))
        .send()
        .await
        .expect("throttle");
    let started = std::time::Instant::now();
    let done = run(&h, &crm, "get_contact", json!({"contactId": "5101"})).await;
    assert_output("get_contact", &done);
    assert_eq!(done["attempts"], 2, "{done}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited for the window"
    );
    let fault = Fault {
        path: Some("/hubspot/crm/v3/objects/contacts/5101".into()),
        ..Fault::status(502)
    };
    h.fake.inject(fault).expect("fault");
    let done = run(&h, &crm, "get_contact", json!({"contactId": "5101"})).await;
    assert_output("get_contact", &done);
    assert_eq!(done["attempts"], 2, "{done}");
    let fault = Fault {
        path: Some("/hubspot/crm/v3/objects/deals".into()),
        ..Fault::drop_connection()
    };
    h.fake.inject(fault).expect("fault");
    let done = run(
        &h,
        &crm,
        "create_deal",
        json!({"properties": {"dealname": "x", "dealstage": "closedwon"}}),
    )
    .await;
    failed_with(&done, "OUTCOME_UNKNOWN");

    let (_, c) = h
        .call(
            Method::POST,
            "/connections",
            "t1",
            Some(hubspot("pat-na1-revoked")),
        )
        .await;
    let bad = c["connectionId"].as_str().expect("id").to_string();
    let done = run(&h, &bad, "get_contact", json!({"contactId": "5101"})).await;
    failed_with(&done, "CONNECTION_REAUTH_REQUIRED");
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{bad}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error", "{c}");

    // HubSpot by OAuth through the same flow: no hmac, a form-encoded code exchange.
    let secret = h.dir.path().join("hubspot-client-secret");
    std::fs::write(&secret, fake_provider::crm::hubspot::CLIENT_SECRET).expect("write");
    let register = OAuthAppAction::Register {
        integration: "crm-hubspot".into(),
        client_id: fake_provider::crm::hubspot::CLIENT_ID.into(),
        client_secret_file: secret,
    };
    let catalog = Catalog::embedded().expect("catalog");
    apps::run(h.backend.secrets.as_ref(), &catalog, &register)
        .await
        .expect("registered");
    let body =
        json!({"integrationId": "crm-hubspot", "name": "CRM by OAuth", "redirectUri": REDIRECT});
    let (s, b) = h
        .call(Method::POST, "/connections/oauth/start", "t1", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let query = consent(b["authorizeUrl"].as_str().expect("url")).await;
    let (s, conn) = callback(&h.base, &query).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let oauth_crm = conn["connectionId"].as_str().expect("id");
    let done = run(&h, oauth_crm, "get_contact", json!({"contactId": "5101"})).await;
    assert_output("get_contact", &done);
    h.stop().await;
}

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
