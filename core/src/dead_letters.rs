//! Dead letters: messages the queue gave up on (poison messages, repeated crashes, retries that
//! outlived the queue's receive limit). Their executions are marked `dead_lettered` so that
//! callers polling or awaiting them get an answer; the messages stay in the dead-letter queue
//! for inspection and redrive.
//!
//! A malformed message a producer put straight onto the queue names an execution nobody
//! recorded (the worker records only what it can decode). Where its body still names a tenant
//! and an execution id by the message schema's own rules, that execution is recorded here,
//! `dead_lettered` at once, so that its producer hears of it by its result event (and callback)
//! as of everything else. Only a body naming neither (not JSON, no tenant) is left to the
//! operator alone (the dead-letter alarm, `integrations dead-letters list`).

use std::time::Duration;

use serde_json::Value;
use tracing::{info, warn};

use crate::backend::CreateOutcome;
use crate::backend::{Backend, Delivery};
use crate::completion::Completion;
use crate::engine::queued_execution;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{now, Execution, ExecutionRequest, EXECUTION_REQUEST_VERSION};

/// The (tenant, execution) a dead letter belongs to, if its body says so.
pub fn execution_of(delivery: &Delivery) -> Option<(String, String)> {
    let body: Value = serde_json::from_str(&delivery.body).ok()?;
    let tenant = body["tenantId"].as_str()?.to_string();
    let id = delivery
        .execution_id
        .clone()
        .or_else(|| body["executionId"].as_str().map(String::from))?;
    Some((tenant, id))
}

/// Mark the execution of a dead letter `dead_lettered` (once; a terminal execution is left as
/// it is). Returns whether it changed.
pub async fn mark(backend: &Backend, delivery: &Delivery) -> Result<bool> {
    let Some((tenant, id)) = execution_of(delivery) else {
        return Ok(false);
    };
    let recorded = backend.executions.get_execution(&tenant, &id).await?;
    let (e, never_decoded) = match recorded {
        Some(e) => (e, false),
        None => match record_unrecorded(backend, delivery).await? {
            Some(e) => (e, true),
            None => return Ok(false),
        },
    };
    if e.status.is_terminal() {
        return Ok(false);
    }
    let why = if never_decoded {
        " (the message is not a valid execution request, so it never ran: check it against \
         schemas/messages/execution-request.schema.json)"
            .to_string()
    } else {
        e.error
            .as_ref()
            .map(|last| format!(" (last error: {}: {})", last.code, last.message))
            .unwrap_or_default()
    };
    let error = Error::new(
        ErrorKind::DeadLettered,
        format!(
            "the queue gave up on this execution after {} deliveries{why}; it can be redriven",
            delivery.receive_count,
        ),
    );
    let changed = Completion::new(e, Err(error), None)
        .store(backend.executions.as_ref(), None)
        .await?;
    if changed {
        info!(execution_id = %id, tenant_id = %tenant, "execution dead-lettered");
    }
    Ok(changed)
}

/// Record, `queued`, the execution a malformed dead letter names (see the module's comment),
/// from the fields of its body that satisfy the message schema's rules; None when it names no
/// valid tenant and execution id. Returns what the store holds under that id afterwards (a
/// concurrent sweep of the same message may have recorded it first).
async fn record_unrecorded(backend: &Backend, delivery: &Delivery) -> Result<Option<Execution>> {
    let Some(mut execution) = unrecorded_execution(delivery) else {
        return Ok(None);
    };
    if let Some(c) = backend
        .connections
        .get_connection(&execution.tenant_id, &execution.connection_id)
        .await?
    {
        execution.integration_id = c.integration_id;
    }
    match backend
        .executions
        .create_execution(&execution, None)
        .await?
    {
        CreateOutcome::Created => Ok(Some(execution)),
        CreateOutcome::Existing { execution, .. } => Ok(Some(*execution)),
    }
}

