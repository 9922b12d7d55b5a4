//! The outbox: result events written with terminal states (see [`crate::leases::complete`]),
//! read oldest first by the relay and removed once published.

use integrations_core::model::ResultEvent;
use integrations_core::Result;
use rusqlite::params;

use crate::db::{Db, DbResult};
use crate::values::{from_json, to_json};

/// Put an event into the outbox, inside the caller's transaction (the write it belongs to).
pub(crate) fn insert(conn: &rusqlite::Connection, event: &ResultEvent) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT INTO outbox (event_id, event) VALUES (?1, ?2)
         ON CONFLICT (event_id) DO NOTHING",
    )?
    .execute(params![event.event_id, to_json(event)?])?;
    Ok(())
}

pub(crate) async fn pending(db: &Db, limit: usize) -> Result<Vec<ResultEvent>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    db.read(move |conn| {
        let mut stmt = conn.prepare_cached("SELECT event FROM outbox ORDER BY seq LIMIT ?1")?;
        let mut rows = stmt.query(params![limit])?;
        let mut events = Vec::new();
        while let Some(row) = rows.next()? {
            events.push(from_json(&row.get::<_, String>(0)?)?);
        }
        Ok(events)
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
