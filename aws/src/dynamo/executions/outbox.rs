//! Completion and the result-event outbox.
//!
//! `complete` is one TransactWriteItems: an Update of the execution's terminal fields,
//! conditioned on the lease (or on not being terminal), a Put of the outbox item
//! `PK = OUTBOX#<eventId>` and, when the execution asked for one, a Put of its callback item
//! (replacing the callback of an earlier completion: a redriven execution finishing again). Outbox items carry the sparse PendingEvents index's keys
//! (`outboxShard` = `OUTBOX#<0..shards>`, `outboxKey` = `<written at>#<eventId>`), so pending
//! events are found without scanning, and removing published ones is a BatchWriteItem of
//! deletes by key (25 per request), with no read first.
//!
//! Relays claim events before publishing them: `claimOwner` / `claimableAt` on the outbox item,
//! set by one conditional UpdateItem per event (the item still exists and nobody holds it), after
//! a query of the index for candidates; the index may still list removed events, which the
//! condition refuses. An event of the engine is born claimed by its relay (in the completion's
//! Put).

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use integrations_core::backend::Lease;
use integrations_core::completion::Completion;
use integrations_core::model::{now, Execution, ExecutionStatus, Timestamp};
use integrations_core::outbox::OutboxEvent;
use integrations_core::{Error, Result};
use tokio::task::JoinSet;

use super::{Change, DynamoExecutions};
use crate::dynamo::callbacks::callback_item;
use crate::dynamo::exec_item::{
    event_from_item, exec_key, execution_item, outbox_item, outbox_key, outbox_shard, ATTEMPTS,
    ERROR, NEXT_ATTEMPT_AT, OUTBOX_KEY, OUTBOX_SHARD, OUTPUT_TRUNCATED, STATUS, UPDATED_AT,
};
use crate::dynamo::{query_pages, s, ts, Item, PENDING_EVENTS};
use crate::error::{built, sdk_error};

/// Who holds an outbox event, and until when (a timestamp, compared as text).
const CLAIM_OWNER: &str = "claimOwner";
const CLAIMABLE_AT: &str = "claimableAt";
/// Claims sent at once by a sweep.
const CLAIMS_IN_FLIGHT: usize = 16;
/// BatchWriteItem's limit.
const WRITE_BATCH: usize = 25;
const REMOVE_ATTEMPTS: u32 = 5;
/// TransactWriteItems' ClientRequestToken holds at most 36 characters.
const MAX_REQUEST_TOKEN: usize = 36;
/// What a completion writes; the fields set at creation stay as stored.
const TERMINAL_FIELDS: &[&str] = &[
    "output",
    OUTPUT_TRUNCATED,
    ERROR,
    ATTEMPTS,
    "latencyMs",
    NEXT_ATTEMPT_AT,
    UPDATED_AT,
    "finishedAt",
];

