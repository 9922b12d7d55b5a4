//! CallbackStore on DynamoDB, in the executions table.
//!
//! One item per callback: `PK = CALLBACK#<tenantId>#<executionId>`, `SK = CALLBACK`, the whole
//! [`Callback`] as JSON in `callback`, and beside it what conditions and indexes need: `tenantId`
//! (checked on every read), `version` (= `Callback::version`), `createdAt` (tells an execution's
//! callbacks apart when a redriven execution finishes again and replaces it), `leaseOwner` (while
//! leased) and the TTL. While pending, `cbShard` = `CBDUE#<n>` and `cbDue` = [`Callback::due_at`]
//! put it in the sparse `DueCallbacks` index; delivered and failed callbacks leave it.
//!
//! The item is written whole, by `complete` (in its transaction, see `executions/outbox.rs`)
//! and here by PutItem conditioned on the version the writer saw (and, for an attempt, on the
//! lease): the index may be stale, the condition on the base item is the truth. No write reads
//! first, except redelivery.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use integrations_core::backend::{AttemptRecord, CallbackStore, Lease};
use integrations_core::callbacks::{AttemptOutcome, Callback, CallbackAttempt, CallbackStatus};
use integrations_core::model::{now, ResultEvent, Timestamp};
use integrations_core::outbox::OutboxEvent;
use integrations_core::{Error, ErrorKind, Result};
use tokio::task::JoinSet;

use super::exec_item::{outbox_item, shard_of, LEASE_OWNER, PK, SK, STATUS};
use super::{
    get_json, get_s, item_size, n, s, to_json, ts, Item, DUE_CALLBACKS, ITEM_BUDGET, TTL_ATTRIBUTE,
};
use crate::dynamo::query_pages;
use crate::error::{built, sdk_error};
use crate::truncate;

/// DueCallbacks index: partition `CBDUE#<shard>`, sort the due time (`ts`, fixed width).
pub(crate) const CALLBACK_SHARD: &str = "cbShard";
pub(crate) const CALLBACK_DUE: &str = "cbDue";
const CALLBACK: &str = "callback";
const TENANT_ID: &str = "tenantId";
const VERSION: &str = "version";
const CREATED_AT: &str = "createdAt";
/// Room kept free in an item for the attempts recorded after its body was fitted.
const GROWTH_RESERVE: usize = 48 * 1024;
/// A fitted body is this much under its room: what the room does not count (a lease, the next
/// attempt's time, a longer version number) fits in it.
const FIT_SLACK: usize = 4 * 1024;
/// Conditional claims in flight at once.
const CLAIM_WAVE: usize = 25;
/// Attempts recorded at once (each its own conditional write: DynamoDB has no batch of those).
const RECORD_WAVE: usize = 25;
/// Redelivery retries its read-modify-write this often when another write came between.
const REDELIVER_ATTEMPTS: u32 = 5;
/// TransactWriteItems' ClientRequestToken holds at most 36 characters.
const MAX_REQUEST_TOKEN: usize = 36;
/// Written by whoever saw this version of this callback (a claim, a redelivery).
const SAME_VERSION: &str = "#version = :version AND #created = :created";
/// An attempt: the same version, still leased to its deliverer.
const SAME_VERSION_AND_LEASE: &str =
    "#version = :version AND #created = :created AND #owner = :owner";

pub(crate) fn callback_key(tenant_id: &str, execution_id: &str) -> Item {
    Item::from([
        (PK.into(), s(format!("CALLBACK#{tenant_id}#{execution_id}"))),
        (SK.into(), s("CALLBACK")),
    ])
}

pub(crate) fn due_shard(shard: u16) -> String {
    format!("CBDUE#{shard}")
}

