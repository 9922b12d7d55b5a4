//! A page of a listing spread over index shards, newest first: executions
//! (`executions/list.rs`) and provider events (`webhooks.rs`) both list this way.
//!
//! A tenant's items are spread over `shards` index partitions (the shard is a hash of the item's
//! id), so that no single partition takes all of a large tenant's writes. The index sorts by a
//! unique, time-ordered key (`<time, nine fractional digits>#<id>`), usable as a range bound: the
//! time window and the cursor become one key condition on it; other filters are filter
//! expressions.
//!
//! A page is a merge: every shard is queried (in parallel) for a few items below the position,
//! and a shard is read further only while its unread part could still hold one of the page's
//! items (its frontier, the last key DynamoDB evaluated in it, is above the page's last item).
//! The items at or above the highest frontier of the shards not yet exhausted are final, in
//! order. Indexes are eventually consistent: on AWS an item shows in listings a moment after its
//! write (reads by id are strongly consistent).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::Client;
use integrations_core::backend::Page;
use integrations_core::model::Timestamp;
use integrations_core::{Error, Result};
use tokio::task::JoinSet;

use crate::dynamo::cursor::{self, Position};
use crate::dynamo::{get_s, s, ts, Item};
use crate::error::sdk_error;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;
/// Items a shard reads at least per query when a filter may drop some (Limit counts items
/// before filtering).
const FILTERED_READ: usize = 25;
/// Shard queries sent at once: a listing of many shards must not open hundreds of connections.
const QUERIES_IN_FLIGHT: usize = 32;

/// One listing request over an index's shards.
pub(crate) struct Listing<'a> {
    pub client: &'a Client,
    pub table: &'a str,
    pub index: &'static str,
    /// The index's partition and sort attributes.
    pub partition_attr: &'static str,
    pub sort_attr: &'static str,
    pub shards: u16,
    pub tenant_id: &'a str,
    /// At or after / before, on the sort key's time.
    pub start: Option<&'a Timestamp>,
    pub end: Option<&'a Timestamp>,
    pub limit: usize,
    pub cursor: Option<&'a str>,
    pub what: &'static str,
}

/// One shard's progress within a page.
struct Shard {
    id: u16,
    /// What the query left off at (None: not queried yet, or exhausted).
    next: Option<Item>,
    /// The sort key of the last item evaluated: everything of this shard at or above it has
    /// been seen. None before the first query.
    frontier: Option<String>,
    exhausted: bool,
    read: usize,
}

impl Listing<'_> {
    /// The page: `partition` names each shard's partition, `filter` adds filter expressions to
    /// the query (and says whether it did), `parse` reads an item.
    pub(crate) async fn page<T>(
        &self,
        partition: impl Fn(u16) -> String,
        filter: impl FnOnce(QueryFluentBuilder) -> (QueryFluentBuilder, bool),
        parse: impl Fn(&Item) -> Result<T>,
    ) -> Result<Page<T>> {
        let limit = match self.limit {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let position = self
            .cursor
            .map(|c| cursor::decode(self.tenant_id, c))
            .transpose()?
            .unwrap_or_default();
        let lower = self.start.map(ts);
        // Newest first: both the end of the range and the cursor are exclusive upper bounds.
        let upper = [self.end.map(ts), Some(position.key.clone())]
            .into_iter()
            .flatten()
            .filter(|k| !k.is_empty())
            .min();
        if let (Some(lo), Some(hi)) = (&lower, &upper) {
            if lo >= hi {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
        }
        let (query, filtered) = filter(self.query(lower.as_deref(), upper.as_deref()));
        let done: BTreeSet<u16> = position.done.iter().copied().collect();
        let first_read = ((limit + 1) * 2)
            .div_ceil(usize::from(self.shards))
            .max(if filtered { FILTERED_READ } else { 2 })
            .min(MAX_PAGE + 1);
        let mut shards: Vec<Shard> = (0..self.shards)
            .filter(|id| !done.contains(id))
            .map(|id| Shard {
                id,
                next: None,
                frontier: None,
                exhausted: false,
                read: first_read,
            })
            .collect();
        let mut found: Vec<(String, u16, T)> = Vec::new();
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
                        .expression_attribute_values(":pk", s(partition(sh.id)))
                        .limit(i32::try_from(sh.read).unwrap_or(i32::MAX))
                        .set_exclusive_start_key(sh.next.clone());
                    queries.spawn(async move { (i, req.send().await) });
                }
                while let Some(joined) = queries.join_next().await {
                    let (i, out) = joined.map_err(|e| Error::internal(format!("listing: {e}")))?;
                    let out = out.map_err(|e| sdk_error(self.what, e))?;
                    let sh = &mut shards[i];
                    for item in out.items() {
                        let key = get_s(item, self.sort_attr).unwrap_or_default().to_string();
                        if upper.as_ref() == Some(&key) {
                            continue; // BETWEEN is inclusive; the upper bound is not.
                        }
                        found.push((key, sh.id, parse(item)?));
                    }
                    sh.frontier = out
                        .last_evaluated_key()
                        .and_then(|k| get_s(k, self.sort_attr))
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
                cursor::encode(self.tenant_id, &position)
            })
        } else {
            None
        };
        Ok(Page {
            items: found.into_iter().map(|(_, _, e)| e).collect(),
            next_cursor,
        })
    }

    /// The query of every shard of the listing, but the partition (`:pk`), filters and paging.
    /// The partition names the tenant already; the filter on `tenantId` makes sure of it
    /// whatever the ids contain (a tenant id with `#CONNECTION#` in it must not reach another's
    /// partition).
    fn query(&self, lower: Option<&str>, upper: Option<&str>) -> QueryFluentBuilder {
        let key_condition = match (lower, upper) {
            (Some(_), Some(_)) => "#pk = :pk AND #ck BETWEEN :lo AND :hi",
            (None, Some(_)) => "#pk = :pk AND #ck < :hi",
            (Some(_), None) => "#pk = :pk AND #ck >= :lo",
            (None, None) => "#pk = :pk",
        };
        let mut req = self
            .client
            .query()
            .table_name(self.table)
            .index_name(self.index)
            .key_condition_expression(key_condition)
            .expression_attribute_names("#pk", self.partition_attr)
            .scan_index_forward(false);
        if lower.is_some() || upper.is_some() {
            req = req.expression_attribute_names("#ck", self.sort_attr);
        }
        if let Some(lo) = lower {
            req = req.expression_attribute_values(":lo", s(lo));
        }
        if let Some(hi) = upper {
            req = req.expression_attribute_values(":hi", s(hi));
        }
        req.expression_attribute_names("#tenant", "tenantId")
            .expression_attribute_values(":tenant", s(self.tenant_id))
    }
}

/// Filter expressions of a listing: `#tenant = :tenant` (set by [`Listing`]) and one equality
/// per given `(placeholder, attribute, value)`.
pub(crate) fn equalities(
    mut req: QueryFluentBuilder,
    equal: &[(&str, &str, Option<&str>)],
) -> (QueryFluentBuilder, bool) {
    let mut filters = vec!["#tenant = :tenant".to_string()];
    for (name, attribute, value) in equal {
        if let Some(value) = value {
            filters.push(format!("#{name} = :{name}"));
            req = req
                .expression_attribute_names(format!("#{name}"), *attribute)
                .expression_attribute_values(format!(":{name}"), s(*value));
        }
    }
    let filtered = filters.len() > 1;
    (req.filter_expression(filters.join(" AND ")), filtered)
}
