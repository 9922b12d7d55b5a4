//! ExecutionStore on DynamoDB: every state transition is one conditional write, so that any
//! number of workers on any number of hosts agree without in-process state.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use integrations_core::backend::{
    ClaimOutcome, CreateOutcome, ExecutionFilter, ExecutionStore, IdempotencyClaim, Lease, Page,
    Release,
};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};
use integrations_core::{Error, Result};
use tokio::task::JoinSet;

use super::exec_item::{
    connection_key, event_from_item, exec_key, execution_from_item, execution_item,
    idempotency_item, outbox_item, outbox_key, outbox_shard, CONNECTION_KEY, CREATED_KEY, ERROR,
    INTEGRATION_ID, LEASE_OWNER, LEASE_UNTIL, OUTBOX_KEY, OUTBOX_SHARD, PK, SK, STATUS,
};
use super::{
    cursor, get_n, get_s, s, tenant_pk, to_json, ts, Item, EXECUTIONS_BY_CONNECTION,
    EXECUTIONS_BY_TENANT, PENDING_EVENTS,
};
use crate::error::{built, sdk_error};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;
/// BatchWriteItem's limit.
const WRITE_BATCH: usize = 25;
/// DynamoDB sort keys hold 1024 bytes; `IDEMP#` takes some.
const MAX_IDEMPOTENCY_KEY: usize = 1000;
/// TransactWriteItems' ClientRequestToken holds at most 36 characters.
const MAX_REQUEST_TOKEN: usize = 36;
const NOT_TERMINAL: &str =
    "attribute_exists(PK) AND NOT (#status IN (:succeeded, :failed, :timed_out, :dead_lettered))";
const HELD_BY_OWNER: &str = "#status = :running AND leaseOwner = :owner";

#[derive(Debug, Clone)]
pub struct DynamoExecutions {
    client: Client,
    table: String,
    outbox_shards: u8,
}

impl DynamoExecutions {
    pub fn new(client: Client, table: impl Into<String>, outbox_shards: u8) -> Self {
        Self {
            client,
            table: table.into(),
            outbox_shards: outbox_shards.max(1),
        }
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

    fn put(&self, item: Item, condition: &str) -> Result<Put> {
        built(
            "DynamoDB Put",
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .build(),
        )
    }

    async fn create_plain(&self, item: Item, execution: &Execution) -> Result<CreateOutcome> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let existing = match c.item() {
                        Some(old) => execution_from_item(old)?,
                        None => self.existing(execution).await?,
                    };
                    Ok(CreateOutcome::Existing {
                        execution: Box::new(existing),
                        request_hash: None,
                    })
                }
                _ => Err(sdk_error("DynamoDB PutItem (executions)", e)),
            },
        }
    }

    async fn create_with_key(
        &self,
        item: Item,
        execution: &Execution,
        claim: &IdempotencyClaim,
    ) -> Result<CreateOutcome> {
        if claim.key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(Error::validation(format!(
                "idempotency keys are limited to {MAX_IDEMPOTENCY_KEY} bytes"
            )));
        }
        let puts = [
            self.put(item, "attribute_not_exists(PK)")?,
            self.put(idempotency_item(execution, claim), "attribute_not_exists(PK)")?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(
                puts.into_iter()
                    .map(|p| TransactWriteItem::builder().put(p).build())
                    .collect(),
            ))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(CreateOutcome::Created),
            Err(e) => e,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                c.cancellation_reasons().to_vec()
            }
            _ => return Err(sdk_error("DynamoDB TransactWriteItems (create)", err)),
        };
        let failed = |i: usize| {
            reasons
                .get(i)
                .and_then(|r| r.code())
                .is_some_and(|c| c == "ConditionalCheckFailed")
        };
        if failed(1) {
            // The key is taken: answer with the execution it was reserved for.
            let record = match reasons.get(1).and_then(|r| r.item()) {
                Some(old) => old.clone(),
                None => self
                    .get_item(
                        idempotency_item(execution, claim)
                            .into_iter()
                            .filter(|(k, _)| k == PK || k == SK)
                            .collect(),
                    )
                    .await?
                    .ok_or_else(|| Error::backend("idempotency record vanished; retry"))?,
            };
            let id = get_s(&record, "executionId").unwrap_or_default().to_string();
            let hash = get_s(&record, "requestHash").map(str::to_string);
            let existing = self
                .get_item(exec_key(&execution.tenant_id, &id))
                .await?
                .ok_or_else(|| {
                    Error::internal(format!(
                        "idempotency key `{}` refers to execution {id}, which is gone",
                        claim.key
                    ))
                })?;
            return Ok(CreateOutcome::Existing {
                execution: Box::new(execution_from_item(&existing)?),
                request_hash: hash,
            });
        }
        if failed(0) {
            let existing = match reasons.first().and_then(|r| r.item()) {
                Some(old) => execution_from_item(old)?,
                None => self.existing(execution).await?,
            };
            return Ok(CreateOutcome::Existing {
                execution: Box::new(existing),
                request_hash: None,
            });
        }
        Err(sdk_error("DynamoDB TransactWriteItems (create)", err))
    }

    async fn existing(&self, e: &Execution) -> Result<Execution> {
        let item = self
            .get_item(exec_key(&e.tenant_id, &e.execution_id))
            .await?
            .ok_or_else(|| Error::backend("execution vanished during create; retry"))?;
        execution_from_item(&item)
    }

    /// A conditional UpdateItem; Ok(None) when the condition failed (with the old item, if any,
    /// in the error path's place).
    async fn update(
        &self,
        what: &str,
        key: Item,
        update: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<std::result::Result<Item, Option<Item>>> {
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#status", STATUS)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if update.contains("#error") {
            req = req.expression_attribute_names("#error", ERROR);
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(out) => Ok(Ok(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Err(c.item().cloned()))
                }
                _ => Err(sdk_error(what, e)),
            },
        }
    }

    async fn query_shard(
        client: Client,
        table: String,
        shard: u8,
        limit: usize,
    ) -> Result<Vec<(String, ResultEvent)>> {
        let out = client
            .query()
            .table_name(table)
            .index_name(PENDING_EVENTS)
            .key_condition_expression("#shard = :shard")
            .expression_attribute_names("#shard", OUTBOX_SHARD)
            .expression_attribute_values(":shard", s(outbox_shard(shard)))
            .scan_index_forward(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB Query (pending events)", e))?;
        out.items()
            .iter()
            .map(|item| {
                let key = get_s(item, OUTBOX_KEY).unwrap_or_default().to_string();
                Ok((key, event_from_item(item)?))
            })
            .collect()
    }
}

