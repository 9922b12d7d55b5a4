//! Copies an executions table written in the one-partition-per-tenant layout (`PK =
//! TENANT#<t>`, `SK = EXEC#<id>` or `IDEMP#<key>`, listing key `connectionKey`) into a table of
//! today's layout (aws/DESIGN.md, "Keys"): executions become `EXEC#<id>` / `TENANT#<t>` with
//! their listing shards, idempotency records `IDEMP#<key>` / `TENANT#<t>`; every other item
//! (outbox events, callbacks, leases, buckets) is keyed the same in both and copied as it is.
//!
//! Idempotent and resumable: each item is a PutItem conditioned on its key being free in the
//! target (an item already there, copied before or written since by the new service, is kept
//! and counted as skipped), and the scan can be split into parallel segments and resumed from
//! the position printed after each page. Old items are never changed.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use integrations_core::{Error, Result};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::accounting::RequestCounter;
use crate::capacity::CapacityMeter;
use crate::clients::Clients;
use crate::config::AwsConfig;
use crate::dynamo::{
    connection_shard, get_s, s, shard_of, tenant_pk, tenant_shard, Item, CONNECTION_SHARD,
    TENANT_SHARD,
};
use crate::error::sdk_error;

/// The old layout's ExecutionsByConnection partition attribute, not written any more.
const OLD_CONNECTION_KEY: &str = "connectionKey";
const PUTS_IN_FLIGHT: usize = 16;

/// Which part of the source table to copy, and from where.
#[derive(Debug, Clone, Default)]
pub struct MigrationScope {
    /// Parallel scan segment `segment` of `segments` (None: the whole table).
    pub segment: Option<(i32, i32)>,
    /// A position printed by an earlier run of the same segment.
    pub resume: Option<String>,
}

/// What one page (or a whole run) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationCounts {
    pub scanned: u64,
    /// Copied, by kind (`execution`, `idempotency`, `other`).
    pub copied: BTreeMap<String, u64>,
    /// Already in the target.
    pub skipped: u64,
}

#[derive(Serialize, Deserialize)]
struct Resume(BTreeMap<String, String>);

/// Copies `source` into `target.executions_table`, page by page; after each page `progress`
/// gets the counts so far and the position to resume from (None: done).
pub async fn copy_layout(
    target: &AwsConfig,
    source: &str,
    scope: &MigrationScope,
    mut progress: impl FnMut(&MigrationCounts, Option<&str>),
) -> Result<MigrationCounts> {
    let clients = Clients::new(
        target,
        &RequestCounter::default(),
        &CapacityMeter::default(),
    )
    .await;
    let client = clients.dynamodb;
    let mut counts = MigrationCounts::default();
    let mut start = scope.resume.as_deref().map(decode_resume).transpose()?;
    loop {
        let mut scan = client
            .scan()
            .table_name(source)
            .consistent_read(true)
            .set_exclusive_start_key(start.take());
        if let Some((segment, total)) = scope.segment {
            scan = scan.segment(segment).total_segments(total);
        }
        let page = scan
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Scan (migration source)", e))?;
        let mut puts = JoinSet::new();
        for item in page.items() {
            counts.scanned += 1;
            let (kind, item) = convert(item, target.listing_shards)?;
            let (client, table) = (client.clone(), target.executions_table.clone());
            if puts.len() >= PUTS_IN_FLIGHT {
                tally(&mut counts, puts.join_next().await)?;
            }
            puts.spawn(async move { (kind, put_new(&client, &table, item).await) });
        }
        while let Some(done) = puts.join_next().await {
            tally(&mut counts, Some(done))?;
        }
        start = page.last_evaluated_key;
        let position = start.as_ref().map(encode_resume).transpose()?;
        progress(&counts, position.as_deref());
        if start.is_none() {
            return Ok(counts);
        }
    }
}

type PutAnswer = (&'static str, Result<bool>);

fn tally(
    counts: &mut MigrationCounts,
    done: Option<std::result::Result<PutAnswer, tokio::task::JoinError>>,
) -> Result<()> {
    let Some(done) = done else { return Ok(()) };
    let (kind, copied) = done.map_err(|e| Error::internal(format!("migration put: {e}")))?;
    if copied? {
        *counts.copied.entry(kind.to_string()).or_default() += 1;
    } else {
        counts.skipped += 1;
    }
    Ok(())
}

/// True: written; false: the target already had the key.
async fn put_new(client: &aws_sdk_dynamodb::Client, table: &str, item: Item) -> Result<bool> {
    let result = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) => match e.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
            _ => Err(sdk_error("DynamoDB PutItem (migration target)", e)),
        },
    }
}

