//! Listing executions, newest first, from ExecutionsByTenantShard (or ExecutionsByConnectionShard
//! with a connection filter), by the sharded merge of [`crate::dynamo::sharded`]. Both indexes
//! sort by `createdKey` = `<createdAt, nine fractional digits>#<executionId>`; status and
//! integration are filters.

use integrations_core::backend::{ExecutionFilter, Page};
use integrations_core::model::Execution;
use integrations_core::Result;

use super::DynamoExecutions;
use crate::dynamo::exec_item::{
    connection_shard, execution_from_item, tenant_shard, CONNECTION_SHARD, CREATED_KEY,
    INTEGRATION_ID, STATUS, TENANT_SHARD,
};
use crate::dynamo::sharded::{equalities, Listing};
use crate::dynamo::{EXECUTIONS_BY_CONNECTION, EXECUTIONS_BY_TENANT};

impl DynamoExecutions {
    pub(super) async fn list(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>> {
        let (index, partition_attr) = match &filter.connection_id {
            Some(_) => (EXECUTIONS_BY_CONNECTION, CONNECTION_SHARD),
            None => (EXECUTIONS_BY_TENANT, TENANT_SHARD),
        };
        let listing = Listing {
            client: &self.client,
            table: &self.table,
            index,
            partition_attr,
            sort_attr: CREATED_KEY,
            shards: self.listing_shards,
            tenant_id,
            start: filter.start.as_ref(),
            end: filter.end.as_ref(),
            limit: filter.limit,
            cursor: filter.cursor.as_deref(),
            what: "DynamoDB Query (executions)",
        };
        let status = filter.status.map(|s| s.as_str());
        listing
            .page(
                |shard| match &filter.connection_id {
                    Some(c) => connection_shard(tenant_id, c, shard),
                    None => tenant_shard(tenant_id, shard),
                },
                |req| {
                    equalities(
                        req,
                        &[
                            ("status", STATUS, status),
                            (
                                "integration",
                                INTEGRATION_ID,
                                filter.integration_id.as_deref(),
                            ),
                        ],
                    )
                },
                execution_from_item,
            )
            .await
    }
}
