//! The callback store: callbacks inserted with terminal states (see [`insert`], called by
//! [`crate::leases::complete`] in its transaction), leased by deliverers, their attempts recorded.

use async_trait::async_trait;
use integrations_core::backend::{AttemptRecord, CallbackStore, Lease};
use integrations_core::callbacks::{AttemptOutcome, Callback, CallbackAttempt, CallbackStatus};
use integrations_core::model::{ResultEvent, Timestamp};
use integrations_core::outbox::OutboxEvent;
use integrations_core::{Error, Result};
use rusqlite::{params, Connection, Row};

use crate::db::DbResult;
use crate::rows::select_all;
use crate::values::{from_json, ms, opt_ms, opt_ts, to_json, ts};
use crate::EmbeddedBackend;

const COLUMNS: &str = "tenant_id, execution_id, url, signer, webhook_id, body, status, attempts, \
    round_attempts, next_attempt_at, lease_owner, lease_until, created_at, updated_at, expires_at, \
    version";

fn from_row(row: &Row<'_>) -> DbResult<Callback> {
    let status: String = row.get(6)?;
    let lease = match (
        row.get::<_, Option<String>>(10)?,
        row.get::<_, Option<i64>>(11)?,
    ) {
        (Some(owner), Some(until)) => Some(Lease {
            owner,
            until: ts(until)?,
        }),
        _ => None,
    };
    Ok(Callback {
        tenant_id: row.get(0)?,
        execution_id: row.get(1)?,
        url: row.get(2)?,
        signer: row.get(3)?,
        webhook_id: row.get(4)?,
        body: row.get(5)?,
        status: CallbackStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("stored callback status '{status}'")))?,
        attempts: from_json(&row.get::<_, String>(7)?)?,
        round_attempts: row.get(8)?,
        next_attempt_at: opt_ts(row.get(9)?)?,
        lease,
        created_at: ts(row.get(12)?)?,
        updated_at: ts(row.get(13)?)?,
        expires_at: ts(row.get(14)?)?,
        version: row.get::<_, i64>(15)?.try_into().unwrap_or(0),
    })
}

/// Insert (or, for an execution finishing again after a redrive, replace) a callback.
pub(crate) fn insert(conn: &Connection, c: &Callback) -> DbResult<()> {
    let sql = format!(
        "INSERT OR REPLACE INTO callbacks ({COLUMNS}, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    );
    conn.prepare_cached(&sql)?.execute(params![
        c.tenant_id,
        c.execution_id,
        c.url,
        c.signer,
        c.webhook_id,
        c.body,
        c.status.as_str(),
        to_json(&c.attempts)?,
        c.round_attempts,
        opt_ms(c.next_attempt_at),
        c.lease.as_ref().map(|l| l.owner.clone()),
        c.lease.as_ref().map(|l| ms(l.until)),
        ms(c.created_at),
        ms(c.updated_at),
        ms(c.expires_at),
        i64::try_from(c.version).unwrap_or(i64::MAX),
        opt_ms(c.due_at()),
    ])?;
    Ok(())
}

/// Store what attempts, claims and redeliveries change, leaving the body and the keys alone
/// (cheaper than replacing the row: no index entry but the due one moves). With `expected`,
/// only if the stored row is still at that version under that lease (the writer's copy is
/// current); returns whether a row changed.
fn update_state(conn: &Connection, c: &Callback, expected: Option<&Callback>) -> DbResult<bool> {
    let (version, owner, until) = match expected {
        Some(e) => (
            Some(i64::try_from(e.version).unwrap_or(i64::MAX)),
            e.lease.as_ref().map(|l| l.owner.clone()),
            e.lease.as_ref().map(|l| ms(l.until)),
        ),
        None => (None, None, None),
    };
    let changed = conn
        .prepare_cached(
            "UPDATE callbacks SET status = ?3, attempts = ?4, round_attempts = ?5,
                 next_attempt_at = ?6, lease_owner = ?7, lease_until = ?8, updated_at = ?9,
                 version = ?10, due_at = ?11
             WHERE tenant_id = ?1 AND execution_id = ?2
                 AND (?12 IS NULL OR (version = ?12 AND status = 'pending'
                      AND lease_owner = ?13 AND lease_until = ?14))",
        )?
        .execute(params![
            c.tenant_id,
            c.execution_id,
            c.status.as_str(),
            to_json(&c.attempts)?,
            c.round_attempts,
            opt_ms(c.next_attempt_at),
            c.lease.as_ref().map(|l| l.owner.clone()),
            c.lease.as_ref().map(|l| ms(l.until)),
            ms(c.updated_at),
            i64::try_from(c.version).unwrap_or(i64::MAX),
            opt_ms(c.due_at()),
            version,
            owner,
            until,
        ])?;
    Ok(changed > 0)
}

/// One attempt, in the caller's transaction. No read first: the deliverer's copy is the stored
/// row unless someone changed it since, which the version and the lease in the condition catch.
fn record(conn: &Connection, r: &AttemptRecord) -> DbResult<bool> {
    let held = &r.callback;
    let Some(lease) = held.lease.as_ref() else {
        return Ok(false);
    };
    if !held.leased_by(lease) {
        return Ok(false);
    }
    let mut next = held.clone();
    next.apply_attempt(r.attempt.clone(), &r.outcome);
    if !update_state(conn, &next, Some(held))? {
        return Ok(false);
    }
    if let (AttemptOutcome::Failed, Some(event)) = (&r.outcome, &r.failed_event) {
        crate::outbox::insert(conn, &OutboxEvent::Result(event.clone()), None)?;
    }
    Ok(true)
}

fn get(conn: &Connection, tenant_id: &str, execution_id: &str) -> DbResult<Option<Callback>> {
    let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE tenant_id = ?1 AND execution_id = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![tenant_id, execution_id])?;
    rows.next()?.map(from_row).transpose()
}

