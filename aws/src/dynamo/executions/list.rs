//! Listing executions, newest first, from the ExecutionsByTenant index (or
//! ExecutionsByConnection with a connection filter).
//!
//! Both indexes sort by `createdKey` = `<createdAt, nine fractional digits>#<executionId>`: unique,
//! time-ordered with ties broken by id, and usable as a range bound. The time window and the
//! cursor become one key condition on it; status and integration are filters. Indexes are
//! eventually consistent: on AWS an execution shows in listings a moment after its creation
//! (reads by id are strongly consistent).

use integrations_core::backend::{ExecutionFilter, Page};
use integrations_core::model::Execution;
use integrations_core::Result;

use super::DynamoExecutions;
use crate::dynamo::exec_item::{
    connection_key, execution_from_item, CONNECTION_KEY, CREATED_KEY, INTEGRATION_ID, PK, STATUS,
};
use crate::dynamo::{
    cursor, get_s, s, tenant_pk, ts, EXECUTIONS_BY_CONNECTION, EXECUTIONS_BY_TENANT,
};
use crate::error::sdk_error;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;
/// Items read per query when a filter may drop some (Limit counts items before filtering).
const FILTERED_READ: usize = 100;

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
            Some(c) => (
                EXECUTIONS_BY_CONNECTION,
                (CONNECTION_KEY, connection_key(tenant_id, c)),
            ),
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
            .expression_attribute_values(":pk", s(partition.1))
            .scan_index_forward(false);
        if lower.is_some() || upper.is_some() {
            req = req.expression_attribute_names("#ck", CREATED_KEY);
        }
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
        let read = if filters.is_empty() {
            limit + 1
        } else {
            (limit + 1).max(FILTERED_READ)
        };
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
}