fn status_values() -> Vec<(&'static str, AttributeValue)> {
    vec![
        (":succeeded", s(ExecutionStatus::Succeeded.as_str())),
        (":failed", s(ExecutionStatus::Failed.as_str())),
        (":timed_out", s(ExecutionStatus::TimedOut.as_str())),
        (":dead_lettered", s(ExecutionStatus::DeadLettered.as_str())),
    ]
}

#[async_trait]
impl ExecutionStore for DynamoExecutions {
    async fn create_execution(
        &self,
        execution: &Execution,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome> {
        let item = execution_item(execution)?;
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
        let limit = match filter.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let after = filter
            .cursor
            .as_deref()
            .map(|c| cursor::decode(tenant_id, c))
            .transpose()?;
        let lower = filter.start.as_ref().map(ts);
        // Newest first: both the end of the range and the cursor are exclusive upper bounds.
        let upper = [filter.end.as_ref().map(ts), after.clone()]
            .into_iter()
            .flatten()
            .min();
        if let (Some(lo), Some(hi)) = (&lower, &upper) {
            if lo >= hi {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
        }
        let (index, partition) = match &filter.connection_id {
            Some(c) => (EXECUTIONS_BY_CONNECTION, (CONNECTION_KEY, connection_key(tenant_id, c))),
            None => (EXECUTIONS_BY_TENANT, (PK, tenant_pk(tenant_id))),
        };
        let key_condition = match (&lower, &upper) {
            (Some(_), Some(_)) => "#pk = :pk AND #ck BETWEEN :lo AND :hi",
            (None, Some(_)) => "#pk = :pk AND #ck < :hi",
            (Some(_), None) => "#pk = :pk AND #ck >= :lo",
            (None, None) => "#pk = :pk",
        };
        let mut filters = Vec::new();
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(key_condition)
            .expression_attribute_names("#pk", partition.0)
            .expression_attribute_names("#ck", CREATED_KEY)
            .expression_attribute_values(":pk", s(partition.1))
            .scan_index_forward(false);
        if let Some(lo) = &lower {
            req = req.expression_attribute_values(":lo", s(lo));
        }
        if let Some(hi) = &upper {
            req = req.expression_attribute_values(":hi", s(hi));
        }
        if let Some(status) = filter.status {
            filters.push("#status = :status");
            req = req
                .expression_attribute_names("#status", STATUS)
                .expression_attribute_values(":status", s(status.as_str()));
        }
        if let Some(integration) = &filter.integration_id {
            filters.push("#integration = :integration");
            req = req
                .expression_attribute_names("#integration", INTEGRATION_ID)
                .expression_attribute_values(":integration", s(integration));
        }
        // Limit counts items read before the filter: read more per page when filtering.
        let read = if filters.is_empty() { limit + 1 } else { (limit + 1).max(100) };
        req = req.limit(i32::try_from(read.min(MAX_PAGE + 1)).unwrap_or(1000));
        if !filters.is_empty() {
            req = req.filter_expression(filters.join(" AND "));
        }

        let mut found: Vec<(String, Execution)> = Vec::new();
        let mut start = None;
        loop {
            let out = req
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query (executions)", e))?;
            for item in out.items() {
                let key = get_s(item, CREATED_KEY).unwrap_or_default().to_string();
                if upper.as_ref() == Some(&key) {
                    continue; // BETWEEN is inclusive; the upper bound is not.
                }
                found.push((key, execution_from_item(item)?));
            }
            start = out.last_evaluated_key;
            if found.len() > limit || start.is_none() {
                break;
            }
        }
        let next_cursor = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|(key, _)| cursor::encode(tenant_id, key))
        } else {
            None
        };
        Ok(Page {
            items: found.into_iter().map(|(_, e)| e).collect(),
            next_cursor,
        })
    }

