//! The items of the executions table: executions, idempotency records and outbox events.
//!
//! Execution fields are top-level attributes (the claim, lease and transitions are conditional
//! updates of single attributes); `input`, `output` and `error` are JSON text, which keeps
//! numbers and key order exactly as given.

use integrations_core::backend::IdempotencyClaim;
use integrations_core::model::{Execution, ExecutionStatus, Timestamp};
use integrations_core::outbox::{OutboxEvent, OutboxEventKind};
use integrations_core::{Error, Result};

use super::{
    get_json, get_n, get_s, item_size, n, parse_ts, req_s, s, tenant_pk, to_json, ts, Item,
    ITEM_BUDGET, TTL_ATTRIBUTE,
};
use crate::truncate;

pub(crate) const PK: &str = "PK";
pub(crate) const SK: &str = "SK";
pub(crate) const STATUS: &str = "status";
pub(crate) const ATTEMPTS: &str = "attempts";
pub(crate) const LEASE_OWNER: &str = "leaseOwner";
/// Epoch milliseconds, so that the claim can compare it with a number.
pub(crate) const LEASE_UNTIL: &str = "leaseUntil";
pub(crate) const UPDATED_AT: &str = "updatedAt";
pub(crate) const NEXT_ATTEMPT_AT: &str = "nextAttemptAt";
pub(crate) const ERROR: &str = "error";
pub(crate) const INTEGRATION_ID: &str = "integrationId";
/// Sort key of the listing indexes: `<createdAt>#<executionId>`, unique and time-ordered.
pub(crate) const CREATED_KEY: &str = "createdKey";
/// Partition key of ExecutionsByTenantShard: `TENANT#<t>#<shard>`.
pub(crate) const TENANT_SHARD: &str = "tenantShard";
/// Partition key of ExecutionsByConnectionShard: `TENANT#<t>#CONNECTION#<c>#<shard>`.
pub(crate) const CONNECTION_SHARD: &str = "connectionShard";
/// What the listing indexes project besides the keys: exactly what `execution_from_item`
/// reads. Lease attributes are left out, so a heartbeat (`extend_lease`) writes no index.
pub(crate) const LISTED_ATTRIBUTES: &[&str] = &[
    "executionId",
    "tenantId",
    "connectionId",
    INTEGRATION_ID,
    "actionId",
    STATUS,
    "input",
    "output",
    ERROR,
    ATTEMPTS,
    "latencyMs",
    "callerService",
    "callerRef",
    "callbackUrl",
    "idempotencyKey",
    NEXT_ATTEMPT_AT,
    "createdAt",
    UPDATED_AT,
    "finishedAt",
    "expiresAt",
];
/// Set when the stored output was truncated to fit the item.
pub(crate) const OUTPUT_TRUNCATED: &str = "outputTruncated";
/// PendingEvents index: partition `OUTBOX#<shard>`, sort `<written at>#<eventId>`.
pub(crate) const OUTBOX_SHARD: &str = "outboxShard";
pub(crate) const OUTBOX_KEY: &str = "outboxKey";
const EVENT: &str = "event";
const EVENT_KIND: &str = "eventKind";

/// An execution is its own partition, `EXEC#<executionId>`, with the tenant as sort key: a
/// tenant's writes spread over as many partitions as it has executions, and a read by id names
/// the tenant in the key, so another tenant's id is simply not found. (Producers choose their own
/// ids: two tenants' executions may share one, and stay two items.)
pub(crate) fn exec_key(tenant_id: &str, execution_id: &str) -> Item {
    Item::from([
        (PK.into(), s(format!("EXEC#{execution_id}"))),
        (SK.into(), s(tenant_pk(tenant_id))),
    ])
}

/// The ExecutionsByTenantShard partition of one shard. The shard is the last `#` field and is
/// numeric, so no other tenant id yields the same text.
pub(crate) fn tenant_shard(tenant_id: &str, shard: u16) -> String {
    format!("TENANT#{tenant_id}#{shard}")
}

/// The ExecutionsByConnectionShard partition of one shard.
pub(crate) fn connection_shard(tenant_id: &str, connection_id: &str, shard: u16) -> String {
    format!("TENANT#{tenant_id}#CONNECTION#{connection_id}#{shard}")
}

pub(crate) fn created_key(created_at: &Timestamp, id: &str) -> String {
    format!("{}#{id}", ts(created_at))
}

