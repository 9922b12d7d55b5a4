//! The outbox: result events written with terminal states (see [`crate::leases::complete`]) and
//! provider events written with the webhook inbox record (see [`crate::webhooks`]), each row with
//! its kind beside its JSON, claimed oldest first by relays (one claimer per event, in one `UPDATE … RETURNING` through the
//! writer) and removed once published.

use integrations_core::backend::Lease;
use integrations_core::model::Timestamp;
use integrations_core::outbox::{OutboxEvent, OutboxEventKind};
use integrations_core::Result;
use rusqlite::params;

use crate::db::{Db, DbResult};
use crate::rows::select_all;
use crate::values::ms;

/// Put an event into the outbox, inside the caller's transaction (the write it belongs to),
/// born held by `claim` if given.
pub(crate) fn insert(
    conn: &rusqlite::Connection,
    event: &OutboxEvent,
    claim: Option<&Lease>,
) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (event_id, kind, event, claim_owner, claimable_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (event_id) DO NOTHING",
    )?
    .execute(params![
        event.event_id(),
        event.kind().as_str(),
        event.to_stored_json()?,
        claim.map(|c| c.owner.as_str()),
        claim.map_or(0, |c| ms(c.until)),
    ])?;
    Ok(())
}

/// An event as stored: its kind (a column) and its JSON.
pub(crate) fn read_event(
    row: &rusqlite::Row<'_>,
    kind: usize,
    json: usize,
) -> DbResult<OutboxEvent> {
    let kind: String = row.get(kind)?;
    let kind = OutboxEventKind::parse(Some(&kind))?;
    Ok(OutboxEvent::from_stored_json(
        kind,
        &row.get::<_, String>(json)?,
    )?)
}

/// Claim up to `limit` events nobody holds at `now`, oldest first. One statement through the
/// writer: atomic against every other relay sharing the file.
pub(crate) async fn claim(
    db: &Db,
    now: Timestamp,
    lease: &Lease,
    limit: usize,
) -> Result<Vec<OutboxEvent>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let lease = lease.clone();
    db.write(move |conn| {
        // The outbox holds only what is being published (or left by a dead process): a scan
        // in `seq` order is short.
        let mut stmt = conn.prepare_cached(
            "UPDATE outbox SET claim_owner = ?1, claimable_at = ?2
             WHERE seq IN (SELECT seq FROM outbox WHERE claimable_at <= ?3 ORDER BY seq LIMIT ?4)
             RETURNING seq, kind, event",
        )?;
        let mut rows = stmt.query(params![lease.owner, ms(lease.until), ms(now), limit])?;
        let mut claimed = Vec::new();
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            claimed.push((seq, read_event(row, 1, 2)?));
        }
        // RETURNING promises no order.
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, e)| e).collect())
    })
    .await
}

pub(crate) async fn pending(db: &Db, limit: usize) -> Result<Vec<OutboxEvent>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    db.read(move |conn| {
        let sql = "SELECT kind, event FROM outbox ORDER BY seq LIMIT ?1";
        select_all(conn, sql, params![limit], |row| read_event(row, 0, 1))
    })
    .await
}

pub(crate) async fn remove(db: &Db, event_ids: &[String]) -> Result<()> {
    if event_ids.is_empty() {
        return Ok(());
    }
    let ids = event_ids.to_vec();
    db.write(move |conn| {
        let mut delete = conn.prepare_cached("DELETE FROM outbox WHERE event_id = ?1")?;
        for id in &ids {
            delete.execute([id])?;
        }
        Ok(())
    })
    .await
}