/// The item of `c`, fitted to DynamoDB's 400 KB: a body too large has its `data` (the output)
/// cut as the execution's output is (`truncate::fit_callback_body`), leaving room for the
/// attempts to come; should the attempts outgrow that room, the oldest recorded ones go. Only a
/// callback too large without any output or attempt (a huge URL) is refused.
pub(crate) fn callback_item(c: &Callback, shards: u16) -> Result<Item> {
    let item = callback_item_raw(c, shards)?;
    let size = item_size(&item);
    if size <= ITEM_BUDGET {
        return Ok(item);
    }
    let mut fitted = c.clone();
    // The room for the body depends only on what never changes in a callback's life (ids, URL,
    // signer, times), so that every write of it, from any copy, fits its body to the same bytes.
    let bare = Callback {
        body: String::new(),
        attempts: Vec::new(),
        status: CallbackStatus::Pending,
        round_attempts: 0,
        next_attempt_at: None,
        lease: None,
        version: 0,
        updated_at: c.created_at,
        ..c.clone()
    };
    let fixed = item_size(&callback_item_raw(&bare, shards)?);
    let room = ITEM_BUDGET.saturating_sub(fixed + GROWTH_RESERVE);
    // The body is a string inside the callback's JSON: what it costs there is its escaped length.
    if escaped_len(&c.body) > room {
        let goal = room.saturating_sub(FIT_SLACK);
        let mut target = goal;
        fitted.body = loop {
            let body = truncate::fit_callback_body(&c.body, target);
            let over = escaped_len(&body).saturating_sub(goal);
            // Fits, or cannot be cut (no output in it): the loop below decides.
            if over == 0 || target == 0 || body == c.body {
                break body;
            }
            // Escaping made it longer than its length: shrink by the excess.
            target = target.saturating_sub(over + 16);
        };
        tracing::warn!(
            execution_id = %c.execution_id,
            bytes = c.body.len(),
            stored = fitted.body.len(),
            "callback body too large for DynamoDB: its output is delivered truncated"
        );
    }
    loop {
        let item = callback_item_raw(&fitted, shards)?;
        if item_size(&item) <= ITEM_BUDGET {
            return Ok(item);
        }
        if fitted.attempts.is_empty() {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the callback of execution {} is {size} bytes; DynamoDB items are limited \
                     to 400 KB",
                    c.execution_id
                ),
            ));
        }
        fitted.attempts.remove(0);
    }
}

/// The length of `text` as a JSON string.
fn escaped_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(text.len(), |t| t.len())
}

fn callback_item_raw(c: &Callback, shards: u16) -> Result<Item> {
    let mut item = callback_key(&c.tenant_id, &c.execution_id);
    item.extend([
        ("type".into(), s("callback")),
        (TENANT_ID.into(), s(&c.tenant_id)),
        ("executionId".into(), s(&c.execution_id)),
        (STATUS.into(), s(c.status.as_str())),
        (CALLBACK.into(), s(to_json(c)?)),
        (VERSION.into(), n(c.version)),
        (CREATED_AT.into(), s(ts(&c.created_at))),
        (TTL_ATTRIBUTE.into(), n(c.expires_at.timestamp())),
    ]);
    if let Some(lease) = &c.lease {
        item.insert(LEASE_OWNER.into(), s(&lease.owner));
    }
    if let Some(due) = c.due_at() {
        item.insert(
            CALLBACK_SHARD.into(),
            s(due_shard(shard_of(&c.execution_id, shards))),
        );
        item.insert(CALLBACK_DUE.into(), s(ts(&due)));
    }
    Ok(item)
}

fn callback_from_item(item: &Item) -> Result<Callback> {
    get_json(item, CALLBACK)
}

/// The condition's placeholders for a write by whoever saw `seen`.
fn seen_values(seen: &Callback) -> Vec<(&'static str, AttributeValue)> {
    vec![
        (":version", n(seen.version)),
        (":created", s(ts(&seen.created_at))),
    ]
}

const NAMES: &[(&str, &str)] = &[("#version", VERSION), ("#created", CREATED_AT)];

#[derive(Debug, Clone)]
pub struct DynamoCallbacks {
    client: Client,
    table: String,
    shards: u16,
}

impl DynamoCallbacks {
    /// `shards`: partitions of the DueCallbacks index (the outbox's count, `outbox_shards`).
    pub fn new(client: Client, table: impl Into<String>, shards: u16) -> Self {
        Self {
            client,
            table: table.into(),
            shards: shards.max(1),
        }
    }

