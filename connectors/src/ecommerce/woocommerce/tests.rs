//! WooCommerce against the fake store, reached at its own (loopback) store URL: reads with
//! WordPress pagination, status updates, notes, and WooCommerce's errors, auth and throttling.

use fake_provider::ecommerce::{woocommerce as fake_woo, woocommerce_store_url};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use fake_provider::Fault;
use integrations_core::outbound::StaticLookup;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, control, credentials, exec, get_json, Conn};

type Harness = testing::Harness<WooCommerceConnector>;

async fn harness() -> Harness {
    let fake = testing::fake().await;
    let conn = Conn::new(
        INTEGRATION_ID,
        json!({"storeUrl": woocommerce_store_url(&fake)}),
        &[
            ("consumerKey", fake_woo::CONSUMER_KEY),
            ("consumerSecret", fake_woo::CONSUMER_SECRET),
        ],
    );
    // No base-URL override: the connector calls the store URL of the connection.
    let settings = testing::private_hosts_allowed();
    Harness {
        connector: WooCommerceConnector::new(&settings),
        conn,
        fake,
    }
}

impl Harness {
    async fn stats(&self) -> Value {
        get_json(format!("{}/__woocommerce/stats", self.fake.url())).await
    }
}

#[tokio::test]
async fn orders_and_products_are_read_page_by_page() {
    let h = harness().await;
    let page = h
        .ok(&exec(), "list_orders", json!({"perPage": 2, "page": 1}))
        .await;
    assert_eq!(
        (page["total"].clone(), page["totalPages"].clone()),
        (json!(3), json!(2))
    );
    let ids: Vec<&Value> = page["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| &o["id"])
        .collect();
    assert_eq!(ids, [&json!(103), &json!(102)], "newest first");
    let held = h
        .ok(
            &exec(),
            "list_orders",
            json!({"status": "processing", "customerId": 7}),
        )
        .await;
    assert_eq!(held["orders"][0]["id"], 101, "{held}");
    assert_eq!(held["total"], 1);
    let order = h.ok(&exec(), "get_order", json!({"orderId": 101})).await;
    assert_eq!(order["lineItems"][0]["sku"], "AO-THUN");
    assert_eq!(order["lineItems"][0]["price"], 150_000.0);
    assert_eq!(order["subtotal"], "300000.00");
    assert_eq!(order["billing"]["email"], "an@example.vn");
    let products = h
        .ok(&exec(), "list_products", json!({"sku": "QUAN-JEAN"}))
        .await;
    assert_eq!(
        products["products"][0]["stockStatus"], "outofstock",
        "{products}"
    );
    assert_eq!(products["total"], 1);
}

#[tokio::test]
async fn a_status_update_repeats_safely_and_a_note_is_added_once_per_call() {
    let h = harness().await;
    let input = json!({"orderId": 103, "status": "completed"});
    let first = h.ok(&exec(), "update_order_status", input.clone()).await;
    assert_eq!(first["status"], "completed");
    assert!(first["dateCompleted"].is_string(), "{first}");
    let again = h.ok(&exec(), "update_order_status", input).await;
    assert_eq!(
        again["dateModified"], first["dateModified"],
        "a repeat changes nothing"
    );
    let note = h
        .ok(
            &exec(),
            "add_order_note",
            json!({"orderId": 103, "note": "Đã giao", "customerNote": true}),
        )
        .await;
    assert_eq!(
        (note["orderId"].clone(), note["customerNote"].clone()),
        (json!(103), json!(true))
    );
    assert_eq!(h.stats().await["notes"], 1);
}

#[tokio::test]
async fn woocommerce_errors_are_classified() {
    let h = harness().await;
    let e = h.fails(&exec(), "get_order", json!({"orderId": 999})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderNotFound, false),
        "{e}"
    );
    let e = h
        .fails(
            &exec(),
            "add_order_note",
            json!({"orderId": 999, "note": "x"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
    // Refused by WooCommerce (the catalog's enum would stop it earlier).
    let e = h
        .fails(
            &exec(),
            "update_order_status",
            json!({"orderId": 101, "status": "shipped"}),
        )
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    assert!(
        e.message.contains("rest_invalid_param") && e.message.contains("status"),
        "{e}"
    );
}

#[tokio::test]
async fn a_wrong_secret_fails_authentication_and_the_connection_test() {
    let mut h = harness().await;
    let message = h
        .connector
        .test_connection(h.ctx(&exec()))
        .await
        .expect("test");
    assert!(message.contains("/woocommerce"), "{message}");
    h.conn.credentials = credentials(&[
        ("consumerKey", fake_woo::CONSUMER_KEY),
        ("consumerSecret", "cs_wrong0000000000000000"),
    ]);
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderAuthFailed, false),
        "{e}"
    );
    let e = h
        .connector
        .test_connection(h.ctx(&exec()))
        .await
        .expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
}

#[tokio::test]
async fn a_plain_http_store_is_refused_before_any_call() {
    let mut h = harness().await;
    h.conn.config = json!({"storeUrl": "http://shop.example.vn"});
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}");
    assert!(e.message.contains("https"), "{e}");
    assert_eq!(h.fake.stats().calls.len(), 0);
}

/// A store URL whose name resolves to a loopback address is refused when connecting (the
/// shape check cannot know what a name resolves to): a configuration error, not retried, and
/// nothing reaches the address. With the operator's switch on, the same store answers.
#[tokio::test]
async fn a_store_name_resolving_to_loopback_is_refused_at_connect_time() {
    let mut h = harness().await;
    let port = url::Url::parse(&h.fake.url())
        .ok()
        .and_then(|u| u.port())
        .expect("the fake's port");
    h.conn.config = json!({"storeUrl": format!("https://shop.example.test:{port}")});
    let lookup = Arc::new(StaticLookup(HashMap::from([(
        "shop.example.test".to_string(),
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    )])));
    let settings = crate::ConnectorSettings::new()
        .and_then(|s| s.with_tenant_hosts(false, lookup))
        .expect("HTTP clients");
    h.connector = WooCommerceConnector::new(&settings);
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable, e.request_sent),
        (ErrorKind::ValidationFailed, false, false),
        "{e}"
    );
    assert_eq!(e.kind.code(), "VALIDATION_FAILED");
    assert!(
        e.message
            .contains("shop.example.test resolves only to non-public addresses"),
        "{e}"
    );
    assert_eq!(h.fake.stats().calls.len(), 0, "nothing reached the address");
}

#[tokio::test]
async fn throttling_outages_and_lost_answers() {
    let h = harness().await;
    control(
        format!("{}/__woocommerce/throttle", h.fake.url()),
        json!({"times": 1, "resetSecs": 2}),
    )
    .await;
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true),
        "{e}"
    );
    assert!(!e.request_sent, "a 429 says nothing was done: {e}");
    let wait = e.retry_after.expect("RateLimit-Reset read as the wait");
    assert!(wait.as_secs() <= 2 && wait.as_secs() >= 1, "{wait:?}");
    h.ok(&exec(), "list_orders", json!({})).await;

    h.fake.inject(Fault::status(503)).expect("inject");
    let e = h.fails(&exec(), "get_order", json!({"orderId": 101})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true),
        "{e}"
    );
    // The note's answer is lost after it was sent: the error says so, so the engine ends the
    // attempt OUTCOME_UNKNOWN (the action is `none`) instead of adding a second note.
    h.fake.inject(Fault::drop_connection()).expect("inject");
    let e = h
        .fails(
            &exec(),
            "add_order_note",
            json!({"orderId": 101, "note": "x"}),
        )
        .await;
    assert!(e.request_sent, "{e}");
}
