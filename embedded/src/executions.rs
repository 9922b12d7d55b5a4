//! The execution store: records, idempotency keys, and the trait implementation that ties in
//! listing ([`crate::keyset`]), leases ([`crate::leases`]) and the outbox
//! ([`crate::outbox`]).

use async_trait::async_trait;
use integrations_core::backend::{
    ClaimOutcome, CreateOutcome, ExecutionFilter, ExecutionStore, IdempotencyClaim, Lease, Page,
    Release,
};
use integrations_core::completion::Completion;
use integrations_core::model::{Execution, ExecutionStatus, Timestamp};
use integrations_core::outbox::OutboxEvent;
use integrations_core::{Error, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};
use tokio::sync::broadcast;

use crate::db::DbResult;
use crate::keyset::Keyset;
use crate::values::{from_json, ms, opt_from_json, opt_json, opt_ms, opt_ts, to_json, ts};
use crate::{leases, outbox, EmbeddedBackend};

/// The execution columns, in the order [`execution_from_row`] reads them.
pub(crate) const COLUMNS: &str = "tenant_id, execution_id, connection_id, integration_id, \
    action_id, status, input, output, error, attempts, latency_ms, caller_service, caller_ref, \
    callback_url, idempotency_key, next_attempt_at, created_at, updated_at, finished_at, expires_at";

#[async_trait]
impl ExecutionStore for EmbeddedBackend {
    async fn create_execution(
        &self,
        execution: &Execution,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome> {
        let e = execution.clone();
        let claim = idempotency.cloned();
        self.db()
            .write(move |conn| create(conn, &e, claim.as_ref()))
            .await
    }

    async fn get_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
    ) -> Result<Option<Execution>> {
        let key = (tenant_id.to_string(), execution_id.to_string());
        self.db().read(move |conn| get(conn, &key.0, &key.1)).await
    }

    async fn list_executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>> {
        let status = filter.status.map(|s| s.as_str());
        let mut query = Keyset::new(
            COLUMNS,
            "executions",
            tenant_id,
            ("created_at", "execution_id"),
            filter.limit,
        );
        query
            .equal("connection_id", filter.connection_id.as_deref())
            .equal("integration_id", filter.integration_id.as_deref())
            .equal("status", status)
            .between(filter.start, filter.end)
            .after(filter.cursor.as_deref())?;
        query
            .page(self.db(), execution_from_row, |e| {
                (e.created_at, e.execution_id.as_str())
            })
            .await
    }

    async fn claim_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<ClaimOutcome> {
        leases::claim(self.db(), tenant_id, execution_id, lease).await
    }

    async fn extend_lease(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<bool> {
        leases::extend(self.db(), tenant_id, execution_id, lease).await
    }

    async fn release_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        owner: &str,
        release: &Release,
    ) -> Result<bool> {
        leases::release(self.db(), tenant_id, execution_id, owner, release).await
    }

    async fn complete_execution(
        &self,
        completion: &Completion,
        owner: Option<&str>,
    ) -> Result<bool> {
        let execution = &completion.execution;
        if !execution.status.is_terminal() {
            return Err(Error::internal(format!(
                "complete_execution needs a terminal status, not {}",
                execution.status.as_str()
            )));
        }
        let completed = leases::complete(self.db(), completion, owner).await?;
        if completed {
            // Nobody listening is fine: waiters subscribe before they start waiting.
            let _ = self.inner.completions.send(execution.execution_id.clone());
        }
        Ok(completed)
    }

    async fn reopen_execution(&self, tenant_id: &str, execution_id: &str) -> Result<bool> {
        leases::reopen(self.db(), tenant_id, execution_id).await
    }

    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEvent>> {
        outbox::pending(self.db(), limit).await
    }