/// The whole item of an execution, with its output truncated (and flagged) when the item would
/// not fit DynamoDB's 400 KB; an input that alone does not fit is refused.
/// `listing_shards`: the shard count the listing keys are written with (the item keeps its
/// shard when the count grows later).
pub(crate) fn execution_item(e: &Execution, listing_shards: u16) -> Result<Item> {
    let mut item = execution_item_raw(e, e.output.as_ref(), listing_shards)?;
    let size = item_size(&item);
    if size <= ITEM_BUDGET {
        return Ok(item);
    }
    if let Some(output) = &e.output {
        let without = size
            - item
                .get("output")
                .map_or(0, |_| "output".len() + truncate::json_len(output));
        let room = ITEM_BUDGET.saturating_sub(without + 64);
        let (cut, _) = truncate::fit(output, room);
        item = execution_item_raw(e, Some(&cut), listing_shards)?;
        item.insert(
            OUTPUT_TRUNCATED.into(),
            aws_sdk_dynamodb::types::AttributeValue::Bool(true),
        );
        if item_size(&item) <= ITEM_BUDGET {
            tracing::warn!(
                execution_id = %e.execution_id,
                bytes = size,
                "execution output too large for DynamoDB: stored truncated"
            );
            return Ok(item);
        }
    }
    Err(Error::new(
        integrations_core::ErrorKind::PayloadTooLarge,
        format!(
            "the record of execution {} is {size} bytes; DynamoDB items are limited to 400 KB \
             (input too large)",
            e.execution_id
        ),
    ))
}

fn execution_item_raw(
    e: &Execution,
    output: Option<&serde_json::Value>,
    listing_shards: u16,
) -> Result<Item> {
    let mut item = exec_key(&e.tenant_id, &e.execution_id);
    let mut put = |k: &str, v| {
        item.insert(k.to_string(), v);
    };
    put("type", s("execution"));
    put("executionId", s(&e.execution_id));
    put("tenantId", s(&e.tenant_id));
    put("connectionId", s(&e.connection_id));
    put(INTEGRATION_ID, s(&e.integration_id));
    put("actionId", s(&e.action_id));
    put(STATUS, s(e.status.as_str()));
    put("input", s(to_json(&e.input)?));
    if let Some(o) = output {
        put("output", s(to_json(o)?));
    }
    if let Some(err) = &e.error {
        put(ERROR, s(to_json(err)?));
    }
    put(ATTEMPTS, n(e.attempts));
    if let Some(l) = e.latency_ms {
        put("latencyMs", n(l));
    }
    for (k, v) in [
        ("callerService", &e.caller_service),
        ("callerRef", &e.caller_ref),
        ("callbackUrl", &e.callback_url),
        ("idempotencyKey", &e.idempotency_key),
    ] {
        if let Some(v) = v {
            put(k, s(v));
        }
    }
    if let Some(t) = &e.next_attempt_at {
        put(NEXT_ATTEMPT_AT, s(ts(t)));
    }
    put("createdAt", s(ts(&e.created_at)));
    put(UPDATED_AT, s(ts(&e.updated_at)));
    if let Some(t) = &e.finished_at {
        put("finishedAt", s(ts(t)));
    }
    put("expiresAt", s(ts(&e.expires_at)));
    put(TTL_ATTRIBUTE, n(e.expires_at.timestamp()));
    put(CREATED_KEY, s(created_key(&e.created_at, &e.execution_id)));
    let shard = shard_of(&e.execution_id, listing_shards);
    put(TENANT_SHARD, s(tenant_shard(&e.tenant_id, shard)));
    put(
        CONNECTION_SHARD,
        s(connection_shard(&e.tenant_id, &e.connection_id, shard)),
    );
    Ok(item)
}

pub(crate) fn execution_from_item(item: &Item) -> Result<Execution> {
    let opt_s = |k: &str| get_s(item, k).map(str::to_string);
    let opt_ts = |k: &str| get_s(item, k).map(parse_ts).transpose();
    let status = req_s(item, STATUS)?;
    Ok(Execution {
        execution_id: req_s(item, "executionId")?.to_string(),
        tenant_id: req_s(item, "tenantId")?.to_string(),
        connection_id: req_s(item, "connectionId")?.to_string(),
        integration_id: req_s(item, INTEGRATION_ID)?.to_string(),
        action_id: req_s(item, "actionId")?.to_string(),
        status: ExecutionStatus::parse(status)
            .ok_or_else(|| Error::internal(format!("stored status `{status}` is unknown")))?,
        input: get_json(item, "input")?,
        output: item
            .contains_key("output")
            .then(|| get_json(item, "output"))
            .transpose()?,
        error: item
            .contains_key(ERROR)
            .then(|| get_json(item, ERROR))
            .transpose()?,
        attempts: get_n(item, ATTEMPTS).unwrap_or(0),
        latency_ms: get_n(item, "latencyMs"),
        caller_service: opt_s("callerService"),
        caller_ref: opt_s("callerRef"),
        callback_url: opt_s("callbackUrl"),
        idempotency_key: opt_s("idempotencyKey"),
        next_attempt_at: opt_ts(NEXT_ATTEMPT_AT)?,
        created_at: parse_ts(req_s(item, "createdAt")?)?,
        updated_at: parse_ts(req_s(item, UPDATED_AT)?)?,
        finished_at: opt_ts("finishedAt")?,
        expires_at: parse_ts(req_s(item, "expiresAt")?)?,
    })
}

