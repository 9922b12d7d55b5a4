//! Shopify: start → the provider's authorize (the fake consents and redirects) → callback → an
//! active connection → an action through the worker; every callback failure on its stable code
//! (invalid, expired and replayed state, declined consent, bad hmac); after the access token
//! expires, 50 executions across two worker processes cause exactly one refresh and the rotated
//! refresh token is the one kept (the next refresh works with it); a revoked grant, and a
//! refresh token past its 90 days, mark the connection `error` and its executions fail fast
//! with CONNECTION_REAUTH_REQUIRED.

use super::*;

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

/// Through the real worker: THROTTLED and a 503 are retried to success, userErrors fail at
/// once, an inventory adjustment whose connection drops is retried under its @idempotent key
/// and succeeds, a fulfillment whose answer is lost ends OUTCOME_UNKNOWN (fulfillmentCreate
/// takes no idempotency key).
#[tokio::test]
async fn shopify_outcomes_through_the_worker() {
    use fake_provider::Fault;
    let h = Harness::start().await;
    let shop = shopify_connection(&h).await;
    let graphql = "/shopify/admin/api/2026-10/graphql.json";
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
    let fault = Fault {
        path: Some(graphql.into()),
        ..Fault::drop_connection()
    };
    h.fake.inject(fault).expect("fault");
    let input = json!({"inventoryItemId": "gid://shopify/InventoryItem/3001",
        "locationId": "gid://shopify/Location/1", "delta": -2});
    let done = run(&h, &shop, "adjust_inventory", input).await;
    assert_output("adjust_inventory", &done);
    assert_eq!(done["attempts"], 2, "a lost answer is retried: {done}");
    h.stop().await;
}

/// A refresh token unused for 90 days has expired: Shopify refuses it (`invalid_grant`), the
/// execution fails at once with CONNECTION_REAUTH_REQUIRED, the connection is marked `error`,
/// and the next execution is refused when submitted (409, the same code) without asking
/// Shopify again.
#[tokio::test]
async fn an_expired_refresh_token_needs_a_new_authorization() {
    let h = Harness::start().await;
    let shop = shopify_connection(&h).await;
    let order = json!({"orderId": ORDER});
    assert_output(
        "get_order",
        &run(&h, &shop, "get_order", order.clone()).await,
    );
    control(&h.fake, "shopify", "expire-refresh-tokens").await;
    control(&h.fake, "shopify", "expire-tokens").await;
    let done = run(&h, &shop, "get_order", order.clone()).await;
    failed_with(&done, "CONNECTION_REAUTH_REQUIRED");
    assert_eq!(done["attempts"], 1, "not retried: {done}");
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{shop}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error", "{c}");
    let body = json!({"connectionId": shop, "actionId": "get_order", "input": order});
    let (status, b) = h.execute("t1", body).await;
    assert_eq!(
        (status, code_of(&b)),
        (StatusCode::CONFLICT, "CONNECTION_REAUTH_REQUIRED"),
        "{b}"
    );
    let s = shopify_stats(&h.fake).await;
    assert_eq!((s.refreshes, s.refused_refreshes), (0, 1), "{s:?}");
    h.stop().await;
}