    /// PutItem of `item` under `condition`. False when the condition fails, unless what is
    /// stored is this very item: the SDK's retry of a write whose first answer was lost.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        owner: Option<&str>,
        values: Vec<(&str, AttributeValue)>,
        what: &str,
    ) -> Result<bool> {
        let written = item.get(CALLBACK).cloned();
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in NAMES {
            req = req.expression_attribute_names(*k, *v);
        }
        if let Some(owner) = owner {
            req = req
                .expression_attribute_names("#owner", LEASE_OWNER)
                .expression_attribute_values(":owner", s(owner));
        }
        for (k, v) in values {
            req = req.expression_attribute_values(k, v);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let stored = c.item().and_then(|old| old.get(CALLBACK));
                    Ok(stored.is_some() && stored == written.as_ref())
                }
                _ => Err(sdk_error(what, e)),
            },
        }
    }

    /// The attempt and the `CallbackFailed` event in one TransactWriteItems.
    async fn put_with_event(
        &self,
        item: Item,
        seen: &Callback,
        owner: &str,
        event: &ResultEvent,
    ) -> Result<bool> {
        let mut values = seen_values(seen);
        values.push((":owner", s(owner)));
        let mut names: Vec<(&str, &str)> = NAMES.to_vec();
        names.push(("#owner", LEASE_OWNER));
        let put = built(
            "DynamoDB Put",
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(SAME_VERSION_AND_LEASE)
                .set_expression_attribute_names(Some(
                    names
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ))
                .set_expression_attribute_values(Some(
                    values
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                ))
                .build(),
        )?;
        let outbox = built(
            "DynamoDB Put",
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(outbox_item(
                    &OutboxEvent::Result(event.clone()),
                    self.shards,
                    &now(),
                )?))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?;
        let mut req = self
            .client
            .transact_write_items()
            .set_transact_items(Some(vec![
                TransactWriteItem::builder().put(put).build(),
                TransactWriteItem::builder().put(outbox).build(),
            ]));
        // As in `complete`: the SDK's retry after a lost answer succeeds instead of failing.
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
                _ => Err(sdk_error(
                    "DynamoDB TransactWriteItems (callback failed)",
                    e,
                )),
            },
        }
    }

    /// Claim `c` (as the index showed it) under `lease`, if it is still that version.
    async fn claim_one(self, mut c: Callback, lease: Lease) -> Result<Option<Callback>> {
        let seen = seen_values(&c);
        c.claim(lease);
        let item = callback_item(&c, self.shards)?;
        let claimed = self
            .put_if(
                item,
                SAME_VERSION,
                None,
                seen,
                "DynamoDB PutItem (claim callback)",
            )
            .await?;
        Ok(claimed.then_some(c))
    }
}

/// The oldest `limit` callbacks of one shard of DueCallbacks due at `now`, with their due keys.
async fn query_due(
    client: Client,
    table: String,
    shard: u16,
    now: String,
    limit: usize,
) -> Result<Vec<(String, Callback)>> {
    let req = client
        .query()
        .table_name(table)
        .index_name(DUE_CALLBACKS)
        .key_condition_expression("#shard = :shard AND #due <= :now")
        .expression_attribute_names("#shard", CALLBACK_SHARD)
        .expression_attribute_names("#due", CALLBACK_DUE)
        .expression_attribute_values(":shard", s(due_shard(shard)))
        .expression_attribute_values(":now", s(now))
        .scan_index_forward(true);
    query_pages(
        req,
        CALLBACK_DUE,
        limit,
        "DynamoDB Query (due callbacks)",
        callback_from_item,
    )
    .await
}

