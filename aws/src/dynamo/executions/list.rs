//! Listing executions, newest first, from ExecutionsByTenantShard (or ExecutionsByConnectionShard
//! with a connection filter).
//!
//! A tenant's executions are spread over `listing_shards` index partitions (the shard is a hash
//! of the execution id), so that no single partition takes all of a large tenant's writes. Both
//! indexes sort by `createdKey` = `<createdAt, nine fractional digits>#<executionId>`: unique,
//! time-ordered with ties broken by id, and usable as a range bound. The time window and the
//! cursor become one key condition on it; status and integration are filters.
//!
//! A page is a merge: every shard is queried (in parallel) for a few items below the position,
//! and a shard is read further only while its unread part could still hold one of the page's
//! items (its frontier, the last key DynamoDB evaluated in it, is above the page's last item).
//! The items at or above the highest frontier of the shards not yet exhausted are final, in
//! order. Indexes are eventually consistent: on AWS an execution shows in listings a moment
//! after its creation (reads by id are strongly consistent).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use integrations_core::backend::{ExecutionFilter, Page};
use integrations_core::model::Execution;
use integrations_core::{Error, Result};
use tokio::task::JoinSet;

use super::DynamoExecutions;
use crate::dynamo::cursor::{self, Position};
use crate::dynamo::exec_item::{
    connection_shard, execution_from_item, tenant_shard, CONNECTION_SHARD, CREATED_KEY,
    INTEGRATION_ID, STATUS, TENANT_SHARD,
};
use crate::dynamo::{get_s, s, ts, Item, EXECUTIONS_BY_CONNECTION, EXECUTIONS_BY_TENANT};
use crate::error::sdk_error;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;
/// Items a shard reads at least per query when a filter may drop some (Limit counts items
/// before filtering).
const FILTERED_READ: usize = 25;
/// Shard queries sent at once: a listing of many shards must not open hundreds of connections.
const QUERIES_IN_FLIGHT: usize = 32;

/// One shard's progress within a page.
struct Shard {
    id: u16,
    /// What the query left off at (None: not queried yet, or exhausted).
    next: Option<Item>,
    /// The `createdKey` of the last item evaluated: everything of this shard at or above it has
    /// been seen. None before the first query.
    frontier: Option<String>,
    exhausted: bool,
    read: usize,
}

