//! Every document in schemas/ is valid: integrations against the catalog meta-schema, every
//! embedded JSON Schema against the JSON Schema meta-schema, and the messages we produce against
//! their published schemas.

use integrations_core::catalog::{schema_files, Catalog};
use integrations_core::completion::Completion;
use integrations_core::error::{Error, ErrorKind};
use integrations_core::model::{
    new_id, now, EventType, Execution, ExecutionRequest, ExecutionStatus, ResultEvent,
};
use serde_json::{json, Value};

fn catalog() -> Catalog {
    Catalog::embedded().expect("the embedded catalog loads")
}

#[test]
fn every_integration_loads_and_validates_against_the_meta_schema() {
    let catalog = catalog();
    assert!(
        catalog.integrations().count() >= 1,
        "schemas/integrations/ holds at least one integration"
    );
    for integration in catalog.integrations() {
        assert!(integration.actions().count() >= 1);
    }
}

#[test]
fn every_schema_is_a_valid_json_schema() {
    for (path, text) in schema_files() {
        let doc: Value = serde_json::from_str(text).expect("JSON");
        if path.starts_with("integrations/") {
            let mut schemas = vec![(format!("{path}#configSchema"), doc["configSchema"].clone())];
            for a in doc["actions"].as_array().expect("actions") {
                for key in ["inputSchema", "outputSchema"] {
                    schemas.push((format!("{path}#{}.{key}", a["actionId"]), a[key].clone()));
                }
            }
            for (what, schema) in schemas {
                assert!(schema.is_object(), "{what} is an object");
                jsonschema::meta::validate(&schema)
                    .unwrap_or_else(|e| panic!("{what} is not a valid JSON Schema: {e}"));
            }
        } else {
            jsonschema::meta::validate(&doc)
                .unwrap_or_else(|e| panic!("{path} is not a valid JSON Schema: {e}"));
        }
    }
}

#[test]
fn a_broken_integration_document_is_refused_with_its_path() {
    let meta = schema_files()
        .iter()
        .find(|(p, _)| *p == "integration.schema.json")
        .expect("meta-schema")
        .1;
    let broken = json!({"integrationId": "x", "actions": []}).to_string();
    let err = Catalog::from_files([
        ("integration.schema.json", meta),
        ("integrations/x.json", broken.as_str()),
    ])
    .err()
    .expect("refused");
    assert!(
        err.message.contains("integrations/x.json"),
        "{}",
        err.message
    );
}

fn execution(status: ExecutionStatus) -> Execution {
    let t = now();
    Execution {
        execution_id: new_id(),
        tenant_id: "t1".into(),
        connection_id: new_id(),
        integration_id: "shipping-ghn".into(),
        action_id: "calculate_fee".into(),
        status,
        input: json!({"weight": 500}),
        output: Some(json!({"fee": 33000})),
        error: None,
        attempts: 1,
        latency_ms: Some(12),
        caller_service: Some("flows".into()),
        caller_ref: Some("run-1".into()),
        callback_url: Some("https://example.com/cb".into()),
        idempotency_key: None,
        next_attempt_at: None,
        created_at: t,
        updated_at: t,
        finished_at: Some(t),
        expires_at: t,
    }
}

#[test]
fn produced_messages_match_their_schemas() {
    let catalog = catalog();
    let request = ExecutionRequest {
        version: 1,
        execution_id: new_id(),
        tenant_id: "t1".into(),
        connection_id: new_id(),
        action_id: "calculate_fee".into(),
        input: json!({"weight": 500}),
        caller_service: Some("flows".into()),
        caller_ref: None,
        callback_url: None,
        submitted_at: now(),
    };
    let v = serde_json::to_value(&request).expect("serialize");
    integrations_core::catalog::validate(
        catalog.message_schema("execution-request").expect("schema"),
        &v,
        "request",
    )
    .expect("execution request matches its schema");

    // Every ending the service writes: its event, its callback payload, and the event of a
    // callback that could not be delivered.
    let running = execution(ExecutionStatus::Running);
    let endings = [
        Ok(json!({"fee": 33000})),
        Err(Error::new(ErrorKind::ProviderRejected, "bad district")),
        Err(Error::new(ErrorKind::ProviderTimeout, "no answer")),
        Err(Error::new(ErrorKind::DeadLettered, "gave up")),
    ];
    for outcome in endings {
        let done = Completion::new(running.clone(), outcome, None);
        let failed_callback = ResultEvent::of(&done.execution, EventType::CallbackFailed);
        for event in [&done.event, &failed_callback] {
            let v = serde_json::to_value(event).expect("serialize");
            integrations_core::catalog::validate(
                catalog.message_schema("result-event").expect("schema"),
                &v,
                "event",
            )
            .expect("result event matches its schema");
        }
        let callback = done
            .callback
            .expect("a callback: the execution has a callbackUrl");
        let body: Value = serde_json::from_str(&callback.body).expect("JSON");
        integrations_core::catalog::validate(
            catalog.message_schema("callback-payload").expect("schema"),
            &body,
            "callback",
        )
        .expect("callback payload matches its schema");
        assert_eq!(
            body["success"],
            done.execution.status == ExecutionStatus::Succeeded
        );
    }
}

#[test]
fn a_message_with_an_unknown_field_is_rejected_by_the_schema() {
    let catalog = catalog();
    let v = json!({
        "version": 1, "executionId": new_id(), "tenantId": "t", "connectionId": "c",
        "actionId": "a", "input": {}, "submittedAt": "2026-01-01T00:00:00Z", "extra": 1
    });
    let err = integrations_core::catalog::validate(
        catalog.message_schema("execution-request").expect("schema"),
        &v,
        "message",
    )
    .expect_err("unknown field refused");
    assert!(err.message.contains("extra"), "{}", err.message);
}

#[test]
fn an_output_mismatch_names_the_field_and_rule_but_never_the_data() {
    let catalog = catalog();
    let action = catalog
        .action("shipping-ghn", "calculate_fee")
        .expect("action");
    let wrong = json!({"fee": "secret-looking-value-123", "serviceFee": 1, "insuranceFee": 0,
                       "currency": "VND", "breakdown": {}});
    let mismatches = action.output_mismatches(&wrong);
    assert!(!mismatches.is_empty());
    let text = mismatches.join("; ");
    assert!(text.contains("output/fee"), "{text}");
    assert!(
        !text.contains("secret-looking-value-123"),
        "no data in {text}"
    );
    assert!(action.validate_output(&wrong).is_err());
}

#[test]
fn a_provider_event_matches_its_schema() {
    let catalog = catalog();
    let event = integrations_core::webhooks::ProviderEvent {
        event_id: new_id(),
        tenant_id: "t".into(),
        connection_id: "c".into(),
        integration_id: "payment-stripe".into(),
        event_type: "payment.succeeded".into(),
        provider_type: "payment_intent.succeeded".into(),
        occurred_at: now(),
        received_at: now(),
        unmasked_data: None,
        data: json!({"object": {"id": "pi_1"}}),
    };
    let schema = catalog.message_schema("provider-event").expect("schema");
    let v = serde_json::to_value(&event).expect("serialize");
    integrations_core::catalog::validate(schema, &v, "event").expect("matches its schema");
    let mut bad = v;
    bad["type"] = json!("Not A Type");
    integrations_core::catalog::validate(schema, &bad, "event").expect_err("type pattern");
}
