use serde_json::{json, Value};

use super::{event_document, sample_event, CompiledTrigger};
use crate::catalog::Catalog;
use crate::error::ErrorKind;
use crate::webhooks::ProviderEvent;

/// A Shopify `orders/create` as the webhook route records it (trimmed).
fn order_event() -> ProviderEvent {
    ProviderEvent {
        unmasked_data: None,
        data: json!({
            "id": 820982911946154508_u64,
            "total_price": "199.00",
            "financial_status": "paid",
            "shipping_address": {"name": "Nguyen Van A", "phone": "0912345678",
                                 "address1": "12 Ly Thuong Kiet", "district_id": 1485,
                                 "ward_code": "1A0101"},
            "line_items": [{"title": "T-shirt", "quantity": 2, "grams": 300},
                           {"title": "Cap", "quantity": 1, "grams": 100}]
        }),
        provider_type: "orders/create".into(),
        ..sample_event("t1", "conn-shop", "ecommerce-shopify", "order.created")
    }
}

/// Shopify order → GHN create_order.
fn ghn_mapping() -> Value {
    json!({
        "toName": "data.shipping_address.name",
        "toPhone": "data.shipping_address.phone",
        "toAddress": "data.shipping_address.address1",
        "toWardCode": "data.shipping_address.ward_code",
        "toDistrictId": "data.shipping_address.district_id",
        "weight": "sum(data.line_items[].grams)",
        "requiredNote": "'KHONGCHOXEMHANG'",
        "paymentTypeId": "`1`",
        "note": "data.note",
        "items": "data.line_items[].{name: title, quantity: quantity, weight: grams}"
    })
}

fn create_order() -> std::sync::Arc<crate::catalog::Action> {
    Catalog::embedded()
        .expect("catalog")
        .action("shipping-ghn", "create_order")
        .expect("action")
        .clone()
}

fn validation_message(result: crate::Result<impl std::fmt::Debug>) -> String {
    let err = result.expect_err("a validation error");
    assert_eq!(err.kind, ErrorKind::ValidationFailed, "{err}");
    err.message.clone()
}

#[test]
fn an_order_event_maps_into_a_valid_ghn_order_and_nulls_are_left_out() {
    let compiled = CompiledTrigger::compile(None, &ghn_mapping()).expect("compile");
    let action = create_order();
    compiled
        .check(
            &action,
            &sample_event("t1", "c", "ecommerce-shopify", "order.created"),
        )
        .expect("statically fine");
    let input = compiled
        .input(&event_document(&order_event()))
        .expect("input");
    assert_eq!(input["weight"], json!(400));
    assert_eq!(
        input["items"][0],
        json!({"name": "T-shirt", "quantity": 2, "weight": 300})
    );
    assert!(
        input.get("note").is_none(),
        "a null leaf leaves its field out: {input}"
    );
    action.validate_input(&input).expect("valid GHN input");
}

#[test]
fn the_filter_must_be_truthy_and_a_failing_filter_does_not_hold() {
    let event = event_document(&order_event());
    let paid = CompiledTrigger::compile(Some("data.financial_status == 'paid'"), &json!({}));
    assert!(paid.expect("compile").matches(&event));
    let refunded =
        CompiledTrigger::compile(Some("data.financial_status == 'refunded'"), &json!({}));
    assert!(!refunded.expect("compile").matches(&event));
    let missing = CompiledTrigger::compile(Some("data.no_such_field"), &json!({}));
    assert!(!missing.expect("compile").matches(&event), "null is falsy");
    let failing = CompiledTrigger::compile(Some("abs(data.shipping_address)"), &json!({}));
    assert!(!failing.expect("compile").matches(&event));
    let none = CompiledTrigger::compile(None, &json!({})).expect("compile");
    assert!(none.matches(&event));
}

#[test]
fn bad_expressions_and_shapes_are_refused_naming_the_field() {
    let m = validation_message(CompiledTrigger::compile(Some("data.[["), &json!({})).map(|_| ()));
    assert!(m.starts_with("source.filter: not a valid JMESPath"), "{m}");
    let m =
        validation_message(CompiledTrigger::compile(None, &json!({"a": {"b": "x[?"}})).map(|_| ()));
    assert!(
        m.starts_with("action.input.a.b: not a valid JMESPath"),
        "{m}"
    );
    let m = validation_message(CompiledTrigger::compile(None, &json!({"weight": 5})).map(|_| ()));
    assert!(
        m.starts_with("action.input.weight: a JMESPath expression"),
        "{m}"
    );
    let m = validation_message(CompiledTrigger::compile(None, &json!("data")).map(|_| ()));
    assert!(m.starts_with("action.input: an object"), "{m}");
    let m = validation_message(CompiledTrigger::compile(None, &json!({"a": ""})).map(|_| ()));
    assert!(m.contains("1 to 2048 characters"), "{m}");
}

#[test]
fn the_static_check_refuses_unknown_and_missing_fields_and_wrong_constants() {
    let action = create_order();
    let sample = sample_event("t1", "c", "ecommerce-shopify", "order.created");
    let check = |mapping: Value| {
        let compiled = CompiledTrigger::compile(None, &mapping).expect("compile");
        validation_message(compiled.check(&action, &sample))
    };
    let mut unknown = ghn_mapping();
    unknown["colour"] = json!("data.colour");
    assert_eq!(
        check(unknown),
        "action.input.colour: create_order has no input 'colour'"
    );

    let mut missing = ghn_mapping();
    missing.as_object_mut().expect("object").remove("toPhone");
    assert!(check(missing).contains("requires 'toPhone'"));

    let mut wrong = ghn_mapping();
    wrong["paymentTypeId"] = json!("'cash'");
    let m = check(wrong);
    assert!(m.contains("input/paymentTypeId"), "{m}");
}

#[test]
fn a_mapping_that_fails_on_an_event_is_a_validation_error_naming_the_field() {
    let compiled = CompiledTrigger::compile(None, &json!({"weight": "sum(data.shipping_address)"}))
        .expect("compile");
    let sample = sample_event("t1", "c", "ecommerce-shopify", "order.created");
    // At fire time a failing expression fails the input, with or without data.
    assert!(compiled.input(&event_document(&sample)).is_err());
    let m = validation_message(compiled.input(&event_document(&order_event())));
    assert!(m.starts_with("action.input.weight: "), "{m}");
}

#[test]
fn the_idempotency_key_is_per_event_and_trigger() {
    let trigger = |id: &str| super::super::Trigger {
        trigger_id: id.into(),
        tenant_id: "t1".into(),
        source: super::super::TriggerSource {
            connection_id: "a".into(),
            event_type: "order.created".into(),
            filter: None,
        },
        action: super::super::TriggerAction {
            connection_id: "b".into(),
            integration_id: "shipping-ghn".into(),
            action_id: "create_order".into(),
            input: json!({}),
        },
        created_at: crate::model::now(),
    };
    let (t1, t2) = (trigger("T1"), trigger("T2"));
    assert_eq!(t1.idempotency_key("E1"), t1.idempotency_key("E1"));
    assert_ne!(t1.idempotency_key("E1"), t1.idempotency_key("E2"));
    assert_ne!(t1.idempotency_key("E1"), t2.idempotency_key("E1"));
    assert_ne!(
        trigger("T1E").idempotency_key("1"),
        trigger("T1").idempotency_key("E1")
    );
    assert!(t1.idempotency_key("E1").len() <= 255);
    assert_eq!(t1.caller_service(), "trigger:T1");
}