impl DynamoExecutions {
    pub(super) async fn complete(
        &self,
        completion: &Completion,
        owner: Option<&str>,
    ) -> Result<bool> {
        let Completion {
            execution,
            event,
            callback,
            event_claim,
        } = completion;
        let state = self.terminal_update(execution, owner)?;
        let mut item = outbox_item(
            &OutboxEvent::Result(event.clone()),
            self.outbox_shards,
            &now(),
        )?;
        if let Some(claim) = event_claim {
            born_claimed(&mut item, claim);
        }
        let outbox = built(
            "DynamoDB Put",
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let mut items = vec![
            TransactWriteItem::builder().update(state).build(),
            TransactWriteItem::builder().put(outbox).build(),
        ];
        if let Some(callback) = callback {
            // Unconditional: it replaces the callback of an earlier completion, if any.
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(callback_item(callback, self.outbox_shards)?))
                .build();
            items.push(
                TransactWriteItem::builder()
                    .put(built("DynamoDB Put", put)?)
                    .build(),
            );
        }
        let mut req = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items));
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

    /// The Update that stores the terminal fields and clears the lease, conditioned on the lease
    /// (with an owner) or on the execution not being terminal yet (without).
    fn terminal_update(&self, execution: &Execution, owner: Option<&str>) -> Result<Update> {
        // The whole item, for its attribute encoding and the output's size check.
        let item = execution_item(execution, self.listing_shards)?;
        let mut set = vec!["#status = :status".to_string()];
        let mut remove = vec!["leaseOwner".to_string(), "leaseUntil".to_string()];
        let mut names: Vec<(String, String)> = vec![("#status".into(), STATUS.into())];
        let mut values: Vec<(String, AttributeValue)> =
            vec![(":status".into(), s(execution.status.as_str()))];
        for (i, field) in TERMINAL_FIELDS.iter().enumerate() {
            let name = format!("#f{i}");
            names.push((name.clone(), (*field).to_string()));
            match item.get(*field) {
                Some(v) => {
                    set.push(format!("{name} = :f{i}"));
                    values.push((format!(":f{i}"), v.clone()));
                }
                None => remove.push(name),
            }
        }
        let condition = match owner {
            Some(owner) => {
                values.push((":running".into(), s(ExecutionStatus::Running.as_str())));
                values.push((":owner".into(), s(owner)));
                "#status = :running AND leaseOwner = :owner"
            }
            None => {
                for status in [
                    ExecutionStatus::Succeeded,
                    ExecutionStatus::Failed,
                    ExecutionStatus::TimedOut,
                    ExecutionStatus::DeadLettered,
                ] {
                    values.push((format!(":{}", status.as_str()), s(status.as_str())));
                }
                "attribute_exists(PK) AND NOT (#status IN \
                 (:succeeded, :failed, :timed_out, :dead_lettered))"
            }
        };
        built(
            "DynamoDB Update",
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(exec_key(
                    &execution.tenant_id,
                    &execution.execution_id,
                )))
                .update_expression(format!(
                    "SET {} REMOVE {}",
                    set.join(", "),
                    remove.join(", ")
                ))
                .condition_expression(condition)
                .set_expression_attribute_names(Some(names.into_iter().collect()))
                .set_expression_attribute_values(Some(values.into_iter().collect()))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::None)
                .build(),
        )
    }

    pub(super) async fn pending(&self, limit: usize) -> Result<Vec<OutboxEvent>> {
        self.listed(limit, None).await
    }

    /// The oldest `limit` events the index lists (with `claimable_at`, only those nobody holds
    /// then, as far as the index knows).
    async fn listed(
        &self,
        limit: usize,
        claimable_at: Option<&Timestamp>,
    ) -> Result<Vec<OutboxEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One query per shard, in parallel; each shard's oldest `limit` are enough to find the
        // overall oldest `limit`.
        let mut queries = JoinSet::new();
        for shard in 0..self.outbox_shards {
            let (client, table) = (self.client.clone(), self.table.clone());
            let at = claimable_at.map(ts);
            queries.spawn(query_shard(client, table, shard, limit, at));
        }
        let mut events = Vec::new();
        while let Some(joined) = queries.join_next().await {
            events.extend(joined.map_err(|e| Error::internal(format!("outbox query: {e}")))??);
        }
        events.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(events.into_iter().take(limit).map(|(_, e)| e).collect())
    }

    pub(super) async fn claim_events(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>> {
        let candidates = self.listed(limit, Some(&now)).await?;
        let (now, until) = (ts(&now), ts(&lease.until));
        // In parallel, a few at a time; answered oldest first, as the trait promises.
        let mut claims = JoinSet::new();
        let mut claimed = Vec::new();
        for (i, event) in candidates.into_iter().enumerate() {
            if claims.len() >= CLAIMS_IN_FLIGHT {
                claimed.extend(joined(claims.join_next().await)?);
            }
            let (store, owner, until, now) = (
                self.clone(),
                lease.owner.clone(),
                until.clone(),
                now.clone(),
            );
            claims.spawn(async move {
                let change = Change {
                    what: "DynamoDB UpdateItem (outbox claim)",
                    update: "SET #owner = :owner, #at = :until",
                    condition: "attribute_exists(PK) AND \
                                (attribute_not_exists(#at) OR #at <= :now)",
                    names: &[("#owner", CLAIM_OWNER), ("#at", CLAIMABLE_AT)],
                    values: vec![(":owner", s(owner)), (":until", s(until)), (":now", s(now))],
                    returns: ReturnValue::None,
                };
                let won = store.update(outbox_key(event.event_id()), change).await?;
                Ok(won.is_ok().then_some((i, event)))
            });
        }
        while let Some(done) = claims.join_next().await {
            claimed.extend(joined(Some(done))?);
        }
        claimed.sort_by_key(|(i, _)| *i);
        Ok(claimed.into_iter().map(|(_, e)| e).collect())
    }

    pub(super) async fn remove(&self, event_ids: &[String]) -> Result<()> {
        let mut seen = HashSet::new();
        let ids: Vec<&String> = event_ids.iter().filter(|id| seen.insert(*id)).collect();
        for chunk in ids.chunks(WRITE_BATCH) {
            let mut requests = chunk
                .iter()
                .map(|id| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(outbox_key(id)))
                        .build();
                    Ok(WriteRequest::builder()
                        .delete_request(built("DynamoDB DeleteRequest", delete)?)
                        .build())
                })
                .collect::<Result<Vec<_>>>()?;
            // Unprocessed items (throttling) are retried with backoff, as AWS advises.
            for attempt in 0..REMOVE_ATTEMPTS {
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

/// Make a new outbox item born held by `claim` (the relay of the process that writes it).
pub(crate) fn born_claimed(item: &mut Item, claim: &Lease) {
    item.insert(CLAIM_OWNER.into(), s(&claim.owner));
    item.insert(CLAIMABLE_AT.into(), s(ts(&claim.until)));
}

type ClaimAnswer = Result<Option<(usize, OutboxEvent)>>;

/// The answer of one claim task (None: no task was left).
fn joined(
    done: Option<std::result::Result<ClaimAnswer, tokio::task::JoinError>>,
) -> Result<Option<(usize, OutboxEvent)>> {
    match done {
        Some(answer) => answer.map_err(|e| Error::internal(format!("outbox claim: {e}")))?,
        None => Ok(None),
    }
}

/// The oldest `limit` pending events of one shard (with `claimable_at`, those nobody holds
/// then), with their sort keys.
async fn query_shard(
    client: Client,
    table: String,
    shard: u16,
    limit: usize,
    claimable_at: Option<String>,
) -> Result<Vec<(String, OutboxEvent)>> {
    let mut req = client
        .query()
        .table_name(table)
        .index_name(PENDING_EVENTS)
        .key_condition_expression("#shard = :shard")
        .expression_attribute_names("#shard", OUTBOX_SHARD)
        .expression_attribute_values(":shard", s(outbox_shard(shard)))
        .scan_index_forward(true);
    if let Some(at) = claimable_at {
        req = req
            .filter_expression("attribute_not_exists(#at) OR #at <= :now")
            .expression_attribute_names("#at", CLAIMABLE_AT)
            .expression_attribute_values(":now", s(at));
    }
    query_pages(
        req,
        OUTBOX_KEY,
        limit,
        "DynamoDB Query (pending events)",
        event_from_item,
    )
    .await
}