/// Keyed by the key and the tenant: one partition per key, not one per tenant.
pub(crate) fn idempotency_key(tenant_id: &str, key: &str) -> Item {
    Item::from([
        (PK.into(), s(format!("IDEMP#{key}"))),
        (SK.into(), s(tenant_pk(tenant_id))),
    ])
}

pub(crate) fn idempotency_item(e: &Execution, claim: &IdempotencyClaim) -> Item {
    let mut item = idempotency_key(&e.tenant_id, &claim.key);
    item.extend([
        ("type".into(), s("idempotency")),
        ("executionId".into(), s(&e.execution_id)),
        ("requestHash".into(), s(&claim.request_hash)),
        // The key is reserved as long as the execution is kept.
        (TTL_ATTRIBUTE.into(), n(e.expires_at.timestamp())),
    ]);
    item
}

pub(crate) fn outbox_pk(event_id: &str) -> String {
    format!("OUTBOX#{event_id}")
}

/// Outbox items are keyed by event id alone so that `outbox_remove`, which only has ids, can
/// delete them in batches without reading first.
pub(crate) fn outbox_key(event_id: &str) -> Item {
    Item::from([
        (PK.into(), s(outbox_pk(event_id))),
        (SK.into(), s("OUTBOX")),
    ])
}

/// An outbox item: the event's JSON in `event`, its kind in `eventKind` (absent on items written
/// before provider events existed: result events).
pub(crate) fn outbox_item(
    event: &OutboxEvent,
    shards: u16,
    written_at: &Timestamp,
) -> Result<Item> {
    let event = truncate::fit_outbox_event(event);
    let id = event.event_id();
    let mut item = outbox_key(id);
    item.insert("type".into(), s("outbox"));
    item.insert(EVENT_KIND.into(), s(event.kind().as_str()));
    item.insert(EVENT.into(), s(event.to_stored_json()?));
    item.insert(OUTBOX_SHARD.into(), s(outbox_shard(shard_of(id, shards))));
    item.insert(OUTBOX_KEY.into(), s(format!("{}#{id}", ts(written_at))));
    Ok(item)
}

pub(crate) fn outbox_shard(shard: u16) -> String {
    format!("OUTBOX#{shard}")
}

pub(crate) fn event_from_item(item: &Item) -> Result<OutboxEvent> {
    let kind = OutboxEventKind::parse(get_s(item, EVENT_KIND))?;
    OutboxEvent::from_stored_json(kind, req_s(item, EVENT)?)
}

/// A stable spread of ids (event ids, execution ids) over the shards (FNV-1a; std's hasher is
/// seeded per process).
pub(crate) fn shard_of(id: &str, shards: u16) -> u16 {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    // The remainder is below `shards`, a u16.
    (hash % u64::from(shards.max(1))) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use integrations_core::model::now;
    use serde_json::json;

    fn execution() -> Execution {
        let t = now();
        Execution {
            execution_id: "01HX".into(),
            tenant_id: "t1".into(),
            connection_id: "c1".into(),
            integration_id: "stripe".into(),
            action_id: "refund".into(),
            status: ExecutionStatus::Succeeded,
            input: json!({"amount": 1.5, "z": 1, "a": [1, 2]}),
            output: Some(json!({"ok": true})),
            error: None,
            attempts: 2,
            latency_ms: Some(12),
            caller_service: Some("flows".into()),
            caller_ref: None,
            callback_url: None,
            idempotency_key: Some("k".into()),
            next_attempt_at: None,
            created_at: t,
            updated_at: t,
            finished_at: Some(t),
            expires_at: t + chrono::Duration::days(30),
        }
    }

    #[test]
    fn executions_round_trip() {
        let e = execution();
        let item = execution_item(&e, 16).expect("item");
        assert_eq!(execution_from_item(&item).expect("parse"), e);
    }

    #[test]
    fn a_huge_output_is_truncated_with_a_flag() {
        let mut e = execution();
        e.output = Some(json!({"blob": "x".repeat(600_000)}));
        let item = execution_item(&e, 16).expect("item");
        assert!(item_size(&item) <= ITEM_BUDGET);
        assert!(item.contains_key(OUTPUT_TRUNCATED));
        let back = execution_from_item(&item).expect("parse");
        assert_eq!(
            back.output.expect("output")[truncate::TRUNCATED_FLAG],
            json!(true)
        );
    }

    #[test]
    fn a_huge_input_is_refused_clearly() {
        let mut e = execution();
        e.input = json!("x".repeat(500_000));
        let err = execution_item(&e, 16).expect_err("too large");
        assert_eq!(err.kind, integrations_core::ErrorKind::PayloadTooLarge);
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        assert_eq!(shard_of("01HX", 4), shard_of("01HX", 4));
        assert!((0..100).all(|i| shard_of(&i.to_string(), 4) < 4));
        assert_eq!(shard_of("x", 0), 0);
    }
}
