//! Triggers through the real API and worker: a trigger created over HTTP, the relay's handler
//! called with one provider event three times (as an outbox relay may), and exactly one
//! execution and one provider call at the fake GHN; a firing whose mapped input fails the
//! action's inputSchema recorded once as a failed execution; a filter that does not hold; and
//! every refusal at creation.

use std::sync::Arc;

use dispatcher::app::{ApiSettings, AppState};
use dispatcher::triggers::{TriggerFirer, FAILED_FIRING};
use integration_tests::Harness;
use integrations_core::backend::{CreateOutcome, IdempotencyClaim};
use integrations_core::catalog::Catalog;
use integrations_core::engine::new_execution;
use integrations_core::model::{new_id, now, ExecutionRequest, EXECUTION_REQUEST_VERSION};
use integrations_core::webhooks::{ProviderEvent, ProviderEventHandler};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CREATE_ORDER: &str = "/v2/shipping-order/create";

/// The handler the relay is given, over the running service's backend.
fn firer(h: &Harness) -> TriggerFirer {
    let settings = connectors::ConnectorSettings::new().expect("HTTP client");
    let state = AppState::new(
        h.backend.clone(),
        Arc::new(Catalog::embedded().expect("catalog")),
        connectors::registry(&settings),
        ApiSettings::default(),
    );
    TriggerFirer::new(Arc::new(state))
}