impl DynamoExecutions {
    pub(super) async fn list(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>> {
        let limit = match filter.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let position = filter
            .cursor
            .as_deref()
            .map(|c| cursor::decode(tenant_id, c))
            .transpose()?
            .unwrap_or_default();
        let lower = filter.start.as_ref().map(ts);
        // Newest first: both the end of the range and the cursor are exclusive upper bounds.
        let upper = [filter.end.as_ref().map(ts), Some(position.key.clone())]
            .into_iter()
            .flatten()
            .filter(|k| !k.is_empty())
            .min();
        if let (Some(lo), Some(hi)) = (&lower, &upper) {
            if lo >= hi {
                return Ok(empty());
            }
        }
        let query = self.query(tenant_id, filter, lower.as_deref(), upper.as_deref());
        let filtered = filter.status.is_some() || filter.integration_id.is_some();
        let done: BTreeSet<u16> = position.done.iter().copied().collect();
        let first_read = ((limit + 1) * 2)
            .div_ceil(usize::from(self.listing_shards))
            .max(if filtered { FILTERED_READ } else { 2 })
            .min(MAX_PAGE + 1);
        let mut shards: Vec<Shard> = (0..self.listing_shards)
            .filter(|id| !done.contains(id))
            .map(|id| Shard {
                id,
                next: None,
                frontier: None,
                exhausted: false,
                read: first_read,
            })
            .collect();
        let mut found: Vec<(String, u16, Execution)> = Vec::new();
        loop {
            found.sort_by(|a, b| b.0.cmp(&a.0));
            // Shards whose unread part may hold one of the page's items: every one not yet
            // exhausted until the page is full, then those with a frontier above its last item.
            let threshold = found.get(limit).map(|f| f.0.clone());
            let wanted: Vec<usize> = (0..shards.len())
                .filter(|&i| {
                    let sh = &shards[i];
                    !sh.exhausted
                        && match (&threshold, &sh.frontier) {
                            (Some(t), Some(f)) => f > t,
                            _ => true,
                        }
                })
                .collect();
            if wanted.is_empty() {
                break;
            }
            for wave in wanted.chunks(QUERIES_IN_FLIGHT) {
                let mut queries = JoinSet::new();
                for &i in wave {
                    let sh = &shards[i];
                    let req = query
                        .clone()
                        .expression_attribute_values(
                            ":pk",
                            s(self.partition(tenant_id, filter, sh.id)),
                        )
                        .limit(i32::try_from(sh.read).unwrap_or(i32::MAX))
                        .set_exclusive_start_key(sh.next.clone());
                    queries.spawn(async move { (i, req.send().await) });
                }
                while let Some(joined) = queries.join_next().await {
                    let (i, out) = joined.map_err(|e| Error::internal(format!("listing: {e}")))?;
                    let out = out.map_err(|e| sdk_error("DynamoDB Query (executions)", e))?;
                    let sh = &mut shards[i];
                    for item in out.items() {
                        let key = get_s(item, CREATED_KEY).unwrap_or_default().to_string();
                        if upper.as_ref() == Some(&key) {
                            continue; // BETWEEN is inclusive; the upper bound is not.
                        }
                        found.push((key, sh.id, execution_from_item(item)?));
                    }
                    sh.frontier = out
                        .last_evaluated_key()
                        .and_then(|k| get_s(k, CREATED_KEY))
                        .map(str::to_string);
                    sh.exhausted = out.last_evaluated_key.is_none();
                    sh.next = out.last_evaluated_key;
                    sh.read = (sh.read * 2).min(MAX_PAGE + 1);
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let next_cursor = if found.len() > limit {
            // Done: shards exhausted with nothing read beyond the page.
            let beyond: BTreeSet<u16> = found[limit..].iter().map(|f| f.1).collect();
            found.truncate(limit);
            let mut done = done;
            done.extend(
                shards
                    .iter()
                    .filter(|sh| sh.exhausted && !beyond.contains(&sh.id))
                    .map(|sh| sh.id),
            );
            found.last().map(|(key, _, _)| {
                let position = Position {
                    key: key.clone(),
                    done: done.into_iter().collect(),
                };
                cursor::encode(tenant_id, &position)
            })
        } else {
            None
        };
        Ok(Page {
            items: found.into_iter().map(|(_, _, e)| e).collect(),
            next_cursor,
        })
    }

    /// The query of every shard of the listing, but the partition (`:pk`) and paging.
    fn query(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
        lower: Option<&str>,
        upper: Option<&str>,
    ) -> QueryFluentBuilder {
        let (index, partition) = match &filter.connection_id {
            Some(_) => (EXECUTIONS_BY_CONNECTION, CONNECTION_SHARD),
            None => (EXECUTIONS_BY_TENANT, TENANT_SHARD),
        };
        let key_condition = match (lower, upper) {
            (Some(_), Some(_)) => "#pk = :pk AND #ck BETWEEN :lo AND :hi",
            (None, Some(_)) => "#pk = :pk AND #ck < :hi",
            (Some(_), None) => "#pk = :pk AND #ck >= :lo",
            (None, None) => "#pk = :pk",
        };
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(key_condition)
            .expression_attribute_names("#pk", partition)
            .scan_index_forward(false);
        if lower.is_some() || upper.is_some() {
            req = req.expression_attribute_names("#ck", CREATED_KEY);
        }
        if let Some(lo) = lower {
            req = req.expression_attribute_values(":lo", s(lo));
        }
        if let Some(hi) = upper {
            req = req.expression_attribute_values(":hi", s(hi));
        }
        // The partition names the tenant already; the filter makes sure of it whatever the ids
        // contain (a tenant id with `#CONNECTION#` in it must not reach another's partition).
        let mut filters = vec!["#tenant = :tenant"];
        req = req
            .expression_attribute_names("#tenant", "tenantId")
            .expression_attribute_values(":tenant", s(tenant_id));
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
        req.filter_expression(filters.join(" AND "))
    }

    /// The index partition of one shard of the listing.
    fn partition(&self, tenant_id: &str, filter: &ExecutionFilter, shard: u16) -> String {
        match &filter.connection_id {
            Some(c) => connection_shard(tenant_id, c, shard),
            None => tenant_shard(tenant_id, shard),
        }
    }
}

fn empty() -> Page<Execution> {
    Page {
        items: Vec::new(),
        next_cursor: None,
    }
}