#[async_trait]
impl CallbackStore for DynamoCallbacks {
    async fn get_callback(&self, tenant_id: &str, execution_id: &str) -> Result<Option<Callback>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(callback_key(tenant_id, execution_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem (callback)", e))?;
        match out.item {
            Some(item) if get_s(&item, TENANT_ID) == Some(tenant_id) => {
                callback_from_item(&item).map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn claim_due_callbacks(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Callback>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One query per shard, in parallel; each shard's soonest `limit` are enough.
        let mut queries = JoinSet::new();
        for shard in 0..self.shards {
            let (client, table) = (self.client.clone(), self.table.clone());
            queries.spawn(query_due(client, table, shard, ts(&now), limit));
        }
        let mut due = Vec::new();
        while let Some(joined) = queries.join_next().await {
            due.extend(joined.map_err(|e| Error::internal(format!("callback query: {e}")))??);
        }
        due.sort_by(|a, b| a.0.cmp(&b.0));
        let mut candidates = due
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| c.due_at().is_some_and(|d| d <= now));

        // Claim in the order due, a wave at a time, until `limit` are claimed: a candidate whose
        // version changed since the index saw it (claimed by another, attempted, redelivered)
        // fails its condition and is skipped.
        let mut claimed = Vec::new();
        let mut failure = None;
        while claimed.len() < limit {
            let wave: Vec<Callback> = candidates
                .by_ref()
                .take((limit - claimed.len()).min(CLAIM_WAVE))
                .collect();
            if wave.is_empty() {
                break;
            }
            let mut puts = JoinSet::new();
            for (i, c) in wave.into_iter().enumerate() {
                let claim = self.clone().claim_one(c, lease.clone());
                puts.spawn(async move { (i, claim.await) });
            }
            let mut results = Vec::new();
            while let Some(joined) = puts.join_next().await {
                results.push(joined.map_err(|e| Error::internal(format!("callback claim: {e}")))?);
            }
            results.sort_by_key(|(i, _)| *i);
            for (_, result) in results {
                match result {
                    Ok(Some(c)) => claimed.push(c),
                    Ok(None) => {}
                    Err(e) => {
                        failure.get_or_insert(e);
                    }
                }
            }
            if failure.is_some() {
                break;
            }
        }
        match failure {
            // What was claimed is leased to us: hand it over rather than leave it to lapse.
            Some(e) if claimed.is_empty() => Err(e),
            Some(e) => {
                tracing::warn!(error = %e, claimed = claimed.len(), "some callback claims failed");
                Ok(claimed)
            }
            None => Ok(claimed),
        }
    }

    async fn record_callback_attempt(
        &self,
        callback: &Callback,
        attempt: &CallbackAttempt,
        outcome: &AttemptOutcome,
        failed_event: Option<&ResultEvent>,
    ) -> Result<bool> {
        let Some(lease) = callback.lease.as_ref() else {
            return Ok(false);
        };
        if !callback.leased_by(lease) {
            return Ok(false);
        }
        let owner = lease.owner.clone();
        let mut next = callback.clone();
        next.apply_attempt(attempt.clone(), outcome);
        let item = callback_item(&next, self.shards)?;
        match (outcome, failed_event) {
            (AttemptOutcome::Failed, Some(event)) => {
                self.put_with_event(item, callback, &owner, event).await
            }
            _ => {
                self.put_if(
                    item,
                    SAME_VERSION_AND_LEASE,
                    Some(&owner),
                    seen_values(callback),
                    "DynamoDB PutItem (callback attempt)",
                )
                .await
            }
        }
    }

    /// A wave of concurrent writes at a time. One conditional write after another would
    /// bound a deliverer to one round trip per callback: under load its attempts would wait to
    /// be recorded until their leases ran out, and another deliverer would send them again.
    async fn record_callback_attempts(&self, records: &[AttemptRecord]) -> Result<Vec<bool>> {
        let mut recorded = Vec::with_capacity(records.len());
        for wave in records.chunks(RECORD_WAVE) {
            let writes = wave.iter().map(|r| {
                self.record_callback_attempt(
                    &r.callback,
                    &r.attempt,
                    &r.outcome,
                    r.failed_event.as_ref(),
                )
            });
            for written in futures::future::join_all(writes).await {
                recorded.push(written?);
            }
        }
        Ok(recorded)
    }

    async fn redeliver_callback(
        &self,
        tenant_id: &str,
        execution_id: &str,
        now: Timestamp,
    ) -> Result<Option<Callback>> {
        for _ in 0..REDELIVER_ATTEMPTS {
            let Some(mut c) = self.get_callback(tenant_id, execution_id).await? else {
                return Ok(None);
            };
            let seen = seen_values(&c);
            c.redeliver(now);
            let item = callback_item(&c, self.shards)?;
            let stored = self
                .put_if(
                    item,
                    SAME_VERSION,
                    None,
                    seen,
                    "DynamoDB PutItem (redeliver callback)",
                )
                .await?;
            if stored {
                return Ok(Some(c));
            }
        }
        Err(Error::backend(format!(
            "the callback of execution {execution_id} changed during {REDELIVER_ATTEMPTS} \
             redelivery attempts; try again"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use integrations_core::callbacks::CallbackPayload;
    use integrations_core::model::{Execution, ExecutionStatus};
    use serde_json::json;

    fn callback(output: serde_json::Value, lease: Option<Lease>) -> Callback {
        let t = now();
        let e = Execution {
            execution_id: "01HX".into(),
            tenant_id: "t1".into(),
            connection_id: "c1".into(),
            integration_id: "ghn".into(),
            action_id: "create_order".into(),
            status: ExecutionStatus::Succeeded,
            input: json!({}),
            output: Some(output),
            error: None,
            attempts: 1,
            latency_ms: Some(12),
            caller_service: Some("flows".into()),
            caller_ref: None,
            callback_url: Some("https://example.com/cb".into()),
            idempotency_key: None,
            next_attempt_at: None,
            created_at: t,
            updated_at: t,
            finished_at: Some(t),
            expires_at: t + chrono::Duration::days(30),
        };
        let body = CallbackPayload::of(&e).to_json();
        Callback::new(
            "t1",
            "01HX",
            "https://example.com/cb",
            Some("flows"),
            body,
            t,
            lease,
        )
    }

    #[test]
    fn callbacks_round_trip_and_carry_the_due_keys_while_pending() {
        let lease = Lease {
            owner: "w".into(),
            until: now() + chrono::Duration::seconds(30),
        };
        let c = callback(json!({"fee": 1}), Some(lease.clone()));
        let item = callback_item(&c, 4).expect("item");
        assert_eq!(callback_from_item(&item).expect("parse"), c);
        assert_eq!(get_s(&item, CALLBACK_DUE), Some(ts(&lease.until).as_str()));
        assert!(get_s(&item, CALLBACK_SHARD).is_some_and(|s| s.starts_with("CBDUE#")));
        assert_eq!(get_s(&item, LEASE_OWNER), Some("w"));

        let mut done = c.clone();
        done.apply_attempt(
            CallbackAttempt {
                at: now(),
                status_code: Some(204),
                duration_ms: 3,
                error: None,
            },
            &AttemptOutcome::Delivered,
        );
        assert_eq!(done.status, CallbackStatus::Delivered);
        let item = callback_item(&done, 4).expect("item");
        assert!(!item.contains_key(CALLBACK_DUE) && !item.contains_key(CALLBACK_SHARD));
        assert!(!item.contains_key(LEASE_OWNER));
    }

    #[test]
    fn a_huge_output_leaves_the_callback_item_under_the_limit_with_room_for_attempts() {
        let c = callback(json!({"report": "é\"".repeat(400_000)}), None);
        assert!(c.body.len() > 1_000_000);
        let item = callback_item(&c, 4).expect("never refused for a large output");
        assert!(item_size(&item) + GROWTH_RESERVE <= ITEM_BUDGET);
        let stored = callback_from_item(&item).expect("parse");
        let payload: serde_json::Value = serde_json::from_str(&stored.body).expect("JSON body");
        assert_eq!(payload["data"][truncate::TRUNCATED_FLAG], json!(true));
        assert_eq!(payload["executionId"], json!("01HX"));
        assert_eq!(stored.webhook_id, c.webhook_id);

        // Any copy of it, with the full body, fits to the same bytes (a deliverer's born copy).
        let mut leased = c.clone();
        leased.claim(Lease {
            owner: "worker-with-a-long-name-01J0000000000000000000000".into(),
            until: now(),
        });
        let mut attempted = c.clone();
        attempted.apply_attempt(
            CallbackAttempt {
                at: now(),
                status_code: Some(500),
                duration_ms: 3,
                error: Some("receiver answered 500".into()),
            },
            &AttemptOutcome::RetryAt(now()),
        );
        for copy in [leased, attempted] {
            let item = callback_item(&copy, 4).expect("item");
            assert_eq!(callback_from_item(&item).expect("parse").body, stored.body);
        }

        // Every attempt of the record fits, and the fitted body is never cut again.
        let mut later = stored.clone();
        for i in 0..integrations_core::callbacks::MAX_RECORDED_ATTEMPTS + 5 {
            later.apply_attempt(
                CallbackAttempt {
                    at: now(),
                    status_code: None,
                    duration_ms: 30_000,
                    error: Some(format!("connect timed out {i}: {}", "x".repeat(200))),
                },
                &AttemptOutcome::RetryAt(now()),
            );
            let item = callback_item(&later, 4).expect("item");
            assert!(item_size(&item) <= ITEM_BUDGET);
            assert_eq!(callback_from_item(&item).expect("parse").body, stored.body);
        }
    }

    #[test]
    fn attempts_beyond_the_room_drop_the_oldest() {
        let mut c = callback(json!({"report": "x".repeat(1_000_000)}), None);
        c.body = callback_from_item(&callback_item(&c, 4).expect("item"))
            .expect("parse")
            .body;
        for i in 0..50 {
            c.attempts.push(CallbackAttempt {
                at: now(),
                status_code: None,
                duration_ms: 1,
                error: Some(format!("{i} {}", "e".repeat(4_000))),
            });
        }
        let item = callback_item(&c, 4).expect("item");
        assert!(item_size(&item) <= ITEM_BUDGET);
        let stored = callback_from_item(&item).expect("parse");
        assert_eq!(stored.body, c.body);
        assert!(stored.attempts.len() < 50);
        assert_eq!(
            stored.attempts.last(),
            c.attempts.last(),
            "the newest are kept"
        );
    }
}