async fn shopify_connection(h: &Harness, tenant: &str) -> String {
    let body = json!({"integrationId": "ecommerce-shopify", "name": "Shop",
                      "config": {"shop": "demo-shop.myshopify.com"},
                      "credentials": {"accessToken": "shpat_test"}});
    let (s, b) = h
        .call(Method::POST, "/connections", tenant, Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["connectionId"].as_str().expect("id").to_string()
}

fn trigger_body(source: &str, ghn: &str) -> Value {
    json!({
        "source": {"connectionId": source, "eventType": "order.created",
                   "filter": "data.financial_status == 'paid'"},
        "action": {"connectionId": ghn, "actionId": "create_order", "input": integration_tests::shopify_order_to_ghn_input()}
    })
}

fn order_event(tenant: &str, source: &str, phone: &str, status: &str) -> ProviderEvent {
    let t = now();
    ProviderEvent {
        event_id: new_id(),
        tenant_id: tenant.into(),
        connection_id: source.into(),
        integration_id: "ecommerce-shopify".into(),
        event_type: "order.created".into(),
        provider_type: "orders/create".into(),
        occurred_at: t,
        received_at: t,
        unmasked_data: None,
        data: json!({
            "id": 820982911946154508_u64,
            "financial_status": status,
            "shipping_address": {"name": "Nguyen Van A", "phone": phone,
                                 "address1": "12 Ly Thuong Kiet", "district_id": 1485,
                                 "ward_code": "1A0101"},
            "line_items": [{"title": "T-shirt", "quantity": 2, "grams": 300}]
        }),
    }
}

async fn executions_of(h: &Harness, tenant: &str, connection: &str) -> Vec<Value> {
    let path = format!("/executions?connectionId={connection}");
    let (s, b) = h.call(Method::GET, &path, tenant, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b["executions"].as_array().expect("executions").clone()
}

async fn create_trigger(h: &Harness, body: Value) -> String {
    let (s, b) = h.call(Method::POST, "/triggers", "t1", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["triggerId"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_handled_three_times_creates_one_order() {
    let h = Harness::start().await;
    let (shop, ghn) = (
        shopify_connection(&h, "t1").await,
        h.create_connection("t1").await,
    );
    let trigger = create_trigger(&h, trigger_body(&shop, &ghn)).await;
    let (s, got) = h
        .call(Method::GET, &format!("/triggers/{trigger}"), "t1", None)
        .await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["callerService"], format!("trigger:{trigger}"));
    assert_eq!(got["action"]["integrationId"], "shipping-ghn");

    let firer = firer(&h);
    let event = order_event("t1", &shop, "0912345678", "paid");
    for _ in 0..3 {
        firer.handle(&event).await.expect("handled");
    }
    let listed = executions_of(&h, "t1", &ghn).await;
    assert_eq!(listed.len(), 1, "one execution for one event: {listed:?}");
    let id = listed[0]["executionId"].as_str().expect("id");
    let done = h.wait_terminal("t1", id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["callerService"], format!("trigger:{trigger}"));
    assert_eq!(done["callerRef"], event.event_id.as_str());
    // Handled again after it ran: still the same one execution, no second order.
    firer.handle(&event).await.expect("handled");
    assert_eq!(executions_of(&h, "t1", &ghn).await.len(), 1);
    assert_eq!(h.provider_calls(CREATE_ORDER).await, 1);

    // A filter that does not hold starts nothing; an event of another connection neither.
    firer
        .handle(&order_event("t1", &shop, "0912345678", "pending"))
        .await
        .expect("handled");
    firer
        .handle(&order_event("t1", &ghn, "0912345678", "paid"))
        .await
        .expect("handled");
    assert_eq!(executions_of(&h, "t1", &ghn).await.len(), 1);

    // Deleted: the next event starts nothing.
    let path = format!("/triggers/{trigger}");
    let (s, b) = h.call(Method::DELETE, &path, "t1", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    firer
        .handle(&order_event("t1", &shop, "0912345678", "paid"))
        .await
        .expect("handled");
    assert_eq!(executions_of(&h, "t1", &ghn).await.len(), 1);
    assert_eq!(h.provider_calls(CREATE_ORDER).await, 1);
}

/// The event's phone is masked (as the triggers see it when an event was too large to carry its
/// unmasked payload): the mapped input fails GHN's toPhone pattern, which only the event could
/// tell. The firing is recorded once as a failed
/// execution naming the field, the handler succeeds (the event may leave the outbox), and the
/// provider is never called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_failing_on_the_event_is_one_failed_execution() {
    let h = Harness::start().await;
    let (shop, ghn) = (
        shopify_connection(&h, "t1").await,
        h.create_connection("t1").await,
    );
    let trigger = create_trigger(&h, trigger_body(&shop, &ghn)).await;
    let firer = firer(&h);
    let event = order_event("t1", &shop, "*******678", "paid");
    for _ in 0..3 {
        firer
            .handle(&event)
            .await
            .expect("a failed firing is not retried");
    }
    let listed = executions_of(&h, "t1", &ghn).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let failed = &listed[0];
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "VALIDATION_FAILED");
    assert_eq!(failed["error"]["retryable"], false);
    let message = failed["error"]["message"].as_str().expect("message");
    assert!(
        message.contains(&trigger) && message.contains("input/toPhone"),
        "{message}"
    );
    assert_eq!(failed["callerService"], format!("trigger:{trigger}"));
    assert_eq!(failed["callerRef"], event.event_id.as_str());
    assert_eq!(h.provider_calls(CREATE_ORDER).await, 0);
}

/// A handling that died between recording a failed firing and finishing it left the execution
/// `queued` (no message was sent for it): the next handling finishes that same execution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_record_left_queued_is_finished_by_the_next_handling() {
    let h = Harness::start().await;
    let (shop, ghn) = (
        shopify_connection(&h, "t1").await,
        h.create_connection("t1").await,
    );
    let trigger_id = create_trigger(&h, trigger_body(&shop, &ghn)).await;
    let trigger = h
        .backend
        .triggers
        .get_trigger("t1", &trigger_id)
        .await
        .expect("get")
        .expect("the trigger");
    let event = order_event("t1", &shop, "*******678", "paid");
    let catalog = Catalog::embedded().expect("catalog");
    let request = ExecutionRequest {
        version: EXECUTION_REQUEST_VERSION,
        execution_id: new_id(),
        tenant_id: "t1".into(),
        connection_id: ghn.clone(),
        action_id: "create_order".into(),
        input: json!({}),
        caller_service: Some(trigger.caller_service()),
        caller_ref: Some(event.event_id.clone()),
        callback_url: None,
        submitted_at: now(),
    };
    let key = trigger.idempotency_key(&event.event_id);
    let left = new_execution(&catalog, &request, "shipping-ghn", Some(key.clone()));
    let claim = IdempotencyClaim {
        key,
        request_hash: FAILED_FIRING.into(),
    };
    let created = h
        .backend
        .executions
        .create_execution(&left, Some(&claim))
        .await;
    assert_eq!(created.expect("create"), CreateOutcome::Created);

    firer(&h).handle(&event).await.expect("handled");
    let listed = executions_of(&h, "t1", &ghn).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["executionId"], left.execution_id.as_str());
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["error"]["code"], "VALIDATION_FAILED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_refuses_what_cannot_work_and_tenants_see_only_their_own() {
    let h = Harness::start().await;
    let (shop, ghn) = (
        shopify_connection(&h, "t1").await,
        h.create_connection("t1").await,
    );
    let other_tenants = h.create_connection("t2").await;
    let refused = |mutate: fn(&mut Value), code: &'static str, needle: &'static str| {
        let mut body = trigger_body(&shop, &ghn);
        mutate(&mut body);
        let h = &h;
        async move {
            let (s, b) = h.call(Method::POST, "/triggers", "t1", Some(body)).await;
            assert_eq!(b["error"]["code"], code, "{b}");
            assert!(s.is_client_error());
            let message = b["error"]["message"].as_str().expect("message");
            assert!(message.contains(needle), "{needle} not in {message}");
        }
    };
    refused(
        |b| b["source"]["filter"] = json!("data.[["),
        "VALIDATION_FAILED",
        "source.filter",
    )
    .await;
    refused(
        |b| b["action"]["input"]["toName"] = json!("a[?"),
        "VALIDATION_FAILED",
        "action.input.toName",
    )
    .await;
    refused(
        |b| b["source"]["eventType"] = json!("Order"),
        "VALIDATION_FAILED",
        "source.eventType",
    )
    .await;
    refused(
        |b| b["source"]["connectionId"] = json!("nope"),
        "CONNECTION_NOT_FOUND",
        "nope",
    )
    .await;
    refused(
        |b| b["action"]["actionId"] = json!("launch_rocket"),
        "ACTION_NOT_FOUND",
        "launch_rocket",
    )
    .await;
    refused(
        |b| {
            b["action"]["input"]
                .as_object_mut()
                .expect("input")
                .remove("toPhone");
        },
        "VALIDATION_FAILED",
        "requires 'toPhone'",
    )
    .await;
    refused(
        |b| b["action"]["input"]["paymentTypeId"] = json!("'cash'"),
        "VALIDATION_FAILED",
        "input/paymentTypeId",
    )
    .await;
    refused(
        |b| b["action"]["input"]["colour"] = json!("data.colour"),
        "VALIDATION_FAILED",
        "no input 'colour'",
    )
    .await;

    // Another tenant's connection is not found, as source or as action.
    let mut body = trigger_body(&shop, &other_tenants);
    let (s, b) = h
        .call(Method::POST, "/triggers", "t1", Some(body.clone()))
        .await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("CONNECTION_NOT_FOUND")),
        "{b}"
    );
    body["source"]["connectionId"] = json!(other_tenants);
    body["action"]["connectionId"] = json!(ghn);
    let (s, b) = h.call(Method::POST, "/triggers", "t1", Some(body)).await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("CONNECTION_NOT_FOUND")),
        "{b}"
    );

    let trigger = create_trigger(&h, trigger_body(&shop, &ghn)).await;
    let (s, b) = h.call(Method::GET, "/triggers", "t1", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let ids: Vec<&str> = b["triggers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["triggerId"].as_str())
        .collect();
    assert_eq!(ids, [trigger.as_str()]);
    let path = format!("/triggers/{trigger}");
    let (s, b) = h.call(Method::GET, &path, "t2", None).await;
    assert_eq!(
        (s, &b["error"]["code"]),
        (StatusCode::NOT_FOUND, &json!("TRIGGER_NOT_FOUND")),
        "{b}"
    );
    let (s, _) = h.call(Method::DELETE, &path, "t2", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "t2 cannot delete t1's trigger");
    let (_, b) = h.call(Method::GET, "/triggers", "t2", None).await;
    assert_eq!(b["triggers"], json!([]));
    let (s, _) = h.call(Method::DELETE, &path, "t1", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = h.call(Method::DELETE, &path, "t1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "deleted once");
}