    async fn claim_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<ClaimOutcome> {
        let now = now();
        let until_ms = lease.until.timestamp_millis();
        let result = self
            .update(
                "DynamoDB UpdateItem (claim)",
                exec_key(tenant_id, execution_id),
                "SET #status = :running, leaseOwner = :owner, leaseUntil = :until, \
                 attempts = if_not_exists(attempts, :zero) + :one, updatedAt = :now",
                "attribute_exists(PK) AND (#status = :queued OR (#status = :running AND \
                 (attribute_not_exists(leaseUntil) OR leaseUntil <= :now_ms)))",
                vec![
                    (":running", s(ExecutionStatus::Running.as_str())),
                    (":queued", s(ExecutionStatus::Queued.as_str())),
                    (":owner", s(&lease.owner)),
                    (":until", super::n(until_ms)),
                    (":zero", super::n(0)),
                    (":one", super::n(1)),
                    (":now", s(ts(&now))),
                    (":now_ms", super::n(now.timestamp_millis())),
                ],
            )
            .await?;
        let old = match result {
            Ok(new) => return Ok(ClaimOutcome::Claimed(Box::new(execution_from_item(&new)?))),
            Err(None) => return Ok(ClaimOutcome::NotFound),
            Err(Some(old)) => old,
        };
        let execution = execution_from_item(&old)?;
        if execution.status.is_terminal() {
            return Ok(ClaimOutcome::Terminal(Box::new(execution)));
        }
        let owner = get_s(&old, LEASE_OWNER);
        let held_until: Option<i64> = get_n(&old, LEASE_UNTIL);
        if owner == Some(lease.owner.as_str()) && held_until == Some(until_ms) {
            // Our own claim, applied by an attempt whose answer was lost and then retried.
            return Ok(ClaimOutcome::Claimed(Box::new(execution)));
        }
        let until = held_until
            .and_then(chrono::DateTime::from_timestamp_millis)
            .unwrap_or(now);
        Ok(ClaimOutcome::Leased { until })
    }

