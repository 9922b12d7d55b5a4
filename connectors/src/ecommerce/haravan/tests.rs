//! Haravan against the fake Haravan: orders and their count, products, fulfillments that
//! repeat safely, Bearer auth, and its call-limit bucket (paced before it fills, 429 after).

use fake_provider::ecommerce::{haravan as fake_haravan, haravan_base_url};
use fake_provider::Fault;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, control, credentials, exec, get_json, Conn};

type Harness = testing::Harness<HaravanConnector>;

/// Each harness its own shop, so the process-wide bucket reports of one test do not pace
/// another's calls.
async fn harness(shop: &str) -> Harness {
    let fake = testing::fake().await;
    let settings = testing::settings_at(INTEGRATION_ID, &haravan_base_url(&fake));
    Harness {
        connector: HaravanConnector::new(&settings),
        conn: Conn::new(
            INTEGRATION_ID,
            json!({"shopDomain": format!("{shop}.myharavan.com")}),
            &[("accessToken", fake_haravan::ACCESS_TOKEN)],
        ),
        fake,
    }
}

impl Harness {
    async fn fill_bucket(&self, level: u32) {
        control(
            format!("{}/__haravan/bucket", self.fake.url()),
            json!({"level": level}),
        )
        .await;
    }

    async fn stats(&self) -> Value {
        get_json(format!("{}/__haravan/stats", self.fake.url())).await
    }
}

#[tokio::test]
async fn orders_counts_and_products_are_read() {
    let h = harness("reads").await;
    let open = h
        .ok(&exec(), "list_orders", json!({"limit": 1, "page": 2}))
        .await;
    assert_eq!(open["orders"][0]["id"], 1001, "{open}");
    let count = h
        .ok(&exec(), "count_orders", json!({"status": "any"}))
        .await;
    assert_eq!(count["count"], 3);
    let paid = h
        .ok(&exec(), "count_orders", json!({"financialStatus": "paid"}))
        .await;
    assert_eq!(paid["count"], 1);
    let p = h
        .ok(&exec(), "get_product", json!({"productId": 502}))
        .await;
    assert_eq!(p["variants"][0]["inventoryQuantity"], 0);
    let list = h
        .ok(&exec(), "list_products", json!({"productType": "Áo"}))
        .await;
    assert_eq!(list["products"][0]["id"], 501);
    let e = h
        .fails(&exec(), "get_product", json!({"productId": 9}))
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
}

#[tokio::test]
async fn a_fulfillment_repeated_finds_the_first_and_other_refusals_stand() {
    let h = harness("fulfil").await;
    let input = json!({"orderId": 1001, "trackingNumber": "GHN123", "trackingCompany": "GHN",
                       "lineItems": [{"id": 10011, "quantity": 2}]});
    let first = h.ok(&exec(), "create_fulfillment", input.clone()).await;
    assert_eq!(
        (first["alreadyExisted"].clone(), first["status"].clone()),
        (json!(false), json!("success"))
    );
    let again = h.ok(&exec(), "create_fulfillment", input).await;
    assert_eq!(
        (again["id"].clone(), again["alreadyExisted"].clone()),
        (first["id"].clone(), json!(true))
    );
    assert_eq!(h.stats().await["fulfillments"], 1);
    // The other line, under another tracking number, is a second fulfillment.
    let rest = h
        .ok(
            &exec(),
            "create_fulfillment",
            json!({"orderId": 1001, "trackingNumber": "GHN124"}),
        )
        .await;
    assert_eq!(rest["lineItems"], json!([{"id": 10012, "quantity": 1}]));
    // Nothing left: a new tracking number is refused, as is a cancelled order.
    let e = h
        .fails(
            &exec(),
            "create_fulfillment",
            json!({"orderId": 1001, "trackingNumber": "X"}),
        )
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    assert!(e.message.contains("already fulfilled"), "{e}");
    let e = h
        .fails(
            &exec(),
            "create_fulfillment",
            json!({"orderId": 1003, "trackingNumber": "Y"}),
        )
        .await;
    assert!(e.message.contains("cancelled"), "{e}");
}

#[tokio::test]
async fn a_refused_token_needs_a_new_authorization_and_fails_the_connection_test() {
    let mut h = harness("auth").await;
    let message = h
        .connector
        .test_connection(h.ctx(&exec()))
        .await
        .expect("test");
    assert!(message.contains("auth.myharavan.com"), "{message}");
    h.conn.credentials = credentials(&[("accessToken", "haravan-wrong-token-0000")]);
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ConnectionReauthRequired, false),
        "{e}"
    );
    let e = h
        .connector
        .test_connection(h.ctx(&exec()))
        .await
        .expect_err("refused");
    assert_eq!(e.kind, ErrorKind::ConnectionReauthRequired);
}

/// A nearly full bucket: the connector, having seen it, waits for it to leak instead of
/// calling into a 429; without the pacing the second call here would be refused.
#[tokio::test]
async fn calls_slow_down_before_the_bucket_is_full() {
    let h = harness("pacing").await;
    h.fill_bucket(fake_haravan::BUCKET_SIZE - 1).await;
    for _ in 0..3 {
        h.ok(&exec(), "count_orders", json!({})).await;
    }
    let level = h.stats().await["bucket"].as_f64().expect("level");
    assert!(
        level <= f64::from(fake_haravan::BUCKET_SIZE) - client::HEADROOM + 1.0,
        "{level}"
    );
}

#[tokio::test]
async fn a_full_bucket_outages_and_lost_answers() {
    let h = harness("throttle").await;
    // Full before this connector has seen a report: Haravan's own 429 is the signal.
    h.fill_bucket(fake_haravan::BUCKET_SIZE).await;
    let e = h.fails(&exec(), "list_products", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true),
        "{e}"
    );
    assert!(e.retry_after.is_some(), "{e}");
    h.ok(&exec(), "list_products", json!({})).await;
    h.fake.inject(Fault::status(500)).expect("inject");
    let e = h.fails(&exec(), "count_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true),
        "{e}"
    );
    // The fulfillment's answer is lost after Haravan made it: the retry finds it.
    h.fake
        .inject(
            Fault::delay(std::time::Duration::from_millis(1500))
                .on("/haravan/com/orders/1002/fulfillments.json"),
        )
        .expect("inject");
    let input = json!({"orderId": 1002, "trackingNumber": "VTP9"});
    let e = h
        .run_within(
            &exec(),
            "create_fulfillment",
            input.clone(),
            std::time::Duration::from_millis(500),
        )
        .await
        .expect_err("no answer in time");
    assert!(e.retryable && e.request_sent, "{e}");
    // Wait until the held call has taken effect (the fake applied it before holding it).
    while h.stats().await["fulfillments"] == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let again = h.ok(&exec(), "create_fulfillment", input).await;
    assert_eq!(again["alreadyExisted"], true, "{again}");
    assert_eq!(h.stats().await["fulfillments"], 1);
}
