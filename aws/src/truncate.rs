//! Outputs too large for a DynamoDB item (400 KB) or an EventBridge entry (256 KB) are stored
//! truncated, with a flag, rather than refused: the action has already run, and failing to record
//! its result would only make the worker retry a completed action. The same goes for the output
//! carried in a callback's body (its `data`).

use integrations_core::model::ResultEvent;
use integrations_core::outbox::OutboxEvent;
use integrations_core::webhooks::ProviderEvent;
use serde_json::{json, Value};

/// EventBridge accepts 256 KB per PutEvents request (and so per entry); an event this size
/// leaves room for the entry's other fields.
pub(crate) const EVENT_BUDGET: usize = 240 * 1024;

/// The key that marks a truncated output: `{"_truncated": true, "originalBytes": n,
/// "preview": "<the start of the JSON text>"}`.
pub const TRUNCATED_FLAG: &str = "_truncated";

/// The serialized length of a JSON value.
pub(crate) fn json_len(value: &Value) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.len())
}

/// `value` itself when its JSON text fits in `max_bytes`, else the truncation marker with as
/// much of the text as fits. The result's JSON text is at most `max_bytes` long (and at least
/// the marker with an empty preview).
pub(crate) fn fit(value: &Value, max_bytes: usize) -> (Value, bool) {
    let text = match serde_json::to_string(value) {
        Ok(t) if t.len() > max_bytes => t,
        _ => return (value.clone(), false),
    };
    let mut keep = max_bytes.saturating_sub(100);
    loop {
        let preview = prefix(&text, keep);
        let marker = json!({
            TRUNCATED_FLAG: true,
            "originalBytes": text.len(),
            "preview": preview,
        });
        let len = json_len(&marker);
        if len <= max_bytes || keep == 0 {
            return (marker, true);
        }
        // Escaping made the preview longer than its source: shrink by the excess.
        keep = keep.saturating_sub(len - max_bytes + 16);
    }
}

/// `part` of an event whose JSON is `total` bytes long, truncated so that the event fits in
/// [`EVENT_BUDGET`] (itself when it fits already).
fn fit_part(total: usize, part: &Value) -> Value {
    if total <= EVENT_BUDGET {
        return part.clone();
    }
    let rest = total.saturating_sub(json_len(part));
    fit(part, EVENT_BUDGET.saturating_sub(rest)).0
}

/// The event with its payload (a result's output, a provider event's data) truncated so that its
/// JSON fits in [`EVENT_BUDGET`].
pub(crate) fn fit_outbox_event(event: &OutboxEvent) -> OutboxEvent {
    match event {
        OutboxEvent::Result(e) => OutboxEvent::Result(fit_event(e)),
        OutboxEvent::Provider(e) => OutboxEvent::Provider(fit_provider_event(e)),
    }
}

/// A DynamoDB item holds 400 KB: an outbox item carries the event (at most [`EVENT_BUDGET`])
/// and a provider event's unmasked payload beside it when both fit in this.
const OUTBOX_ITEM_BUDGET: usize = 380 * 1024;

fn fit_provider_event(event: &ProviderEvent) -> ProviderEvent {
    let mut event = event.clone();
    let total = serde_json::to_string(&event).map_or(0, |t| t.len());
    event.data = fit_part(total, &event.data);
    // A truncated copy would be no use to a trigger's expressions: too large to carry, the
    // unmasked payload is left out and the triggers read the sanitized `data` instead.
    if let Some(unmasked) = &event.unmasked_data {
        let carried = json_len(unmasked) + serde_json::to_string(&event).map_or(0, |t| t.len());
        if carried > OUTBOX_ITEM_BUDGET {
            tracing::warn!(event_id = %event.event_id, bytes = carried,
                "provider event too large to carry its unmasked payload; triggers read the sanitized one");
            event.unmasked_data = None;
        }
    }
    event
}

/// The event with its output truncated so that its JSON fits in [`EVENT_BUDGET`].
pub(crate) fn fit_event(event: &ResultEvent) -> ResultEvent {
    let mut event = event.clone();
    let Some(output) = &event.output else {
        return event;
    };
    let total = serde_json::to_string(&event).map_or(0, |t| t.len());
    event.output = Some(fit_part(total, output));
    event
}

