//! Sapo against the fake Sapo store: reads, order updates, Basic and token auth, Sapo's
//! errors and its call-limit bucket.

use fake_provider::ecommerce::{sapo as fake_sapo, sapo_base_url};
use fake_provider::Fault;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, control, credentials, exec, get_json, Conn};

type Harness = testing::Harness<SapoConnector>;

async fn harness() -> Harness {
    let fake = testing::fake().await;
    let settings = testing::settings_at(INTEGRATION_ID, &sapo_base_url(&fake));
    Harness {
        connector: SapoConnector::new(&settings),
        conn: Conn::new(
            INTEGRATION_ID,
            json!({"storeDomain": "shop-a.mysapo.net"}),
            &[
                ("apiKey", fake_sapo::API_KEY),
                ("apiSecret", fake_sapo::API_SECRET),
            ],
        ),
        fake,
    }
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .filter_map(|o| o["id"].as_i64())
        .collect()
}

#[tokio::test]
async fn orders_and_products_are_read() {
    let h = harness().await;
    let open = h.ok(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        ids(&open["orders"]),
        [1002, 1001],
        "open orders, newest first"
    );
    let any = h
        .ok(
            &exec(),
            "list_orders",
            json!({"status": "any", "limit": 1, "page": 3}),
        )
        .await;
    assert_eq!(
        (ids(&any["orders"]), any["page"].clone()),
        (vec![1001], json!(3))
    );
    let paid = h
        .ok(&exec(), "list_orders", json!({"financialStatus": "paid"}))
        .await;
    assert_eq!(ids(&paid["orders"]), [1001]);
    let order = h.ok(&exec(), "get_order", json!({"orderId": 1001})).await;
    assert_eq!(order["totalPrice"], 420_000.0);
    assert_eq!(order["lineItems"][0]["sku"], "AO-THUN-M");
    assert_eq!(order["customer"]["firstName"], "An");
    assert_eq!(order["shippingAddress"]["district"], "Quận 1");
    let products = h.ok(&exec(), "list_products", json!({"title": "áo"})).await;
    assert_eq!(
        products["products"][0]["variants"][0]["inventoryQuantity"],
        40
    );
}

#[tokio::test]
async fn an_update_replaces_fields_and_repeats_as_a_no_op() {
    let h = harness().await;
    let input = json!({"orderId": 1002, "note": "Giao giờ hành chính", "tags": "vip, hn"});
    let first = h.ok(&exec(), "update_order", input.clone()).await;
    assert_eq!(
        (first["note"].clone(), first["tags"].clone()),
        (json!("Giao giờ hành chính"), json!("vip, hn"))
    );
    let again = h.ok(&exec(), "update_order", input).await;
    assert_eq!(
        again["updatedAt"], first["updatedAt"],
        "nothing changed the second time"
    );
    let e = h
        .fails(
            &exec(),
            "update_order",
            json!({"orderId": 1002, "email": "not-an-email"}),
        )
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    assert!(e.message.contains("email is invalid"), "{e}");
    let e = h
        .fails(&exec(), "get_order", json!({"orderId": 9999}))
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
    let e = h
        .fails(&exec(), "update_order", json!({"orderId": 1002}))
        .await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}");
}

#[tokio::test]
async fn basic_or_token_auth_and_their_failures() {
    let mut h = harness().await;
    assert!(h.connector.test_connection(h.ctx(&exec())).await.is_ok());
    h.conn.credentials = credentials(&[("accessToken", fake_sapo::ACCESS_TOKEN)]);
    let message = h
        .connector
        .test_connection(h.ctx(&exec()))
        .await
        .expect("token");
    assert!(message.contains("shop-a.mysapo.net"), "{message}");
    for creds in [
        credentials(&[("accessToken", "sapo-wrong-token-000")]),
        credentials(&[
            ("apiKey", fake_sapo::API_KEY),
            ("apiSecret", "wrong-secret-123"),
        ]),
    ] {
        h.conn.credentials = creds;
        let e = h.fails(&exec(), "list_orders", json!({})).await;
        assert_eq!(
            (e.kind, e.retryable),
            (ErrorKind::ProviderAuthFailed, false),
            "{e}"
        );
    }
    h.conn.config = json!({"storeDomain": "evil.example.com"});
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}");
}

#[tokio::test]
async fn a_full_bucket_outages_and_lost_answers() {
    let h = harness().await;
    let bucket = format!("{}/__sapo/bucket", h.fake.url());
    control(bucket, json!({"level": fake_sapo::BUCKET_SIZE})).await;
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true),
        "{e}"
    );
    let wait = e.retry_after.expect("Retry-After");
    // What the engine does: wait as told, then call again.
    tokio::time::sleep(wait).await;
    h.ok(&exec(), "list_orders", json!({})).await;
    let stats = get_json(format!("{}/__sapo/stats", h.fake.url())).await;
    assert!(stats["bucket"].as_f64().expect("level") < f64::from(fake_sapo::BUCKET_SIZE));

    h.fake.inject(Fault::status(502)).expect("inject");
    let e = h
        .fails(&exec(), "get_order", json!({"orderId": 1001}))
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true),
        "{e}"
    );
    h.fake.inject(Fault::drop_connection()).expect("inject");
    let e = h
        .fails(
            &exec(),
            "update_order",
            json!({"orderId": 1001, "note": "x"}),
        )
        .await;
    assert!(
        e.retryable,
        "an update is natural: the engine may send it again: {e}"
    );
}
