//! The DynamoDB stores: connections, executions (with idempotency records, the result-event
//! outbox and callbacks) and API keys. The key design is explained in `aws/DESIGN.md`.

mod api_keys;
mod buckets;
mod callbacks;
mod connections;
mod cursor;
mod exec_item;
mod executions;
mod leases;
mod sharded;
mod triggers;
mod webhooks;

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat};
use integrations_core::model::Timestamp;
use integrations_core::{Error, Result};

pub use api_keys::DynamoApiKeys;
pub use buckets::DynamoBuckets;
pub use callbacks::DynamoCallbacks;
pub use connections::DynamoConnections;
pub(crate) use exec_item::{
    connection_shard, shard_of, tenant_shard, CONNECTION_SHARD, CREATED_KEY, LISTED_ATTRIBUTES,
    TENANT_SHARD,
};
pub use executions::DynamoExecutions;
pub use leases::DynamoLeases;
pub use triggers::DynamoTriggers;
pub use webhooks::DynamoWebhooks;

/// Index names, shared with `provision` and `infra/template.yaml`.
/// A tenant's executions, one partition per listing shard (`tenantShard`).
pub const EXECUTIONS_BY_TENANT: &str = "ExecutionsByTenantShard";
/// A connection's executions, one partition per listing shard (`connectionShard`).
pub const EXECUTIONS_BY_CONNECTION: &str = "ExecutionsByConnectionShard";
pub const PENDING_EVENTS: &str = "PendingEvents";
/// A tenant's provider events, one partition per listing shard (`eventShard`).
pub const PROVIDER_EVENTS_BY_TENANT: &str = "ProviderEventsByTenantShard";
/// Pending callbacks by when they are due (sparse: delivered and failed ones leave it).
pub const DUE_CALLBACKS: &str = "DueCallbacks";
pub const CONNECTIONS_BY_INTEGRATION: &str = "ConnectionsByIntegration";
/// The TTL attribute (epoch seconds) of the executions table.
pub const TTL_ATTRIBUTE: &str = "expiresAtEpoch";

pub(crate) type Item = HashMap<String, AttributeValue>;

/// DynamoDB's item limit is 400 KB; the sizes computed here are close to DynamoDB's own
/// accounting but not exact, hence the margin.
pub(crate) const ITEM_BUDGET: usize = 380 * 1024;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub(crate) fn req_s<'a>(item: &'a Item, name: &str) -> Result<&'a str> {
    get_s(item, name).ok_or_else(|| Error::internal(format!("stored item lacks `{name}`")))
}

pub(crate) fn get_n<T: FromStr>(item: &Item, name: &str) -> Option<T> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub(crate) fn get_json<T: serde::de::DeserializeOwned>(item: &Item, name: &str) -> Result<T> {
    serde_json::from_str(req_s(item, name)?)
        .map_err(|e| Error::internal(format!("stored `{name}` is not valid: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("serialize: {e}")))
}

/// A timestamp as stored: RFC 3339 with nine fractional digits, so that it round-trips exactly
/// and sorts as text (fixed width).
pub(crate) fn ts(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

pub(crate) fn parse_ts(v: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.to_utc())
        .map_err(|e| Error::internal(format!("stored timestamp `{v}` is not valid: {e}")))
}

pub(crate) fn tenant_pk(tenant_id: &str) -> String {
    format!("TENANT#{tenant_id}")
}

/// The item's size as DynamoDB counts it (attribute names plus values), slightly over-estimated.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len() / 2 + 2,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::Ns(l) => l.iter().map(|n| n.len() / 2 + 2).sum(),
        AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
        _ => 1,
    }
}

/// Run an index Query page by page (a page stops at 1 MB) until `limit` items or the end,
/// returning each item's `sort_attr` (to merge shards in order) with what `parse` makes of it.
pub(crate) async fn query_pages<T>(
    req: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    sort_attr: &str,
    limit: usize,
    what: &str,
    parse: impl Fn(&Item) -> Result<T>,
) -> Result<Vec<(String, T)>> {
    let req = req.limit(i32::try_from(limit).unwrap_or(i32::MAX));
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let out = req
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| crate::error::sdk_error(what, e))?;
        for item in out.items() {
            let key = get_s(item, sort_attr).unwrap_or_default().to_string();
            found.push((key, parse(item)?));
        }
        start = out.last_evaluated_key;
        if start.is_none() || found.len() >= limit {
            return Ok(found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_sort_as_text() {
        let a = parse_ts("2024-05-01T10:00:00.5Z").expect("parse");
        let b = parse_ts("2024-05-01T10:00:00.123456789Z").expect("parse");
        assert_eq!(parse_ts(&ts(&a)).expect("round trip"), a);
        assert_eq!(parse_ts(&ts(&b)).expect("round trip"), b);
        assert!(ts(&b) < ts(&a));
    }
}