/// A callback body (the JSON payload, see `integrations_core::callbacks::CallbackPayload`) whose
/// `data` (the output) is cut with [`fit`] so that the body is at most `max_bytes` long; the body
/// itself when it fits already, or when it holds no `data` to cut (then it may stay longer).
/// Deterministic: fitting a fitted body again changes nothing. The other fields keep their order.
pub(crate) fn fit_callback_body(body: &str, max_bytes: usize) -> String {
    if body.len() <= max_bytes {
        return body.to_string();
    }
    let Ok(Value::Object(mut payload)) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    let Some(data) = payload.get("data") else {
        return body.to_string();
    };
    let data_text = serde_json::to_string(data).unwrap_or_default();
    let rest = body.len().saturating_sub(data_text.len());
    let (cut, _) = fit(data, max_bytes.saturating_sub(rest));
    let cut_text = serde_json::to_string(&cut).unwrap_or_default();
    // Splice the cut value in place of the old one, which keeps the other fields' order; the
    // payload's fields before `data` are strings and booleans, so the first `"data":` is its key.
    // Checked by parsing, with a re-serialization (keys sorted) as the fallback.
    payload.insert("data".into(), cut);
    const KEY: &str = "\"data\":";
    if let Some(at) = body.find(KEY) {
        let start = at + KEY.len();
        if body[start..].starts_with(&data_text) {
            let spliced = format!(
                "{}{cut_text}{}",
                &body[..start],
                &body[start + data_text.len()..]
            );
            if serde_json::from_str::<Value>(&spliced).ok() == Some(Value::Object(payload.clone()))
            {
                return spliced;
            }
        }
    }
    serde_json::to_string(&Value::Object(payload)).unwrap_or_else(|_| body.to_string())
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_kept_and_large_ones_fit_with_a_flag() {
        let small = json!({"a": 1});
        assert_eq!(fit(&small, 100), (small.clone(), false));

        let large = json!({"text": "é\"".repeat(50_000)});
        let (cut, truncated) = fit(&large, 10_000);
        assert!(truncated);
        assert!(json_len(&cut) <= 10_000);
        assert_eq!(cut[TRUNCATED_FLAG], json!(true));
        assert_eq!(cut["originalBytes"], json!(json_len(&large)));
        assert!(cut["preview"].as_str().is_some_and(|p| p.len() > 1_000));
    }

    #[test]
    fn a_provider_event_carries_its_unmasked_payload_only_while_the_item_fits() {
        let event = |bytes: usize| {
            let data = json!({"phone": "0912345678", "note": "x".repeat(bytes)});
            OutboxEvent::Provider(ProviderEvent {
                event_id: "ev1".into(),
                tenant_id: "t1".into(),
                connection_id: "c1".into(),
                integration_id: "ecommerce-shopify".into(),
                event_type: "order.created".into(),
                provider_type: "orders/create".into(),
                occurred_at: integrations_core::model::now(),
                received_at: integrations_core::model::now(),
                data: integrations_core::sanitize::sanitize(&data, &[], &[]),
                unmasked_data: Some(data),
            })
        };
        let stored_len = |e: &OutboxEvent| e.to_stored_json().expect("json").len();
        let whole = event(1_000);
        let small = fit_outbox_event(&whole);
        assert_eq!(small, whole, "kept whole");
        assert!(small.to_json().expect("json").contains("*******678"));
        assert!(!small.to_json().expect("json").contains("0912345678"));
        assert!(small.to_stored_json().expect("json").contains("0912345678"));

        // Each copy fits the bus, both together do not fit an item: the unmasked one goes.
        let large = fit_outbox_event(&event(200 * 1024));
        let OutboxEvent::Provider(e) = &large else {
            panic!("a provider event")
        };
        assert_eq!(e.unmasked_data, None);
        assert_eq!(e.data["phone"], json!("*******678"));
        assert!(stored_len(&large) <= OUTBOX_ITEM_BUDGET);
        let huge = fit_outbox_event(&event(600 * 1024));
        assert!(stored_len(&huge) <= EVENT_BUDGET);
    }

    #[test]
    fn a_callback_body_keeps_its_fields_and_order_and_loses_only_data() {
        let body = json!({
            "executionId": "e1",
            "status": "succeeded",
            "success": true,
            "data": {"report": "é".repeat(100_000)},
            "attempts": 1,
            "occurredAt": "2024-05-01T10:00:00Z",
        });
        // serde_json sorts keys; this order is what the splice must keep.
        let text = r#"{"executionId":"e1","status":"succeeded","success":true,"data":DATA,"attempts":1,"occurredAt":"2024-05-01T10:00:00Z"}"#
            .replace("DATA", &serde_json::to_string(&body["data"]).expect("json"));
        let small = fit_callback_body(&text, text.len());
        assert_eq!(small, text);
        let fitted = fit_callback_body(&text, 50_000);
        assert!(fitted.len() <= 50_000, "{} bytes", fitted.len());
        assert!(fitted.starts_with(r#"{"executionId":"e1","status":"succeeded","success":true,"data":{"_truncated":true"#), "{}", &fitted[..120]);
        assert!(fitted.ends_with(r#","attempts":1,"occurredAt":"2024-05-01T10:00:00Z"}"#));
        let back: Value = serde_json::from_str(&fitted).expect("valid JSON");
        assert_eq!(back["data"][TRUNCATED_FLAG], json!(true));
        assert_eq!(back["attempts"], json!(1));
        assert_eq!(fit_callback_body(&fitted, 50_000), fitted, "deterministic");
        // Nothing to cut: unchanged.
        let no_data = r#"{"executionId":"e1","error":"x"}"#;
        assert_eq!(fit_callback_body(no_data, 10), no_data);
    }
}
