//! Webhooks to triggers end to end, through the real receiver route, relay and worker: a signed
//! Shopify `orders/create` delivered three times gives one GHN order, made with the customer's
//! real phone and address while every record we keep shows them masked; and a webhook answered
//! just before a SIGKILL of the process still fires its trigger once after the restart.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use integration_tests::fleet::Fleet;
use integration_tests::{ApiClient, Harness, SHOP_ID, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
const CREATE_ORDER: &str = "/v2/shipping-order/create";
const SECRET: &str = "shopify_app_secret_e2e";
const PHONE: &str = "0912345678";
const ADDRESS: &str = "12 Ly Thuong Kiet";

fn shopify_connection() -> Value {
    json!({"integrationId": "ecommerce-shopify", "name": "Shop",
           "config": {"shop": "demo-shop.myshopify.com"},
           "credentials": {"accessToken": "shpat_test", "clientSecret": SECRET}})
}

fn ghn_connection() -> Value {
    json!({"integrationId": "shipping-ghn", "name": "GHN",
           "config": {"shopId": SHOP_ID, "environment": "sandbox"},
           "credentials": {"apiKey": TOKEN}})
}

/// The README's example: a paid Shopify order → a GHN order to its shipping address.
fn trigger(shop: &str, ghn: &str) -> Value {
    json!({
        "source": {"connectionId": shop, "eventType": "order.created",
                   "filter": "data.financial_status == 'paid'"},
        "action": {"connectionId": ghn, "actionId": "create_order",
                   "input": integration_tests::shopify_order_to_ghn_input()}
    })
}

/// Shopify's POST for order `id`, signed as Shopify signs: base64 HMAC-SHA256 of the raw body
/// with the app's client secret. Returns the HTTP status.
async fn deliver(http: &reqwest::Client, base: &str, shop: &str, id: u64) -> u16 {
    let body = json!({
        "id": id, "name": "#1001", "email": "buyer@example.com", "financial_status": "paid",
        "shipping_address": {"name": "Nguyen Van A", "phone": PHONE, "address1": ADDRESS,
                             "district_id": 1485, "ward_code": "1A0101"},
        "line_items": [{"title": "T-shirt", "quantity": 2, "grams": 300}]
    })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    http.post(format!("{base}/webhooks/ecommerce-shopify/{shop}"))
        .header("Content-Type", "application/json")
        .header("X-Shopify-Topic", "orders/create")
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Webhook-Id", format!("delivery-{id}"))
        .body(body)
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16()
}

/// The executions of `connection`, polled until `n` are terminal.
async fn terminal(api: &ApiClient, connection: &str, n: usize, within: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let path = format!("/executions?connectionId={connection}");
        let page = api.call(Method::GET, &path, None).await;
        let listed = page["executions"].as_array().cloned().unwrap_or_default();
        let done = listed.iter().filter(|e| {
            ["succeeded", "failed", "timed_out", "dead_lettered"]
                .contains(&e["status"].as_str().unwrap_or_default())
        });
        if done.count() >= n {
            return listed;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {n} terminal executions: {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_delivered_three_times_makes_one_order_with_the_real_address() {
    let h = Harness::start().await;
    let api = ApiClient {
        http: h.http.clone(),
        base: h.base.clone(),
        key: h.key.clone(),
    };
    let shop = api
        .call(Method::POST, "/connections", Some(shopify_connection()))
        .await;
    let shop = shop["connectionId"].as_str().expect("shop").to_string();
    let ghn = h.create_connection("t1").await;
    let (s, b) = h
        .call(Method::POST, "/triggers", "t1", Some(trigger(&shop, &ghn)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    for _ in 0..3 {
        assert_eq!(deliver(&h.http, &h.base, &shop, 4501).await, 200);
    }
    let listed = terminal(&api, &ghn, 1, Duration::from_secs(30)).await;
    assert_eq!(listed.len(), 1, "one delivery, one execution: {listed:?}");
    let id = listed[0]["executionId"].as_str().expect("id");
    let done = h.wait_terminal("t1", id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(h.provider_calls(CREATE_ORDER).await, 1);

    // GHN got the customer's phone and address; what we keep shows them masked.
    let code = done["output"]["orderCode"].as_str().expect("order code");
    let order = h.fake.ghn_order(code).expect("the order at GHN");
    assert_eq!(
        (&order["to_phone"], &order["to_address"]),
        (&json!(PHONE), &json!(ADDRESS))
    );
    assert_eq!(done["input"]["toPhone"], "*******678", "{done}");
    let event_id = done["callerRef"].as_str().expect("the event id");
    let (s, event) = h
        .call(Method::GET, &format!("/events/{event_id}"), "t1", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{event}");
    assert_eq!(event["data"]["shipping_address"]["phone"], "*******678");
    assert_eq!(event["data"]["shipping_address"]["address1"], "***");
    assert!(!event.to_string().contains(PHONE), "{event}");

    // Delivered once more after the order exists: still one order.
    assert_eq!(deliver(&h.http, &h.base, &shop, 4501).await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        terminal(&api, &ghn, 1, Duration::from_secs(5)).await.len(),
        1
    );
    assert_eq!(h.provider_calls(CREATE_ORDER).await, 1);
}

/// The process answers Shopify once the webhook and its event are written, and its relay fires
/// the trigger a moment later. Killed in between, the event waits in the outbox under the dead
/// relay's claim (3 s here); the restarted process's relay takes it over and fires the trigger:
/// one GHN order. Should the kill come after the firing, the restart's firing is answered by the
/// first one's idempotency key: one order either way, which is what is asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_answered_just_before_a_sigkill_still_fires_its_trigger_once() {
    let (fake, mut providers) = integration_tests::fleet::fake_ghn(Duration::ZERO).await;
    providers.extend(integration_tests::shipping_base_url_args(&fake));
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::embedded(BIN, &providers, dir.path(), &[]);
    let key = fleet.provision_key();
    let serve = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--outbox-claim-ms",
        "3000",
    ];
    let start = || fleet.api_with(&serve, key.clone());

    let (mut process, api) = start();
    let shop = api
        .call(Method::POST, "/connections", Some(shopify_connection()))
        .await;
    let shop = shop["connectionId"].as_str().expect("shop").to_string();
    let ghn = api
        .call(Method::POST, "/connections", Some(ghn_connection()))
        .await;
    let ghn = ghn["connectionId"].as_str().expect("ghn").to_string();
    let t = api
        .call(Method::POST, "/triggers", Some(trigger(&shop, &ghn)))
        .await;
    assert!(t["triggerId"].is_string(), "{t}");

    // Killed right after the answer, the relay has (almost always) not handled the event yet;
    // should it have, the next delivery (a new order) tries again.
    let backend = backend_embedded::EmbeddedBackend::open(&backend_embedded::EmbeddedConfig::new(
        dir.path().join("integrations.db"),
        backend_embedded::SecretKeySource::File(dir.path().join("secret.key")),
    ))
    .await
    .expect("open the same file");
    let mut api = api;
    let mut deliveries = 0;
    for attempt in 0..3_u64 {
        if attempt > 0 {
            (process, api) = start();
        }
        assert_eq!(
            deliver(&api.http, &api.base, &shop, 4502 + attempt).await,
            200
        );
        process.kill();
        deliveries += 1;
        if in_outbox(&backend, &shop).await {
            break;
        }
        assert!(attempt < 2, "the kill never landed before the relay");
    }

    let (_restarted, api) = start();
    let n = usize::try_from(deliveries).expect("a few");
    let listed = terminal(&api, &ghn, n, Duration::from_secs(40)).await;
    assert_eq!(listed.len(), n, "one execution per webhook: {listed:?}");
    assert!(
        listed.iter().all(|e| e["status"] == "succeeded"),
        "{listed:?}"
    );
    let wait = || async {
        for _ in 0..100 {
            if !in_outbox(&backend, &shop).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the restarted relay never removed the event");
    };
    wait().await;
    assert_eq!(
        terminal(&api, &ghn, n, Duration::from_secs(5)).await.len(),
        n
    );
    assert_eq!(fake.stats().calls(CREATE_ORDER), deliveries);
}

/// Whether a provider event of `connection` waits in the outbox.
async fn in_outbox(backend: &backend_embedded::EmbeddedBackend, connection: &str) -> bool {
    use integrations_core::backend::ExecutionStore;
    let pending = backend.outbox_pending(10_000).await.expect("outbox");
    pending
        .iter()
        .filter_map(integrations_core::outbox::OutboxEvent::as_provider)
        .any(|e| e.connection_id == connection)
}
