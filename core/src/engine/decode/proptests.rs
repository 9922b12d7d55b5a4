//! Properties of the queue message decoder: arbitrary bodies (text, bytes read as text, JSON of
//! any shape, valid messages with one field broken) never panic and end in a request or a
//! classified error; every valid message round-trips.

use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{decode_request, MAX_MESSAGE_BYTES};
use crate::catalog::Catalog;
use crate::error::ErrorKind;
use crate::model::ExecutionRequest;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("the embedded catalog loads"))
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn request() -> impl Strategy<Value = ExecutionRequest> {
    (
        (
            "[0-7][0-9A-HJKMNP-TV-Z]{25}",
            "\\PC{1,40}",
            "\\PC{1,40}",
            "[a-z][a-z0-9_]{0,20}",
        ),
        prop::collection::btree_map("\\PC{0,8}", json(), 0..4),
        (
            prop::option::of("\\PC{0,30}"),
            prop::option::of("\\PC{0,60}"),
            prop::option::of("https://[a-z]{1,10}\\.example/[a-z0-9]{0,10}"),
            0i64..4_102_444_800_000,
        ),
    )
        .prop_map(
            |((id, tenant, conn, action), input, (service, caller_ref, url, ms))| {
                ExecutionRequest {
                    version: 1,
                    execution_id: id,
                    tenant_id: tenant,
                    connection_id: conn,
                    action_id: action,
                    input: Value::Object(input.into_iter().collect()),
                    caller_service: service,
                    caller_ref,
                    callback_url: url,
                    submitted_at: chrono::Utc
                        .timestamp_millis_opt(ms)
                        .single()
                        .expect("in range"),
                }
            },
        )
}

/// Decoded, or refused as invalid or too large: nothing else.
fn classified(body: &str) -> Result<Option<ExecutionRequest>, TestCaseError> {
    match decode_request(catalog(), body) {
        Ok(r) => Ok(Some(r)),
        Err(e) => {
            prop_assert!(
                matches!(
                    e.kind,
                    ErrorKind::ValidationFailed | ErrorKind::PayloadTooLarge
                ),
                "unexpected kind {:?}: {}",
                e.kind,
                e
            );
            prop_assert!(!e.retryable, "a poison message is not retryable: {e}");
            Ok(None)
        }
    }
}

/// A valid message with one field changed, removed or added.
fn broken(r: &ExecutionRequest, field: usize, value: Value, remove: bool) -> Value {
    let mut v = serde_json::to_value(r).expect("serialize");
    let m = v.as_object_mut().expect("object");
    let keys = [
        "version",
        "executionId",
        "tenantId",
        "connectionId",
        "actionId",
        "input",
        "callerService",
        "callerRef",
        "callbackUrl",
        "submittedAt",
        "unknownField",
    ];
    let k = keys[field % keys.len()];
    if remove {
        m.remove(k);
    } else {
        m.insert(k.into(), value);
    }
    v
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_decoded_or_classified(body in "\\PC{0,200}") {
        classified(&body)?;
    }

    #[test]
    fn any_bytes_are_decoded_or_classified(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        // Queue bodies are text on both backends: bytes arrive as their lossy reading.
        classified(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn any_json_is_decoded_or_classified(value in json()) {
        classified(&value.to_string())?;
    }

    #[test]
    fn a_valid_message_round_trips(r in request()) {
        let body = serde_json::to_string(&r).expect("serialize");
        let decoded = classified(&body)?;
        prop_assert_eq!(decoded, Some(r));
    }

    #[test]
    fn a_broken_field_is_refused_or_still_a_faithful_request(
        r in request(),
        field in any::<usize>(),
        value in json(),
        remove in any::<bool>(),
    ) {
        let body = broken(&r, field, value, remove).to_string();
        if let Some(decoded) = classified(&body)? {
            // Accepted (an optional field removed, or a value that is still valid): what was
            // decoded is exactly what the body says.
            let again = serde_json::to_value(&decoded).expect("serialize");
            let sent: Value = serde_json::from_str(&body).expect("JSON");
            prop_assert_eq!(again, sent);
            prop_assert_eq!(decoded.version, 1);
        }
    }

    #[test]
    fn any_other_version_is_refused(r in request(), version in any::<i64>()) {
        prop_assume!(version != 1);
        let mut v = serde_json::to_value(&r).expect("serialize");
        v["version"] = Value::from(version);
        let e = decode_request(catalog(), &v.to_string()).expect_err("refused");
        prop_assert_eq!(e.kind, ErrorKind::ValidationFailed);
    }
}

#[test]
fn an_oversized_body_is_refused_before_parsing() {
    // Valid JSON padded past the limit: refused for its size alone.
    let body = format!("{}{}", " ".repeat(MAX_MESSAGE_BYTES), "{}");
    let e = decode_request(catalog(), &body).expect_err("refused");
    assert_eq!(e.kind, ErrorKind::PayloadTooLarge);
    assert!(!body.is_empty() && !e.message.contains("{}"), "{e}");
}
