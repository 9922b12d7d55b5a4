//! PrestaShop against the fake shop, reached at its own (loopback) shop URL: filtered lists,
//! multilingual names, state changes that repeat safely, and the webservice's errors.

use fake_provider::ecommerce::{prestashop as fake_presta, prestashop_shop_url};
use fake_provider::Fault;
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::testing::{self, control, credentials, exec, get_json, Conn};

type Harness = testing::Harness<PrestaShopConnector>;

async fn harness() -> Harness {
    let fake = testing::fake().await;
    let settings = testing::private_hosts_allowed();
    Harness {
        connector: PrestaShopConnector::new(&settings),
        conn: Conn::new(
            INTEGRATION_ID,
            json!({"shopUrl": prestashop_shop_url(&fake)}),
            &[("webserviceKey", fake_presta::WEBSERVICE_KEY)],
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
async fn orders_products_and_customers_are_read_with_filters() {
    let h = harness().await;
    let all = h.ok(&exec(), "list_orders", json!({})).await;
    assert_eq!(ids(&all["orders"]), [3, 2, 1], "newest first");
    let john = h
        .ok(
            &exec(),
            "list_orders",
            json!({"customerId": 2, "offset": 1, "limit": 1}),
        )
        .await;
    assert_eq!(ids(&john["orders"]), [1]);
    let window = json!({"dateFrom": "2026-03-02 00:00:00", "dateTo": "2026-03-02 23:59:59"});
    assert_eq!(
        ids(&h.ok(&exec(), "list_orders", window).await["orders"]),
        [2]
    );
    let none = h.ok(&exec(), "list_orders", json!({"stateId": 6})).await;
    assert_eq!(
        none["orders"],
        json!([]),
        "PrestaShop's bare [] is an empty list"
    );
    let order = h.ok(&exec(), "get_order", json!({"orderId": 1})).await;
    assert_eq!(
        (order["currentState"].clone(), order["valid"].clone()),
        (json!(2), json!(true))
    );
    assert_eq!(order["rows"][0]["quantity"], 2);
    let active = h
        .ok(&exec(), "list_products", json!({"active": false}))
        .await;
    assert_eq!(ids(&active["products"]), [3]);
    let vi = h
        .ok(
            &exec(),
            "get_product",
            json!({"productId": 1, "languageId": 2}),
        )
        .await;
    assert_eq!(vi["name"], "Áo thun in chim ruồi");
    let found = h
        .ok(&exec(), "list_customers", json!({"email": "an@example.vn"}))
        .await;
    assert_eq!(ids(&found["customers"]), [3]);
    let c = h
        .ok(&exec(), "get_customer", json!({"customerId": 2}))
        .await;
    assert_eq!(
        (c["lastname"].clone(), c["active"].clone()),
        (json!("DOE"), json!(true))
    );
}

#[tokio::test]
async fn a_state_change_adds_one_history_and_a_repeat_adds_none() {
    let h = harness().await;
    let input = json!({"orderId": 2, "stateId": 4, "sendEmail": true});
    let first = h.ok(&exec(), "change_order_state", input.clone()).await;
    assert_eq!(first["alreadyInState"], false);
    assert!(first["historyId"].is_i64(), "{first}");
    let again = h.ok(&exec(), "change_order_state", input).await;
    assert_eq!(
        (again["alreadyInState"].clone(), again["historyId"].clone()),
        (json!(true), Value::Null)
    );
    let stats = get_json(format!("{}/__prestashop/stats", h.fake.url())).await;
    assert_eq!(stats["histories"], 1);
    assert_eq!(
        h.ok(&exec(), "get_order", json!({"orderId": 2})).await["currentState"],
        4
    );
}

#[tokio::test]
async fn webservice_errors_are_classified() {
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
            "change_order_state",
            json!({"orderId": 1, "stateId": 99}),
        )
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRejected, false),
        "{e}"
    );
    assert!(e.message.contains("id_order_state"), "{e}");
    let e = h
        .fails(&exec(), "list_customers", json!({"email": "a]|[b"}))
        .await;
    assert_eq!(
        e.kind,
        ErrorKind::ValidationFailed,
        "an operator is not sent: {e}"
    );
}

#[tokio::test]
async fn a_wrong_key_fails_authentication_and_the_connection_test() {
    let mut h = harness().await;
    let message = h
        .connector
        .test_connection(h.ctx(&exec()))
        .await
        .expect("test");
    assert!(message.contains("/prestashop"), "{message}");
    h.conn.credentials = credentials(&[("webserviceKey", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ")]);
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
    h.conn.config = json!({"shopUrl": "http://shop.example.vn"});
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(e.kind, ErrorKind::ValidationFailed, "{e}");
}

#[tokio::test]
async fn throttling_outages_and_lost_answers() {
    let h = harness().await;
    control(
        format!("{}/__prestashop/throttle", h.fake.url()),
        json!({"times": 1, "retryAfterSecs": 3}),
    )
    .await;
    let e = h.fails(&exec(), "list_orders", json!({})).await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true),
        "{e}"
    );
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
    h.ok(&exec(), "list_orders", json!({})).await;
    h.fake.inject(Fault::status(500)).expect("inject");
    let e = h
        .fails(&exec(), "get_customer", json!({"customerId": 2}))
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true),
        "{e}"
    );
    h.fake
        .inject(Fault::drop_connection().on("/prestashop/api/order_histories"))
        .expect("inject");
    let e = h
        .fails(
            &exec(),
            "change_order_state",
            json!({"orderId": 3, "stateId": 2}),
        )
        .await;
    assert!(e.retryable && e.request_sent, "{e}");
    // The retry reads the order first: the dropped call never reached the shop, so it is sent.
    let done = h
        .ok(
            &exec(),
            "change_order_state",
            json!({"orderId": 3, "stateId": 2}),
        )
        .await;
    assert_eq!(done["alreadyInState"], false);
}