/// The execution a malformed body names, built from its well-formed fields only: the tenant
/// (1 to 128 characters) and execution id (a ULID) or nothing; a connection and action that
/// break their rules become `unknown`; caller fields and the callback URL are kept only when
/// valid. Recorded as every execution is ([`queued_execution`]: the input sanitized).
fn unrecorded_execution(delivery: &Delivery) -> Option<Execution> {
    let body: Value = serde_json::from_str(&delivery.body).ok()?;
    let text = |field: &str, max: usize| {
        body[field]
            .as_str()
            .filter(|s| !s.is_empty() && s.chars().count() <= max)
            .map(String::from)
    };
    let tenant_id = text("tenantId", 128)?;
    let execution_id = delivery
        .execution_id
        .clone()
        .or_else(|| text("executionId", 26))
        .filter(|id| is_ulid(id))?;
    let action_id = text("actionId", 128)
        .filter(|a| {
            a.starts_with(|c: char| c.is_ascii_lowercase())
                && a.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .unwrap_or_else(|| UNKNOWN.to_string());
    let callback_url =
        text("callbackUrl", 2048).filter(|u| url::Url::parse(u).is_ok_and(|u| u.has_host()));
    let request = ExecutionRequest {
        version: EXECUTION_REQUEST_VERSION,
        execution_id,
        tenant_id,
        connection_id: text("connectionId", 128).unwrap_or_else(|| UNKNOWN.to_string()),
        action_id,
        input: match &body["input"] {
            input @ Value::Object(_) => input.clone(),
            _ => Value::Object(Default::default()),
        },
        caller_service: text("callerService", 128),
        caller_ref: text("callerRef", 256),
        callback_url,
        submitted_at: now(),
    };
    Some(queued_execution(&request, UNKNOWN, None, &[]))
}

/// What a malformed message's missing or invalid connection, action or integration is recorded as.
const UNKNOWN: &str = "unknown";

/// A ULID as the message schema writes it: 26 characters of Crockford base32, upper case.
fn is_ulid(id: &str) -> bool {
    id.len() == 26
        && id
            .chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c)))
}

/// One pass over (up to `max` of) the dead-letter queue, marking executions. Messages become
/// visible again in the dead-letter queue after `visibility`.
pub async fn sweep(backend: &Backend, max: usize, visibility: Duration) -> Result<usize> {
    let mut marked = 0;
    let mut seen = 0;
    while seen < max {
        let batch = backend
            .queue
            .receive_dead_letters(10.min(max - seen), visibility)
            .await?;
        if batch.is_empty() {
            break;
        }
        seen += batch.len();
        for d in &batch {
            match mark(backend, d).await {
                Ok(true) => marked += 1,
                Ok(false) => {}
                Err(e) => {
                    warn!(message_id = %d.message_id, error = %e, "could not mark dead letter")
                }
            }
        }
    }
    Ok(marked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExecutionStatus;

    fn delivery(body: &str) -> Delivery {
        Delivery {
            message_id: "m1".into(),
            receipt: "r1".into(),
            body: body.into(),
            receive_count: 10,
            execution_id: None,
            trace_parent: None,
            fair_group: None,
        }
    }

    #[test]
    fn a_malformed_body_yields_only_its_well_formed_fields() {
        let body = serde_json::json!({
            "version": 2, "executionId": "01JH8Z5W3Q4M5N6P7R8S9T0V1W", "tenantId": "acme",
            "connectionId": "", "actionId": "Bad-Action", "callerService": "flows",
            "callerRef": "x".repeat(300), "callbackUrl": "not a url",
            "input": {"toPhone": "0912345678", "apiKey": "k-1"}, "extra": true
        });
        let e = unrecorded_execution(&delivery(&body.to_string())).expect("named");
        assert_eq!(
            (e.execution_id.as_str(), e.tenant_id.as_str()),
            ("01JH8Z5W3Q4M5N6P7R8S9T0V1W", "acme")
        );
        assert_eq!(
            (e.connection_id.as_str(), e.action_id.as_str()),
            (UNKNOWN, UNKNOWN)
        );
        assert_eq!(e.caller_service.as_deref(), Some("flows"));
        assert_eq!((e.caller_ref, e.callback_url), (None, None));
        assert_eq!(e.input, serde_json::json!({"toPhone": "*******678"}));
        assert_eq!(e.status, ExecutionStatus::Queued);
    }

    #[test]
    fn a_body_naming_no_valid_tenant_and_ulid_names_nothing() {
        for body in [
            "{not json",
            r#"{"executionId": "01JH8Z5W3Q4M5N6P7R8S9T0V1W"}"#,
            r#"{"executionId": "01jh8z5w3q4m5n6p7r8s9t0v1w", "tenantId": "acme"}"#,
            r#"{"executionId": "01JH8Z5W3Q4M5N6P7R8S9T0VIL", "tenantId": "acme"}"#,
            r#"{"executionId": "01JH8Z5W3Q4M5N6P7R8S9T0V1W", "tenantId": ""}"#,
            r#"[1, 2]"#,
        ] {
            assert_eq!(unrecorded_execution(&delivery(body)), None, "{body}");
        }
    }
}
