//! TriggerStore on DynamoDB, in the connections table beside the tenant's connections
//! (`aws/DESIGN.md`, "Triggers"): per trigger two items of the tenant's partition, written and
//! removed together by one transaction, both holding the trigger as JSON:
//! - `SK = TRIGGER#<triggerId>`: read by id, listed by `begins_with(SK, "TRIGGER#")`;
//! - `SK = TRIGGERSRC#<hex sha256(len(connection), connection, event type)>#<triggerId>`: the
//!   lookup for a provider event, one strongly consistent Query on the prefix. Hashed, so that no
//!   connection id or event type can make its prefix another pair's or a prefix of it.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use integrations_core::triggers::{Trigger, TriggerStore};
use integrations_core::{Error, Result};
use sha2::{Digest, Sha256};

use super::{get_json, query_pages, s, tenant_pk, to_json, Item};
use crate::error::{built, sdk_error};

const DATA: &str = "trigger";
const BY_ID: &str = "TRIGGER#";

#[derive(Debug, Clone)]
pub struct DynamoTriggers {
    client: Client,
    table: String,
}

fn key(tenant_id: &str, sk: String) -> Item {
    Item::from([("PK".into(), s(tenant_pk(tenant_id))), ("SK".into(), s(sk))])
}

fn source_prefix(connection_id: &str, event_type: &str) -> String {
    let mut h = Sha256::new();
    h.update((connection_id.len() as u64).to_be_bytes());
    h.update(connection_id.as_bytes());
    h.update(event_type.as_bytes());
    format!("TRIGGERSRC#{}#", hex::encode(h.finalize()))
}

fn keys(t: &Trigger) -> [Item; 2] {
    let source = source_prefix(&t.source.connection_id, &t.source.event_type);
    [
        key(&t.tenant_id, format!("{BY_ID}{}", t.trigger_id)),
        key(&t.tenant_id, format!("{source}{}", t.trigger_id)),
    ]
}

/// Whether a transaction was cancelled by the condition of its first item.
fn first_condition_failed(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>,
) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .first()
            .is_some_and(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}

impl DynamoTriggers {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Every trigger of the tenant's partition under `prefix`, oldest first.
    async fn query(&self, tenant_id: &str, prefix: String, what: &str) -> Result<Vec<Trigger>> {
        let req = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        let found = query_pages(req, "SK", usize::MAX, what, |item| get_json(item, DATA)).await?;
        let mut triggers: Vec<Trigger> = found.into_iter().map(|(_, t)| t).collect();
        triggers.sort_by(|a, b| (a.created_at, &a.trigger_id).cmp(&(b.created_at, &b.trigger_id)));
        Ok(triggers)
    }

    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> std::result::Result<(), aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl TriggerStore for DynamoTriggers {
    async fn create_trigger(&self, trigger: &Trigger) -> Result<()> {
        let json = to_json(trigger)?;
        let mut items = Vec::with_capacity(2);
        for mut item in keys(trigger) {
            item.insert("type".into(), s("trigger"));
            item.insert(DATA.into(), s(&json));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)");
            items.push(
                TransactWriteItem::builder()
                    .put(built("DynamoDB Put", put.build())?)
                    .build(),
            );
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) if first_condition_failed(&e) => Err(Error::validation(format!(
                "trigger '{}' already exists",
                trigger.trigger_id
            ))),
            Err(e) => Err(sdk_error("DynamoDB TransactWriteItems (create trigger)", e)),
        }
    }

    async fn get_trigger(&self, tenant_id: &str, trigger_id: &str) -> Result<Option<Trigger>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_id, format!("{BY_ID}{trigger_id}"))))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem (trigger)", e))?;
        out.item.map(|i| get_json(&i, DATA)).transpose()
    }

    async fn list_triggers(&self, tenant_id: &str) -> Result<Vec<Trigger>> {
        self.query(tenant_id, BY_ID.to_string(), "DynamoDB Query (triggers)")
            .await
    }

    async fn delete_trigger(&self, tenant_id: &str, trigger_id: &str) -> Result<bool> {
        // The lookup item's key needs the trigger's source: read it first.
        let Some(trigger) = self.get_trigger(tenant_id, trigger_id).await? else {
            return Ok(false);
        };
        let mut items = Vec::with_capacity(2);
        for (i, item) in keys(&trigger).into_iter().enumerate() {
            let mut delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(item));
            if i == 0 {
                // Of two concurrent deletes one removes it, the other finds nothing.
                delete = delete.condition_expression("attribute_exists(PK)");
            }
            items.push(
                TransactWriteItem::builder()
                    .delete(built("DynamoDB Delete", delete.build())?)
                    .build(),
            );
        }
        match self.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if first_condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error("DynamoDB TransactWriteItems (delete trigger)", e)),
        }
    }

    async fn matching_triggers(
        &self,
        tenant_id: &str,
        connection_id: &str,
        event_type: &str,
    ) -> Result<Vec<Trigger>> {
        self.query(
            tenant_id,
            source_prefix(connection_id, event_type),
            "DynamoDB Query (matching triggers)",
        )
        .await
    }
}
