//! LeaseStore on DynamoDB: one item per name in the executions table (`PK = LEASE#<name>`, its
//! own partition), taken by a conditional PutItem (absent, expired, or already ours) and released
//! by a conditional DeleteItem. Items carry the TTL attribute, so abandoned ones go away.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::Client;
use integrations_core::backend::{Lease, LeaseStore};
use integrations_core::model::Timestamp;
use integrations_core::Result;

use super::{get_s, n, parse_ts, s, ts, Item, TTL_ATTRIBUTE};
use crate::error::sdk_error;

/// Abandoned lease items are deleted by TTL this long after they expire.
const TTL_GRACE_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone)]
pub struct DynamoLeases {
    client: Client,
    table: String,
}

impl DynamoLeases {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn key(name: &str) -> Item {
    Item::from([
        ("PK".into(), s(format!("LEASE#{name}"))),
        ("SK".into(), s("LEASE")),
    ])
}

#[async_trait]
impl LeaseStore for DynamoLeases {
    async fn acquire_lease(&self, name: &str, lease: &Lease, now: Timestamp) -> Result<bool> {
        let mut item = key(name);
        item.insert("leaseOwner".into(), s(&lease.owner));
        // Fixed-width timestamps compare as text.
        item.insert("leaseUntil".into(), s(ts(&lease.until)));
        item.insert(
            TTL_ATTRIBUTE.into(),
            n(lease.until.timestamp() + TTL_GRACE_SECS),
        );
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR leaseOwner = :owner OR leaseUntil <= :now",
            )
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":now", s(ts(&now)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(sdk_error("DynamoDB PutItem (lease)", e)),
            },
        }
    }

    async fn get_lease(&self, name: &str) -> Result<Option<Lease>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem (lease)", e))?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        Ok(Some(Lease {
            owner: get_s(&item, "leaseOwner").unwrap_or_default().to_string(),
            until: parse_ts(get_s(&item, "leaseUntil").unwrap_or_default())?,
        }))
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(name)))
            .condition_expression("leaseOwner = :owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                // Someone else's now, or gone: nothing of ours to release.
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(()),
                _ => Err(sdk_error("DynamoDB DeleteItem (lease)", e)),
            },
        }
    }
}