    async fn extend_lease(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<bool> {
        let result = self
            .update(
                "DynamoDB UpdateItem (extend lease)",
                exec_key(tenant_id, execution_id),
                "SET leaseUntil = :until",
                HELD_BY_OWNER,
                vec![
                    (":running", s(ExecutionStatus::Running.as_str())),
                    (":owner", s(&lease.owner)),
                    (":until", super::n(lease.until.timestamp_millis())),
                ],
            )
            .await?;
        Ok(result.is_ok())
    }

    async fn release_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        owner: &str,
        release: &Release,
    ) -> Result<bool> {
        let mut set = vec![
            "#status = :queued",
            "nextAttemptAt = :next",
            "updatedAt = :now",
        ];
        let mut values = vec![
            (":queued", s(ExecutionStatus::Queued.as_str())),
            (":running", s(ExecutionStatus::Running.as_str())),
            (":owner", s(owner)),
            (":next", s(ts(&release.next_attempt_at))),
            (":now", s(ts(&now()))),
        ];
        if let Some(error) = &release.error {
            set.push("#error = :error");
            values.push((":error", s(to_json(error)?)));
        }
        if release.refund_attempt {
            set.push("attempts = attempts - :one");
            values.push((":one", super::n(1)));
        }
        let update = format!("SET {} REMOVE leaseOwner, leaseUntil", set.join(", "));
        let result = self
            .update(
                "DynamoDB UpdateItem (release)",
                exec_key(tenant_id, execution_id),
                &update,
                HELD_BY_OWNER,
                values,
            )
            .await?;
        Ok(result.is_ok())
    }

    async fn complete_execution(
        &self,
        execution: &Execution,
        owner: Option<&str>,
        event: &ResultEvent,
    ) -> Result<bool> {
        let mut values: Vec<(&str, AttributeValue)> = Vec::new();
        let condition = match owner {
            Some(owner) => {
                values.push((":running", s(ExecutionStatus::Running.as_str())));
                values.push((":owner", s(owner)));
                HELD_BY_OWNER
            }
            None => {
                values.extend(status_values());
                NOT_TERMINAL
            }
        };
        let mut state = Put::builder()
            .table_name(&self.table)
            .set_item(Some(execution_item(execution)?))
            .condition_expression(condition)
            .expression_attribute_names("#status", STATUS);
        for (k, v) in values {
            state = state.expression_attribute_values(k, v);
        }
        let state = built("DynamoDB Put", state.build())?;
        let outbox = self.put(
            outbox_item(event, self.outbox_shards, &now())?,
            "attribute_not_exists(PK)",
        )?;
        let mut req = self.client.transact_write_items().set_transact_items(Some(vec![
            TransactWriteItem::builder().put(state).build(),
            TransactWriteItem::builder().put(outbox).build(),
        ]));
        // Makes the SDK's own retry of this write idempotent (DynamoDB remembers the token for
        // ten minutes): a retry after a lost answer succeeds instead of failing the condition.
        if event.event_id.len() <= MAX_REQUEST_TOKEN {
            req = req.client_request_token(&event.event_id);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c))
                    if c.cancellation_reasons().first().and_then(|r| r.code())
                        == Some("ConditionalCheckFailed") =>
                {
                    Ok(false)
                }
                _ => Err(sdk_error("DynamoDB TransactWriteItems (complete)", e)),
            },
        }
    }

    async fn outbox_pending(&self, limit: usize) -> Result<Vec<ResultEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One query per shard, in parallel; each shard's oldest `limit` are enough to find the
        // overall oldest `limit`.
        let mut queries = JoinSet::new();
        for shard in 0..self.outbox_shards {
            queries.spawn(Self::query_shard(
                self.client.clone(),
                self.table.clone(),
                shard,
                limit,
            ));
        }
        let mut events = Vec::new();
        while let Some(joined) = queries.join_next().await {
            let found = joined.map_err(|e| Error::internal(format!("outbox query: {e}")))??;
            events.extend(found);
        }
        events.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(events.into_iter().take(limit).map(|(_, e)| e).collect())
    }

    async fn outbox_remove(&self, event_ids: &[String]) -> Result<()> {
        let mut seen = HashSet::new();
        let ids: Vec<&String> = event_ids.iter().filter(|id| seen.insert(*id)).collect();
        for chunk in ids.chunks(WRITE_BATCH) {
            let mut requests = chunk
                .iter()
                .map(|id| {
                    let delete = built(
                        "DynamoDB DeleteRequest",
                        DeleteRequest::builder()
                            .set_key(Some(outbox_key(id)))
                            .build(),
                    )?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>>>()?;
            // Unprocessed items (throttling) are retried with backoff, as AWS advises.
            for attempt in 0..5u32 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| sdk_error("DynamoDB BatchWriteItem (outbox)", e))?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if requests.is_empty() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            if !requests.is_empty() {
                return Err(Error::backend(format!(
                    "DynamoDB BatchWriteItem (outbox): {} deletion(s) still unprocessed",
                    requests.len()
                )));
            }
        }
        Ok(())
    }
}