#[async_trait]
impl CallbackStore for EmbeddedBackend {
    async fn get_callback(&self, tenant_id: &str, execution_id: &str) -> Result<Option<Callback>> {
        let key = (tenant_id.to_string(), execution_id.to_string());
        self.db().read(move |conn| get(conn, &key.0, &key.1)).await
    }

    async fn claim_due_callbacks(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Callback>> {
        let lease = lease.clone();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db()
            .write(move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM callbacks
                     WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at LIMIT ?2"
                );
                let mut due = select_all(conn, &sql, params![ms(now), limit], from_row)?;
                for c in &mut due {
                    // While leased, it is due again when the lease ends (see `Callback::due_at`).
                    c.claim(lease.clone());
                    update_state(conn, c, None)?;
                }
                Ok(due)
            })
            .await
    }

    async fn record_callback_attempt(
        &self,
        callback: &Callback,
        attempt: &CallbackAttempt,
        outcome: &AttemptOutcome,
        failed_event: Option<&ResultEvent>,
    ) -> Result<bool> {
        let record = AttemptRecord {
            callback: callback.clone(),
            attempt: attempt.clone(),
            outcome: outcome.clone(),
            failed_event: failed_event.cloned(),
        };
        let recorded = self.record_callback_attempts(&[record]).await?;
        Ok(recorded.first().copied().unwrap_or(false))
    }

    async fn record_callback_attempts(&self, records: &[AttemptRecord]) -> Result<Vec<bool>> {
        let records = records.to_vec();
        // One write job for the batch: one savepoint, however many attempts.
        self.db()
            .write(move |conn| {
                let mut recorded = Vec::with_capacity(records.len());
                for r in &records {
                    recorded.push(record(conn, r)?);
                }
                Ok(recorded)
            })
            .await
    }

    async fn redeliver_callback(
        &self,
        tenant_id: &str,
        execution_id: &str,
        now: Timestamp,
    ) -> Result<Option<Callback>> {
        let key = (tenant_id.to_string(), execution_id.to_string());
        self.db()
            .write(move |conn| {
                let Some(mut c) = get(conn, &key.0, &key.1)? else {
                    return Ok(None);
                };
                c.redeliver(now);
                update_state(conn, &c, None)?;
                Ok(Some(c))
            })
            .await
    }
}
