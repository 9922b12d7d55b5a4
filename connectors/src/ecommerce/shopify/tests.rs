//! The Shopify connector against the fake Shopify (in process): a connection authorized
//! through the fake's OAuth (authorize, then the kit's code exchange), every action with its
//! output against the catalog, userErrors, refresh on expiry with the rotated refresh token
//! written back, a revoked grant, THROTTLED, an outage and a lost answer.

use std::sync::Arc;
use std::time::Duration;

use fake_provider::ecommerce::shopify::{self as fake_shopify, ShopifyStats};
use fake_provider::ecommerce::shopify_base_url;
use fake_provider::{FakeConfig, Fault};
use integrations_core::connector::Renewal;
use integrations_core::model::Credentials;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::kit::auth::token::oauth2::{self, exchange_code};
use crate::testing::stores::Stores;
use crate::testing::{self, control, get_json, Conn};

const ORDER: &str = "gid://shopify/Order/1001";
const REDIRECT: &str = "https://app.example/oauth/callback";
const GRAPHQL: &str = "/shopify/admin/api/2026-10/graphql.json";

type Harness = testing::Harness<ShopifyConnector>;

/// The merchant's consent at the fake, then the code exchanged for expiring offline tokens:
/// the credentials the API's OAuth callback stores.
async fn authorized(base: &str) -> Credentials {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let consent = no_redirects
        .get(format!("{base}/admin/oauth/authorize"))
        .query(&[
            ("client_id", fake_shopify::CLIENT_ID),
            ("scope", "read_orders"),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(consent.status(), 302);
    let location = consent.headers()["location"].to_str().expect("location");
    let url = url::Url::parse(location).expect("callback URL");
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let tokens = exchange_code(
        &reqwest::Client::new(),
        base,
        "/admin/oauth/access_token",
        &TOKEN_ENDPOINT,
        (fake_shopify::CLIENT_ID, fake_shopify::CLIENT_SECRET),
        &code,
        REDIRECT,
        None,
        &[("expiring", json!(1))],
    )
    .await
    .expect("code exchanged");
    assert_eq!(tokens.expires_in, Some(3600));
    let expires = chrono::Utc::now().timestamp_millis() + 3_600_000;
    testing::credentials(&[
        (oauth2::ACCESS_TOKEN, &tokens.access_token),
        ("accessTokenExpiresAt", &expires.to_string()),
        (
            oauth2::REFRESH_TOKEN,
            &tokens.refresh_token.expect("rotating"),
        ),
        (oauth2::CLIENT_ID, fake_shopify::CLIENT_ID),
        (oauth2::CLIENT_SECRET, fake_shopify::CLIENT_SECRET),
    ])
}

async fn harness() -> Harness {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("start fake");
    let base = shopify_base_url(&fake);
    let settings = testing::settings_at(INTEGRATION_ID, &base);
    let mut conn = Conn::new(INTEGRATION_ID, json!({"shop": fake_shopify::SHOP}), &[]);
    conn.credentials = authorized(&base).await;
    Harness {
        connector: ShopifyConnector::new(&settings),
        conn,
        fake,
    }
}

impl Harness {
    async fn stats(&self) -> ShopifyStats {
        let v = get_json(format!("{}/__shopify/stats", self.fake.url())).await;
        serde_json::from_value(v).expect("stats")
    }

    async fn shopify_control(&self, what: &str, body: Value) {
        control(format!("{}/__shopify/{what}", self.fake.url()), body).await;
    }
}

#[tokio::test]
async fn every_action_answers_its_output_schema() {
    let h = harness().await;
    let order = h.ok("e1", "get_order", json!({"orderId": ORDER})).await;
    assert_eq!(
        (
            order["name"].as_str(),
            order["lineItems"][0]["quantity"].as_i64()
        ),
        (Some("#1001"), Some(2))
    );
    let page = h
        .ok("e2", "list_orders", json!({"query": "tag:web", "first": 5}))
        .await;
    assert_eq!(page["orders"][0]["id"], ORDER);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    let product = h
        .ok(
            "e3",
            "get_product",
            json!({"productId": "gid://shopify/Product/2001"}),
        )
        .await;
    let item = product["variants"][0]["inventoryItemId"].clone();
    assert_eq!(product["variants"][0]["inventoryQuantity"], 10);
    let adjusted = h
        .ok(
            "e4",
            "adjust_inventory",
            json!({"inventoryItemId": item, "locationId": "gid://shopify/Location/1", "delta": -3}),
        )
        .await;
    assert_eq!(adjusted["changes"][0]["delta"], -3);
    let product = h
        .ok(
            "e5",
            "get_product",
            json!({"productId": "gid://shopify/Product/2001"}),
        )
        .await;
    assert_eq!(product["variants"][0]["inventoryQuantity"], 7);
    let updated = h
        .ok(
            "e6",
            "update_order",
            json!({"orderId": ORDER, "tags": ["web", "packed"], "note": "gift wrap"}),
        )
        .await;
    assert_eq!(updated["tags"], json!(["web", "packed"]));
    let fulfilled = h
        .ok(
            "e7",
            "create_fulfillment",
            json!({"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/4001",
                "trackingNumber": "GHN123", "trackingCompany": "GHN"}),
        )
        .await;
    assert_eq!(
        (
            fulfilled["status"].as_str(),
            fulfilled["trackingNumber"].as_str()
        ),
        (Some("SUCCESS"), Some("GHN123"))
    );
    let message = h
        .connector
        .test_connection(h.ctx("e8"))
        .await
        .expect("test");
    assert!(message.contains("Fake Shop"), "{message}");
}

#[tokio::test]
async fn user_errors_and_missing_objects_are_business_errors() {
    let h = harness().await;
    let e = h
        .fails(
            "e1",
            "update_order",
            json!({"orderId": "gid://shopify/Order/9", "note": "x"}),
        )
        .await;
    assert_eq!((e.kind, e.retryable), (ErrorKind::ProviderRejected, false));
    assert!(e.message.contains("id: Order does not exist"), "{e}");
    let input = json!({"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/4001",
        "trackingNumber": "GHN1", "trackingCompany": "GHN"});
    h.ok("e2", "create_fulfillment", input.clone()).await;
    let e = h.fails("e3", "create_fulfillment", input).await;
    assert!(e.message.contains("unfulfillable"), "{e}");
    let e = h
        .fails(
            "e4",
            "get_order",
            json!({"orderId": "gid://shopify/Order/77"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound);
}

/// The access token expired: one refresh, the rotated refresh token written back with the
/// new access token, the call run with it; the previous refresh token is spent.
#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_rotated_refresh_token_stored() {
    let h = harness().await;
    h.shopify_control("expire-tokens", json!({})).await;
    let stores = Stores::new();
    const SECRET: &str = "/integrations/t/shopify";
    stores.set_secret(SECRET, h.conn.credentials.clone());
    let renewer = Arc::new(stores.renewer("w-1"));
    let mut tasks = Vec::new();
    let connector = Arc::new(h.connector);
    let (config, creds) = (
        Arc::new(h.conn.config.clone()),
        Arc::new(h.conn.credentials),
    );
    for i in 0..10 {
        let (connector, renewer, config, creds) = (
            connector.clone(),
            renewer.clone(),
            config.clone(),
            creds.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let exec = format!("e{i}");
            let mut ctx = testing::ctx(&exec, &config, &creds);
            ctx.renewal = Some(Renewal {
                secret_name: SECRET,
                renewer: &renewer,
            });
            connector
                .execute("get_order", &json!({"orderId": ORDER}), ctx)
                .await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("refreshed and answered");
    }
    let stats = get_json(format!("{}/__shopify/stats", h.fake.url())).await;
    assert_eq!(stats["refreshes"], 1, "{stats}");
    let stored = stores.secret(SECRET).expect("secret");
    let old = creds.get(oauth2::REFRESH_TOKEN).expect("old");
    let new = stored.get(oauth2::REFRESH_TOKEN).expect("rotated");
    assert_ne!(old, new);
    assert_ne!(
        stored.get(oauth2::ACCESS_TOKEN),
        creds.get(oauth2::ACCESS_TOKEN)
    );
    assert_eq!(stores.writes(), 1);
}

/// The merchant uninstalled the app: the refresh is refused (`invalid_grant`) and the call
/// fails at once with CONNECTION_REAUTH_REQUIRED, not retried.
#[tokio::test]
async fn a_revoked_grant_requires_a_new_authorization() {
    let h = harness().await;
    h.ok("e1", "get_order", json!({"orderId": ORDER})).await;
    h.shopify_control("revoke", json!({})).await;
    let e = h.fails("e2", "get_order", json!({"orderId": ORDER})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ConnectionReauthRequired, false)
    );
    let stats = h.stats().await;
    assert_eq!((stats.unauthorized, stats.refused_refreshes), (1, 1));
}

#[tokio::test]
async fn throttled_waits_for_the_bucket_then_succeeds() {
    let h = harness().await;
    h.shopify_control("throttle", json!({"times": 1})).await;
    let e = h.fails("e1", "get_order", json!({"orderId": ORDER})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true)
    );
    assert!(!e.request_sent, "a throttled query did nothing");
    // (requestedQueryCost 10 − currentlyAvailable 0) / restoreRate 100, at least a second.
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    h.ok("e2", "get_order", json!({"orderId": ORDER})).await;
    assert_eq!(h.stats().await.throttled, 1);
}

#[tokio::test]
async fn an_outage_is_retryable_and_a_lost_write_answer_is_reported_as_sent() {
    let h = harness().await;
    h.fake
        .inject(Fault {
            path: Some(GRAPHQL.into()),
            ..Fault::status(503)
        })
        .expect("fault");
    let e = h.fails("e1", "get_order", json!({"orderId": ORDER})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true)
    );

    h.fake
        .inject(Fault {
            path: Some(GRAPHQL.into()),
            ..Fault::delay(Duration::from_millis(1500))
        })
        .expect("fault");
    let input = json!({"inventoryItemId": "gid://shopify/InventoryItem/3002",
        "locationId": "gid://shopify/Location/1", "delta": 5});
    let e = h
        .run_within(
            "e2",
            "adjust_inventory",
            input.clone(),
            Duration::from_millis(300),
        )
        .await
        .expect_err("no answer in time");
    assert!(e.request_sent, "the adjustment may have happened: {e}");
    // Safe to retry (the catalog says so, so the engine does): the same execution sends the
    // same @idempotent key, and Shopify answers the first adjustment instead of making another.
    let action = testing::catalog()
        .action("ecommerce-shopify", "adjust_inventory")
        .expect("action");
    assert!(!action.unsafe_to_repeat());
    let retried = h.ok("e2", "adjust_inventory", input.clone()).await;
    let again = h.ok("e2", "adjust_inventory", input.clone()).await;
    assert_eq!(retried, again);
    assert_eq!(available(&h, "3002").await, 5, "adjusted once for e2");
    let other = h.ok("e3", "adjust_inventory", input).await;
    assert_ne!(other["adjustmentGroupId"], retried["adjustmentGroupId"]);
    assert_eq!(
        available(&h, "3002").await,
        10,
        "another execution, another adjustment"
    );
}

/// The available quantity of an inventory item of the seeded product.
async fn available(h: &Harness, item: &str) -> i64 {
    let product = h
        .ok(
            "read",
            "get_product",
            json!({"productId": "gid://shopify/Product/2001"}),
        )
        .await;
    let item = format!("gid://shopify/InventoryItem/{item}");
    product["variants"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["inventoryItemId"] == item.as_str())
        .and_then(|v| v["inventoryQuantity"].as_i64())
        .unwrap_or_else(|| panic!("{item} in {product}"))
}

/// The shop names the host the token is sent to: one outside myshopify.com (an internal address,
/// another site, a path smuggled in) is refused before any call, as the catalog's pattern would.
#[tokio::test]
async fn a_shop_outside_myshopify_com_is_refused_before_any_call() {
    let mut h = harness().await;
    for shop in [
        "169.254.169.254",
        "evil.example.com",
        "fake-shop.myshopify.com.evil.example",
        "evil.example/x?.myshopify.com",
    ] {
        h.conn.config = json!({"shop": shop});
        let e = h
            .fails("e-shop", "get_order", json!({"orderId": ORDER}))
            .await;
        assert_eq!(e.kind, ErrorKind::ValidationFailed, "{shop}: {e}");
        assert!(e.message.contains("myshopify.com"), "{shop}: {e}");
    }
    assert_eq!(h.stats().await.graphql_calls, 0);
}
