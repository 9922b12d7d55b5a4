//! The execution state machine's conditional writes: claim, extend, release, complete.
//!
//! A lease is held by `lease_owner` while the execution is `running`. Its expiry (`lease_until`)
//! only matters to other claimers: once it has passed, a claim may take the execution over, and
//! from then on the old owner's extend, release and complete all fail. Until someone does, the
//! old owner may still finish (nobody else can have run the action meanwhile).

use integrations_core::backend::{ClaimOutcome, Lease, Release};
use integrations_core::completion::Completion;
use integrations_core::model::{now, ExecutionStatus};
use integrations_core::outbox::OutboxEvent;
use integrations_core::Result;
use rusqlite::params;

use crate::db::Db;
use crate::executions::{execution_from_row, COLUMNS};
use crate::values::{ms, opt_json, opt_ms};

pub(crate) async fn claim(
    db: &Db,
    tenant_id: &str,
    execution_id: &str,
    lease: &Lease,
) -> Result<ClaimOutcome> {
    let key = (tenant_id.to_string(), execution_id.to_string());
    let lease = lease.clone();
    db.write(move |conn| {
        let (tenant_id, execution_id) = (&key.0, &key.1);
        let t = ms(now());
        let sql = format!(
            "SELECT {COLUMNS}, lease_until FROM executions
             WHERE tenant_id = ?1 AND execution_id = ?2"
        );
        let current = {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![tenant_id, execution_id])?;
            match rows.next()? {
                Some(row) => Some((execution_from_row(row)?, row.get::<_, Option<i64>>(20)?)),
                None => None,
            }
        };
        let Some((execution, lease_until)) = current else {
            return Ok(ClaimOutcome::NotFound);
        };
        let recovered = match execution.status {
            s if s.is_terminal() => return Ok(ClaimOutcome::Terminal(Box::new(execution))),
            ExecutionStatus::Running => match lease_until {
                Some(until) if until > t => {
                    return Ok(ClaimOutcome::Leased {
                        until: crate::values::ts(until)?,
                    })
                }
                // A worker died (or stalled) mid-attempt: its outcome is unknown.
                _ => true,
            },
            _ => false,
        };
        let sql = format!(
            "UPDATE executions SET status = 'running', attempts = attempts + 1,
                 lease_owner = ?3, lease_until = ?4, next_attempt_at = NULL, updated_at = ?5
             WHERE tenant_id = ?1 AND execution_id = ?2
             RETURNING {COLUMNS}"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![
            tenant_id,
            execution_id,
            lease.owner,
            ms(lease.until),
            t
        ])?;
        let row = rows
            .next()?
            .ok_or_else(|| integrations_core::Error::internal("execution vanished during claim"))?;
        Ok(ClaimOutcome::Claimed {
            execution: Box::new(execution_from_row(row)?),
            recovered,
        })
    })
    .await
}

pub(crate) async fn extend(
    db: &Db,
    tenant_id: &str,
    execution_id: &str,
    lease: &Lease,
) -> Result<bool> {
    let key = (tenant_id.to_string(), execution_id.to_string());
    let lease = lease.clone();
    db.write(move |conn| {
        let changed = conn
            .prepare_cached(
                "UPDATE executions SET lease_until = ?4
                 WHERE tenant_id = ?1 AND execution_id = ?2 AND status = 'running'
                     AND lease_owner = ?3",
            )?
            .execute(params![key.0, key.1, lease.owner, ms(lease.until)])?;
        Ok(changed > 0)
    })
    .await
}

pub(crate) async fn release(
    db: &Db,
    tenant_id: &str,
    execution_id: &str,
    owner: &str,
    release: &Release,
) -> Result<bool> {
    let key = (
        tenant_id.to_string(),
        execution_id.to_string(),
        owner.to_string(),
    );
    let release = release.clone();
    db.write(move |conn| {
        // No new error keeps the last one: a delay does not erase the previous failure.
        let changed = conn
            .prepare_cached(
                "UPDATE executions SET status = 'queued',
                     attempts = CASE WHEN ?4 AND attempts > 0 THEN attempts - 1 ELSE attempts END,
                     error = COALESCE(?5, error), next_attempt_at = ?6, updated_at = ?7,
                     lease_owner = NULL, lease_until = NULL
                 WHERE tenant_id = ?1 AND execution_id = ?2 AND status = 'running'
                     AND lease_owner = ?3",
            )?
            .execute(params![
                key.0,
                key.1,
                key.2,
                release.refund_attempt,
                opt_json(release.error.as_ref())?,
                ms(release.next_attempt_at),
                ms(now()),
            ])?;
        Ok(changed > 0)
    })
    .await
}

/// `dead_lettered` → `queued` for a redriven dead letter: the outcome fields go, attempts stay.
pub(crate) async fn reopen(db: &Db, tenant_id: &str, execution_id: &str) -> Result<bool> {
    let key = (tenant_id.to_string(), execution_id.to_string());
    db.write(move |conn| {
        let changed = conn
            .prepare_cached(
                "UPDATE executions SET status = 'queued', output = NULL, error = NULL,
                     finished_at = NULL, next_attempt_at = NULL, lease_owner = NULL,
                     lease_until = NULL, updated_at = ?3
                 WHERE tenant_id = ?1 AND execution_id = ?2 AND status = 'dead_lettered'",
            )?
            .execute(params![key.0, key.1, ms(now())])?;
        Ok(changed > 0)
    })
    .await
}

/// Store the terminal state, its outbox event and its callback in one transaction.
pub(crate) async fn complete(
    db: &Db,
    completion: &Completion,
    owner: Option<&str>,
) -> Result<bool> {
    let c = completion.clone();
    let owner = owner.map(str::to_string);
    db.write(move |conn| {
        let e = &c.execution;
        // With an owner: only while it holds the lease. Without: any non-terminal execution.
        let changed = conn
            .prepare_cached(
                "UPDATE executions SET status = ?4, output = ?5, error = ?6, attempts = ?7,
                     latency_ms = ?8, next_attempt_at = ?9, updated_at = ?10, finished_at = ?11,
                     lease_owner = NULL, lease_until = NULL
                 WHERE tenant_id = ?1 AND execution_id = ?2 AND CASE
                     WHEN ?3 IS NULL THEN status IN ('queued', 'running')
                     ELSE status = 'running' AND lease_owner = ?3 END",
            )?
            .execute(params![
                e.tenant_id,
                e.execution_id,
                owner,
                e.status.as_str(),
                opt_json(e.output.as_ref())?,
                opt_json(e.error.as_ref())?,
                e.attempts,
                e.latency_ms.and_then(|l| i64::try_from(l).ok()),
                opt_ms(e.next_attempt_at),
                ms(e.updated_at),
                opt_ms(e.finished_at),
            ])?;
        if changed == 0 {
            return Ok(false);
        }
        crate::outbox::insert(
            conn,
            &OutboxEvent::Result(c.event.clone()),
            c.event_claim.as_ref(),
        )?;
        if let Some(callback) = &c.callback {
            crate::callbacks::insert(conn, callback)?;
        }
        Ok(true)
    })
    .await
}
