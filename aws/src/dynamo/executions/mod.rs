//! ExecutionStore on DynamoDB: every state transition is one conditional write, so that any
//! number of workers on any number of hosts agree without in-process state.

mod create;
mod lease;
mod list;
mod outbox;

pub(crate) use outbox::born_claimed;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use integrations_core::backend::{
    ClaimOutcome, CreateOutcome, ExecutionFilter, ExecutionStore, IdempotencyClaim, Lease, Page,
    Release,
};
use integrations_core::completion::Completion;
use integrations_core::model::{Execution, Timestamp};
use integrations_core::outbox::OutboxEvent;
use integrations_core::Result;

use super::exec_item::{exec_key, execution_from_item, execution_item};
use super::Item;
use crate::error::sdk_error;

#[derive(Debug, Clone)]
pub struct DynamoExecutions {
    client: Client,
    table: String,
    outbox_shards: u16,
    /// Shards of the listing indexes per tenant (`AwsConfig::listing_shards`).
    listing_shards: u16,
}

/// The answer to a conditional update: the item after (or before, as asked) the write, or
/// `Err` with the item as it was when the condition failed (None: there was no item).
type Conditional = std::result::Result<Item, Option<Item>>;

/// A conditional update of one execution.
struct Change<'a> {
    /// Names the call in errors.
    what: &'a str,
    update: &'a str,
    condition: &'a str,
    /// `#placeholder` → attribute name; DynamoDB refuses unused ones, so each caller passes
    /// exactly what its expressions use.
    names: &'a [(&'a str, &'a str)],
    values: Vec<(&'a str, AttributeValue)>,
    returns: ReturnValue,
}

impl DynamoExecutions {
    pub fn new(client: Client, table: impl Into<String>, outbox_shards: u16) -> Self {
        Self {
            client,
            table: table.into(),
            outbox_shards: outbox_shards.max(1),
            listing_shards: 16,
        }
    }

    /// New executions spread over `shards` listing partitions per tenant; listings read them all.
    pub fn with_listing_shards(mut self, shards: u16) -> Self {
        self.listing_shards = shards.max(1);
        self
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem (executions)", e))?;
        Ok(out.item)
    }

    /// One conditional UpdateItem of the execution at `key`.
    async fn update(&self, key: Item, change: Change<'_>) -> Result<Conditional> {
        let Change {
            what,
            update,
            condition,
            names,
            values,
            returns,
        } = change;
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .return_values(returns)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in names {
            req = req.expression_attribute_names(*k, *v);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(out) => Ok(Ok(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Err(c.item().filter(|i| !i.is_empty()).cloned()))
                }
                _ => Err(sdk_error(what, e)),
            },
        }
    }
}

#[async_trait]
impl ExecutionStore for DynamoExecutions {
    async fn create_execution(
        &self,
        execution: &Execution,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome> {
        let item = execution_item(execution, self.listing_shards)?;
        match idempotency {
            None => self.create_plain(item, execution).await,
            Some(claim) => self.create_with_key(item, execution, claim).await,
        }
    }

    async fn get_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
    ) -> Result<Option<Execution>> {
        self.get_item(exec_key(tenant_id, execution_id))
            .await?
            .map(|item| execution_from_item(&item))
            .transpose()
    }

    async fn list_executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>> {
        self.list(tenant_id, filter).await
    }

    async fn claim_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<ClaimOutcome> {
        self.claim(tenant_id, execution_id, lease).await
    }

    async fn extend_lease(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<bool> {
        self.extend(tenant_id, execution_id, lease).await
    }

    async fn release_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        owner: &str,
        release: &Release,
    ) -> Result<bool> {
        self.release(tenant_id, execution_id, owner, release).await
    }

    async fn complete_execution(
        &self,
        completion: &Completion,
        owner: Option<&str>,
    ) -> Result<bool> {
        self.complete(completion, owner).await
    }

    async fn reopen_execution(&self, tenant_id: &str, execution_id: &str) -> Result<bool> {
        self.reopen(tenant_id, execution_id).await
    }

    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEvent>> {
        self.pending(limit).await
    }

    async fn outbox_claim(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>> {
        self.claim_events(now, lease, limit).await
    }

    async fn outbox_remove(&self, event_ids: &[String]) -> Result<()> {
        self.remove(event_ids).await
    }
}