/// The item in today's layout, and its kind.
fn convert(old: &Item, listing_shards: u16) -> Result<(&'static str, Item)> {
    let pk = get_s(old, "PK").unwrap_or_default();
    let sk = get_s(old, "SK").unwrap_or_default();
    let Some(tenant) = pk.strip_prefix("TENANT#") else {
        return Ok(("other", old.clone()));
    };
    let mut item = old.clone();
    item.insert("SK".into(), s(tenant_pk(tenant)));
    if let Some(id) = sk.strip_prefix("EXEC#") {
        let tenant_id = get_s(old, "tenantId").unwrap_or(tenant);
        let connection = get_s(old, "connectionId")
            .ok_or_else(|| Error::internal(format!("execution {id} lacks connectionId")))?;
        let shard = shard_of(id, listing_shards);
        item.remove(OLD_CONNECTION_KEY);
        item.insert("PK".into(), s(format!("EXEC#{id}")));
        item.insert(TENANT_SHARD.into(), s(tenant_shard(tenant_id, shard)));
        item.insert(
            CONNECTION_SHARD.into(),
            s(connection_shard(tenant_id, connection, shard)),
        );
        return Ok(("execution", item));
    }
    if let Some(key) = sk.strip_prefix("IDEMP#") {
        item.insert("PK".into(), s(format!("IDEMP#{key}")));
        return Ok(("idempotency", item));
    }
    Err(Error::validation(format!(
        "item `{pk}` / `{sk}` is of no layout this command knows"
    )))
}

fn encode_resume(key: &Item) -> Result<String> {
    let mut text = BTreeMap::new();
    for (name, value) in key {
        match value {
            AttributeValue::S(v) => text.insert(name.clone(), v.clone()),
            _ => {
                return Err(Error::internal(format!(
                    "scan position `{name}` is not text"
                )))
            }
        };
    }
    let json = serde_json::to_vec(&Resume(text)).map_err(|e| Error::internal(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_resume(token: &str) -> Result<Item> {
    let invalid = || Error::validation("--resume: pass a position printed by migrate-layout");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let Resume(text) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    Ok(text.into_iter().map(|(k, v)| (k, s(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_items_get_todays_keys() {
        let old = Item::from([
            ("PK".into(), s("TENANT#t1")),
            ("SK".into(), s("EXEC#01HX")),
            ("tenantId".into(), s("t1")),
            ("connectionId".into(), s("c1")),
            (OLD_CONNECTION_KEY.into(), s("TENANT#t1#CONNECTION#c1")),
        ]);
        let (kind, new) = convert(&old, 16).expect("convert");
        assert_eq!(kind, "execution");
        assert_eq!(get_s(&new, "PK"), Some("EXEC#01HX"));
        assert_eq!(get_s(&new, "SK"), Some("TENANT#t1"));
        assert!(!new.contains_key(OLD_CONNECTION_KEY));
        let shard = shard_of("01HX", 16);
        assert_eq!(
            get_s(&new, TENANT_SHARD),
            Some(tenant_shard("t1", shard).as_str())
        );

        let idem = Item::from([("PK".into(), s("TENANT#t1")), ("SK".into(), s("IDEMP#k"))]);
        let (kind, new) = convert(&idem, 16).expect("convert");
        assert_eq!(
            (kind, get_s(&new, "PK"), get_s(&new, "SK")),
            ("idempotency", Some("IDEMP#k"), Some("TENANT#t1"))
        );

        let outbox = Item::from([("PK".into(), s("OUTBOX#e")), ("SK".into(), s("OUTBOX"))]);
        assert_eq!(
            convert(&outbox, 16).expect("convert"),
            ("other", outbox.clone())
        );
        let odd = Item::from([("PK".into(), s("TENANT#t1")), ("SK".into(), s("WHAT#x"))]);
        assert!(convert(&odd, 16).is_err());
    }

    #[test]
    fn positions_round_trip() {
        let key = Item::from([("PK".into(), s("TENANT#t")), ("SK".into(), s("EXEC#1"))]);
        assert_eq!(
            decode_resume(&encode_resume(&key).expect("encode")).expect("decode"),
            key
        );
        assert!(decode_resume("nonsense!").is_err());
    }
}
