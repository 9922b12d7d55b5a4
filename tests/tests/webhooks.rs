//! Provider webhooks through the real API, one module per provider group: for each signing
//! provider a valid delivery (answered as the provider expects, recorded once), the same delivery
//! again (answered alike, not recorded again), a forged one (the provider's "bad signature"
//! answer), Stripe's stale one, and a secret rotation where the provider rotates; the shops'
//! handshakes (WooCommerce's ping, Haravan's challenge); the URL tokens the service makes for the
//! providers that sign nothing, and their rotation; a delivery survives a restart of the
//! service; a URL naming no connection answers 404. Their events' publication is in
//! [`published`].

#[path = "webhooks/published.rs"]
mod published;

#[path = "webhooks/payment.rs"]
mod payment;
#[path = "webhooks/shops.rs"]
mod shops;
#[path = "webhooks/tokens.rs"]
mod tokens;

use integration_tests::Harness;
use integrations_core::model::now;
use integrations_core::webhooks::{DedupeWindow, InboundWebhook, ProviderEvent, RecordOutcome};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Creates a connection of tenant t1; returns its id and the create answer.
async fn create(
    h: &Harness,
    integration: &str,
    config: Value,
    credentials: Value,
) -> (String, Value) {
    let body = json!({"integrationId": integration, "name": "Hooks", "config": config, "credentials": credentials});
    let (s, b) = h.call(Method::POST, "/connections", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    (b["connectionId"].as_str().expect("id").to_string(), b)
}

async fn connect(h: &Harness, integration: &str, config: Value, credentials: Value) -> String {
    create(h, integration, config, credentials).await.0
}

async fn post(h: &Harness, path: &str, headers: &[(&str, String)], body: String) -> (u16, String) {
    let mut req = h.http.post(format!("{}{path}", h.base)).body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.expect("request");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

/// The event recorded for `key` on the connection: a probe with the same key must come back as a
/// duplicate naming it (and so proves that exactly one was recorded).
async fn recorded(h: &Harness, connection: &str, key: &str) -> ProviderEvent {
    let at = now();
    let probe = InboundWebhook {
        dedupe_key: key.to_string(),
        dedupe_until: DedupeWindow::DEFAULT.expiry(at),
        event: ProviderEvent {
            event_id: "probe".into(),
            tenant_id: "t1".into(),
            connection_id: connection.into(),
            integration_id: String::new(),
            event_type: "probe.probe".into(),
            provider_type: String::new(),
            occurred_at: at,
            received_at: at,
            unmasked_data: None,
            data: Value::Null,
        },
        event_claim: None,
    };
    let outcome = h
        .backend
        .webhooks
        .record_webhook(&probe)
        .await
        .expect("probe");
    let RecordOutcome::Duplicate { event_id } = outcome else {
        panic!("no webhook was recorded for {key}");
    };
    h.backend
        .webhooks
        .get_provider_event("t1", &event_id)
        .await
        .expect("get")
        .expect("the recorded event")
}