    async fn outbox_claim(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>> {
        outbox::claim(self.db(), now, lease, limit).await
    }

    async fn outbox_remove(&self, event_ids: &[String]) -> Result<()> {
        outbox::remove(self.db(), event_ids).await
    }

    fn completions(&self) -> Option<broadcast::Receiver<String>> {
        Some(self.inner.completions.subscribe())
    }
}

/// Insert the execution, reserving its idempotency key in the same transaction. The key is
/// checked first (a retried request with the same key answers with the key's execution), and
/// written only once the execution row is in.
fn create(
    conn: &Connection,
    e: &Execution,
    claim: Option<&IdempotencyClaim>,
) -> DbResult<CreateOutcome> {
    if let Some(claim) = claim {
        let reserved: Option<(String, String)> = conn
            .prepare_cached(
                "SELECT execution_id, request_hash FROM idempotency
                 WHERE tenant_id = ?1 AND key = ?2",
            )?
            .query_row(params![e.tenant_id, claim.key], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        if let Some((execution_id, request_hash)) = reserved {
            // The execution outlives its key (same expiry); if it is gone anyway, the key is free.
            if let Some(existing) = get(conn, &e.tenant_id, &execution_id)? {
                return Ok(CreateOutcome::Existing {
                    execution: Box::new(existing),
                    request_hash: Some(request_hash),
                });
            }
        }
    }
    if !insert(conn, e)? {
        let existing = get(conn, &e.tenant_id, &e.execution_id)?
            .ok_or_else(|| Error::internal("execution vanished during create"))?;
        return Ok(CreateOutcome::Existing {
            execution: Box::new(existing),
            request_hash: None,
        });
    }
    if let Some(claim) = claim {
        conn.prepare_cached(
            "INSERT INTO idempotency (tenant_id, key, execution_id, request_hash, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id, key) DO UPDATE SET execution_id = excluded.execution_id,
                 request_hash = excluded.request_hash, expires_at = excluded.expires_at",
        )?
        .execute(params![
            e.tenant_id,
            claim.key,
            e.execution_id,
            claim.request_hash,
            ms(e.expires_at)
        ])?;
    }
    Ok(CreateOutcome::Created)
}

/// Insert a new row; false if the (tenant, execution id) exists.
fn insert(conn: &Connection, e: &Execution) -> DbResult<bool> {
    let sql = format!(
        "INSERT INTO executions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
             ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)
         ON CONFLICT (tenant_id, execution_id) DO NOTHING"
    );
    let inserted = conn.prepare_cached(&sql)?.execute(params![
        e.tenant_id,
        e.execution_id,
        e.connection_id,
        e.integration_id,
        e.action_id,
        e.status.as_str(),
        to_json(&e.input)?,
        opt_json(e.output.as_ref())?,
        opt_json(e.error.as_ref())?,
        e.attempts,
        e.latency_ms.and_then(|l| i64::try_from(l).ok()),
        e.caller_service,
        e.caller_ref,
        e.callback_url,
        e.idempotency_key,
        opt_ms(e.next_attempt_at),
        ms(e.created_at),
        ms(e.updated_at),
        opt_ms(e.finished_at),
        ms(e.expires_at),
    ])?;
    Ok(inserted > 0)
}

pub(crate) fn get(
    conn: &Connection,
    tenant_id: &str,
    execution_id: &str,
) -> DbResult<Option<Execution>> {
    let sql =
        format!("SELECT {COLUMNS} FROM executions WHERE tenant_id = ?1 AND execution_id = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![tenant_id, execution_id])?;
    rows.next()?.map(execution_from_row).transpose()
}

/// Read an execution from a row whose first columns are [`COLUMNS`].
pub(crate) fn execution_from_row(row: &Row<'_>) -> DbResult<Execution> {
    let status: String = row.get(5)?;
    let latency: Option<i64> = row.get(10)?;
    Ok(Execution {
        tenant_id: row.get(0)?,
        execution_id: row.get(1)?,
        connection_id: row.get(2)?,
        integration_id: row.get(3)?,
        action_id: row.get(4)?,
        status: ExecutionStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("unknown execution status '{status}'")))?,
        input: from_json(&row.get::<_, String>(6)?)?,
        output: opt_from_json(row.get(7)?)?,
        error: opt_from_json(row.get(8)?)?,
        attempts: row.get(9)?,
        latency_ms: latency.and_then(|l| u64::try_from(l).ok()),
        caller_service: row.get(11)?,
        caller_ref: row.get(12)?,
        callback_url: row.get(13)?,
        idempotency_key: row.get(14)?,
        next_attempt_at: opt_ts(row.get(15)?)?,
        created_at: ts(row.get(16)?)?,
        updated_at: ts(row.get(17)?)?,
        finished_at: opt_ts(row.get(18)?)?,
        expires_at: ts(row.get(19)?)?,
    })
}
