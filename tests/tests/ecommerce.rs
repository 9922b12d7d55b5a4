//! The shop connectors through the real API and worker against their fakes: success, business
//! errors, auth failure, the platform's own throttling then success, a server error, and a
//! write whose answer is lost (OUTCOME_UNKNOWN for writes without an idempotency key, a safe
//! retry for the others). Every succeeded output checks against its outputSchema.

use fake_provider::ecommerce::{haravan, prestashop as presta, sapo, woocommerce as woo};
use fake_provider::FakeConfig;
use integration_tests::Harness;
use integrations_core::catalog::Catalog;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The fake holds the answer 2 s, past a 1 s action budget.
const LOST_ANSWER: &[&str] = &["--action-timeout-cap-ms", "1000"];

async fn connect(h: &Harness, integration: &str, config: Value, credentials: Value) -> String {
    let body = json!({"integrationId": integration, "name": "Shop", "config": config, "credentials": credentials});
    let (s, b) = h.call(Method::POST, "/connections", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

/// Run one action to its end; a succeeded output must match the catalog's outputSchema.
async fn run(h: &Harness, conn: &str, action: &str, input: Value) -> Value {
    let body = json!({"connectionId": conn, "actionId": action, "input": input});
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let done = h
        .wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await;
    if done["status"] == "succeeded" {
        let catalog = Catalog::embedded().expect("catalog");
        let integration = done["integrationId"].as_str().expect("integrationId");
        let a = catalog.action(integration, action).expect("action");
        let problems = a.output_mismatches(&done["output"]);
        assert!(
            problems.is_empty(),
            "{action} output {}: {problems:?}",
            done["output"]
        );
    }
    done
}

fn assert_done(done: &Value, status: &str, code: Option<&str>, attempts: u64) {
    assert_eq!(done["status"], status, "{done}");
    if let Some(code) = code {
        assert_eq!(done["error"]["code"], code, "{done}");
    }
    assert_eq!(done["attempts"], attempts, "{done}");
}

async fn connection_test(h: &Harness, conn: &str) -> Value {
    let path = format!("/connections/{conn}/test");
    let (s, b) = h.call(Method::POST, &path, "t1", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

async fn control(h: &Harness, path: &str, body: Value) {
    let resp = h
        .http
        .post(format!("{}{path}", h.fake.url()))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(resp.status().is_success(), "{path}");
}

async fn fake_stats(h: &Harness, path: &str) -> Value {
    reqwest::get(format!("{}{path}", h.fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

fn assert_never_echoed(h: &Harness, secret: &str) {
    let seen = h.responses.lock().expect("responses");
    assert!(
        seen.iter().all(|r| !r.contains(secret)),
        "a credential was echoed"
    );
}

// WooCommerce

const WOO_ORDERS: &str = "/woocommerce/wp-json/wc/v3/orders";

async fn woocommerce(h: &Harness, secret: &str) -> String {
    connect(
        h,
        "ecommerce-woocommerce",
        json!({"storeUrl": "https://shop.example.vn"}),
        json!({"consumerKey": woo::CONSUMER_KEY, "consumerSecret": secret}),
    )
    .await
}

#[tokio::test]
async fn woocommerce_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    for (action, input) in [
        ("list_orders", json!({"status": "processing"})),
        ("get_order", json!({"orderId": 101})),
        ("list_products", json!({"search": "áo"})),
        (
            "update_order_status",
            json!({"orderId": 101, "status": "completed"}),
        ),
        (
            "add_order_note",
            json!({"orderId": 101, "note": "Đã giao hàng"}),
        ),
    ] {
        assert_done(&run(&h, &conn, action, input).await, "succeeded", None, 1);
    }
    assert_eq!(connection_test(&h, &conn).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn woocommerce_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    let done = run(&h, &conn, "get_order", json!({"orderId": 999})).await;
    assert_done(&done, "failed", Some("PROVIDER_NOT_FOUND"), 1);
    let secret = "cs_wrongwrongwrong0000";
    let bad = woocommerce(&h, secret).await;
    let done = run(&h, &bad, "list_orders", json!({})).await;
    assert_done(&done, "failed", Some("PROVIDER_AUTH_FAILED"), 1);
    assert_eq!(connection_test(&h, &bad).await["success"], false);
    assert_never_echoed(&h, secret);
    h.stop().await;
}

#[tokio::test]
async fn woocommerce_throttling_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    control(
        &h,
        "/__woocommerce/throttle",
        json!({"times": 1, "resetSecs": 1}),
    )
    .await;
    assert_done(
        &run(&h, &conn, "list_orders", json!({})).await,
        "succeeded",
        None,
        2,
    );
    h.fault(json!({"path": WOO_ORDERS, "kind": "status", "status": 500, "times": 2}))
        .await;
    assert_done(
        &run(&h, &conn, "list_orders", json!({})).await,
        "succeeded",
        None,
        3,
    );
    h.stop().await;
}

#[tokio::test]
async fn woocommerce_lost_answers_retry_status_updates_but_not_notes() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = woocommerce(&h, woo::CONSUMER_SECRET).await;
    let lost = |path: String| json!({"path": path, "kind": "delay", "delayMs": 2000, "times": 1});
    h.fault(lost(format!("{WOO_ORDERS}/101/notes"))).await;
    let done = run(
        &h,
        &conn,
        "add_order_note",
        json!({"orderId": 101, "note": "x"}),
    )
    .await;
    assert_done(&done, "failed", Some("OUTCOME_UNKNOWN"), 1);
    assert_eq!(
        fake_stats(&h, "/__woocommerce/stats").await["notes"],
        1,
        "one note, not sent again"
    );
    // Setting a status is natural: the repeat after the lost answer is safe and succeeds.
    h.fault(lost(format!("{WOO_ORDERS}/103"))).await;
    let input = json!({"orderId": 103, "status": "cancelled"});
    let done = run(&h, &conn, "update_order_status", input).await;
    assert_done(&done, "succeeded", None, 2);
    assert_eq!(done["output"]["status"], "cancelled");
    h.stop().await;
}

// Sapo

const SAPO_ORDER: &str = "/sapo/admin/orders/1002.json";

async fn sapo(h: &Harness, credentials: Value) -> String {
    let config = json!({"storeDomain": "shop-a.mysapo.net"});
    connect(h, "ecommerce-sapo", config, credentials).await
}

fn sapo_key(secret: &str) -> Value {
    json!({"apiKey": sapo::API_KEY, "apiSecret": secret})
}

#[tokio::test]
async fn sapo_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    for (action, input) in [
        ("list_orders", json!({"status": "any", "limit": 2})),
        ("get_order", json!({"orderId": 1001})),
        ("list_products", json!({"vendor": "Shop A"})),
        ("update_order", json!({"orderId": 1002, "tags": "gấp"})),
    ] {
        assert_done(&run(&h, &conn, action, input).await, "succeeded", None, 1);
    }
    let token = sapo(&h, json!({"accessToken": sapo::ACCESS_TOKEN})).await;
    assert_eq!(connection_test(&h, &token).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn sapo_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    let input = json!({"orderId": 1002, "note": "n", "email": "not-an-email"});
    let done = run(&h, &conn, "update_order", input).await;
    assert_done(&done, "failed", Some("PROVIDER_REJECTED"), 1);
    let secret = "sapo-wrong-secret-55";
    let bad = sapo(&h, sapo_key(secret)).await;
    let done = run(&h, &bad, "list_orders", json!({})).await;
    assert_done(&done, "failed", Some("PROVIDER_AUTH_FAILED"), 1);
    assert_never_echoed(&h, secret);
    h.stop().await;
}

#[tokio::test]
async fn sapo_a_full_bucket_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    control(&h, "/__sapo/bucket", json!({"level": sapo::BUCKET_SIZE})).await;
    let done = run(&h, &conn, "get_order", json!({"orderId": 1002})).await;
    assert_done(&done, "succeeded", None, 2);
    h.fault(json!({"path": SAPO_ORDER, "kind": "status", "status": 500, "times": 2}))
        .await;
    let done = run(&h, &conn, "get_order", json!({"orderId": 1002})).await;
    assert_done(&done, "succeeded", None, 3);
    h.stop().await;
}

#[tokio::test]
async fn sapo_an_update_whose_answer_is_lost_is_sent_again() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = sapo(&h, sapo_key(sapo::API_SECRET)).await;
    h.fault(json!({"path": SAPO_ORDER, "kind": "delay", "delayMs": 2000, "times": 1}))
        .await;
    let done = run(
        &h,
        &conn,
        "update_order",
        json!({"orderId": 1002, "note": "đã gọi"}),
    )
    .await;
    assert_done(&done, "succeeded", None, 2);
    assert_eq!(done["output"]["note"], "đã gọi");
    h.stop().await;
}

// PrestaShop

const PRESTA_HISTORIES: &str = "/prestashop/api/order_histories";

async fn prestashop(h: &Harness, key: &str) -> String {
    let config = json!({"shopUrl": "https://shop.example.vn"});
    let credentials = json!({"webserviceKey": key});
    connect(h, "ecommerce-prestashop", config, credentials).await
}

#[tokio::test]
async fn prestashop_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    for (action, input) in [
        ("list_orders", json!({"customerId": 2})),
        ("get_order", json!({"orderId": 1})),
        ("list_products", json!({"reference": "demo_1"})),
        ("get_product", json!({"productId": 2})),
        ("list_customers", json!({"lastname": "DOE"})),
        ("get_customer", json!({"customerId": 2})),
        ("change_order_state", json!({"orderId": 3, "stateId": 2})),
    ] {
        assert_done(&run(&h, &conn, action, input).await, "succeeded", None, 1);
    }
    assert_eq!(connection_test(&h, &conn).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn prestashop_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    let done = run(
        &h,
        &conn,
        "change_order_state",
        json!({"orderId": 1, "stateId": 42}),
    )
    .await;
    assert_done(&done, "failed", Some("PROVIDER_REJECTED"), 1);
    let done = run(&h, &conn, "get_customer", json!({"customerId": 77})).await;
    assert_done(&done, "failed", Some("PROVIDER_NOT_FOUND"), 1);
    let key = "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
    let bad = prestashop(&h, key).await;
    let done = run(&h, &bad, "list_orders", json!({})).await;
    assert_done(&done, "failed", Some("PROVIDER_AUTH_FAILED"), 1);
    assert_never_echoed(&h, key);
    h.stop().await;
}

#[tokio::test]
async fn prestashop_throttling_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    control(
        &h,
        "/__prestashop/throttle",
        json!({"times": 1, "retryAfterSecs": 1}),
    )
    .await;
    assert_done(
        &run(&h, &conn, "list_products", json!({})).await,
        "succeeded",
        None,
        2,
    );
    let path = "/prestashop/api/customers/2";
    h.fault(json!({"path": path, "kind": "status", "status": 503, "times": 2}))
        .await;
    let done = run(&h, &conn, "get_customer", json!({"customerId": 2})).await;
    assert_done(&done, "succeeded", None, 3);
    h.stop().await;
}

#[tokio::test]
async fn prestashop_a_state_change_whose_answer_is_lost_adds_one_history() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = prestashop(&h, presta::WEBSERVICE_KEY).await;
    h.fault(json!({"path": PRESTA_HISTORIES, "kind": "delay", "delayMs": 2000, "times": 1}))
        .await;
    let done = run(
        &h,
        &conn,
        "change_order_state",
        json!({"orderId": 2, "stateId": 5}),
    )
    .await;
    assert_done(&done, "succeeded", None, 2);
    assert_eq!(done["output"]["alreadyInState"], true, "{done}");
    assert_eq!(fake_stats(&h, "/__prestashop/stats").await["histories"], 1);
    h.stop().await;
}

// Haravan

const HARAVAN_FULFIL: &str = "/haravan/com/orders/1002/fulfillments.json";

async fn haravan(h: &Harness, token: &str) -> String {
    let config = json!({"shopDomain": "shop-a.myharavan.com"});
    connect(
        h,
        "ecommerce-haravan",
        config,
        json!({"accessToken": token}),
    )
    .await
}

#[tokio::test]
async fn haravan_every_action_succeeds_through_the_worker() {
    let h = Harness::start().await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    for (action, input) in [
        ("list_orders", json!({"fulfillmentStatus": "unshipped"})),
        ("count_orders", json!({"status": "cancelled"})),
        ("list_products", json!({"title": "mũ"})),
        ("get_product", json!({"productId": 501})),
        (
            "create_fulfillment",
            json!({"orderId": 1001, "trackingNumber": "GHN1", "trackingCompany": "GHN"}),
        ),
    ] {
        assert_done(&run(&h, &conn, action, input).await, "succeeded", None, 1);
    }
    assert_eq!(connection_test(&h, &conn).await["success"], true);
    h.stop().await;
}

#[tokio::test]
async fn haravan_business_and_auth_errors_end_at_once() {
    let h = Harness::start().await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    let input = json!({"orderId": 1003, "trackingNumber": "X1"});
    let done = run(&h, &conn, "create_fulfillment", input).await;
    assert_done(&done, "failed", Some("PROVIDER_REJECTED"), 1);
    let token = "haravan-wrong-token-123456";
    let bad = haravan(&h, token).await;
    let done = run(&h, &bad, "count_orders", json!({})).await;
    assert_done(&done, "failed", Some("PROVIDER_AUTH_FAILED"), 1);
    assert_never_echoed(&h, token);
    h.stop().await;
}

#[tokio::test]
async fn haravan_a_full_bucket_and_server_errors_are_retried() {
    let h = Harness::start().await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    control(
        &h,
        "/__haravan/bucket",
        json!({"level": haravan::BUCKET_SIZE}),
    )
    .await;
    assert_done(
        &run(&h, &conn, "count_orders", json!({})).await,
        "succeeded",
        None,
        2,
    );
    let path = "/haravan/com/products/501.json";
    h.fault(json!({"path": path, "kind": "status", "status": 502, "times": 2}))
        .await;
    let done = run(&h, &conn, "get_product", json!({"productId": 501})).await;
    assert_done(&done, "succeeded", None, 3);
    h.stop().await;
}

#[tokio::test]
async fn haravan_a_fulfillment_whose_answer_is_lost_is_found_again() {
    let h = Harness::start_with(FakeConfig::default(), LOST_ANSWER).await;
    let conn = haravan(&h, haravan::ACCESS_TOKEN).await;
    h.fault(json!({"path": HARAVAN_FULFIL, "kind": "delay", "delayMs": 2000, "times": 1}))
        .await;
    let input = json!({"orderId": 1002, "trackingNumber": "VTP77"});
    let done = run(&h, &conn, "create_fulfillment", input).await;
    assert_done(&done, "succeeded", None, 2);
    assert_eq!(done["output"]["alreadyExisted"], true, "{done}");
    assert_eq!(fake_stats(&h, "/__haravan/stats").await["fulfillments"], 1);
    h.stop().await;
}
