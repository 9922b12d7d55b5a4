//! The work queue and its dead-letter queue.
//!
//! A receive is one write job (an IMMEDIATE transaction): it picks the visible messages by index,
//! moves those already received `max_receive_count` times to the dead-letter table and hides the
//! rest under a fresh receipt token. Two receivers, even in two processes, never get the same
//! message in the same visibility window. A receipt is `<row id>.<token>`: a receipt from an
//! earlier delivery no longer matches the row, so a worker whose visibility ran out cannot delete
//! or extend the message another worker is now running.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use integrations_core::backend::{Delivery, OutgoingMessage, Queue};
use integrations_core::engine::MAX_MESSAGE_BYTES;
use integrations_core::model::{new_id, now};
use integrations_core::{Error, ErrorKind, Result};
use rusqlite::{params, Connection, OptionalExtension};
use tokio::time::Instant;
use tracing::warn;

use crate::db::DbResult;
use crate::fair_queue;
use crate::values::{duration_ms, ms};
use crate::EmbeddedBackend;

/// The most messages one receive returns; larger requests are clamped.
pub const MAX_RECEIVE_BATCH: usize = 1000;
/// While a receive waits, how often it looks for messages sent by other processes (sends in this
/// process wake it at once).
const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[async_trait]
impl Queue for EmbeddedBackend {
    async fn depth(&self) -> Result<integrations_core::backend::QueueDepth> {
        self.queue_depth().await
    }

    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        // The workers refuse larger bodies (as SQS does): refuse them here, before anything is
        // sent, so that the API answers 413 for them on both backends instead of accepting an
        // execution that could only be dead-lettered.
        if let Some(m) = messages.iter().find(|m| m.body.len() > MAX_MESSAGE_BYTES) {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the queue message for execution {} is {} bytes; at most {MAX_MESSAGE_BYTES} \
                     are accepted",
                    m.execution_id,
                    m.body.len()
                ),
            ));
        }
        let messages = messages.to_vec();
        self.db()
            .write(move |conn| {
                let t = ms(now());
                let clock = fair_queue::clock(conn)?;
                for m in &messages {
                    let execution_id = Some(m.execution_id.as_str()).filter(|id| !id.is_empty());
                    let trace_parent = m.trace_parent.as_deref().filter(|tp| !tp.is_empty());
                    let visible_at = t.saturating_add(duration_ms(m.delay));
                    let group = m.fair_group.as_deref().unwrap_or_default();
                    let rank = fair_queue::next_rank(conn, group, clock)?;
                    conn.prepare_cached(
                        "INSERT INTO queue (message_id, body, execution_id, trace_parent,
                             visible_at, sent_at, fair_group, fair_rank)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute(params![
                        new_id(),
                        m.body,
                        execution_id,
                        trace_parent,
                        visible_at,
                        t,
                        group,
                        rank
                    ])?;
                }
                Ok(())
            })
            .await?;
        self.wake_receivers();
        Ok(())
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        let max = max.min(MAX_RECEIVE_BATCH);
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + wait;
        let wake = self.inner.wake.clone();
        loop {
            // Registered before looking, so that a send in between still wakes us.
            let woken = wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();

            // A read first: an idle queue is polled without taking the write lock.
            let now_ms = ms(now());
            let next_visible = self.next_visible("queue").await?;
            if next_visible.is_some_and(|at| at <= now_ms) {
                let max_receive_count = self.inner.max_receive_count;
                let got = self
                    .db()
                    .write(move |conn| {
                        receive_batch(conn, max, duration_ms(visibility), max_receive_count)
                    })
                    .await?;
                if !got.is_empty() {
                    return Ok(got);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            let until_visible = next_visible
                .map(|at| at.saturating_sub(ms(now())).max(1))
                .and_then(|ms| u64::try_from(ms).ok())
                .map_or(POLL_INTERVAL, Duration::from_millis);
            let nap = left.min(POLL_INTERVAL).min(until_visible);
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn delete(&self, receipts: &[String]) -> Result<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let receipts = receipts
            .iter()
            .map(|r| parse_receipt(r))
            .collect::<Result<Vec<_>>>()?;
        self.db()
            .write(move |conn| {
                let mut delete =
                    conn.prepare_cached("DELETE FROM queue WHERE id = ?1 AND receipt = ?2")?;
                for (id, token) in &receipts {
                    delete.execute(params![id, token])?;
                }
                Ok(())
            })
            .await
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<()> {
        let (id, token) = parse_receipt(receipt)?;
        let changed = self
            .db()
            .write(move |conn| {
                let visible_at = ms(now()).saturating_add(duration_ms(timeout));
                let changed = conn
                    .prepare_cached(
                        "UPDATE queue SET visible_at = ?3 WHERE id = ?1 AND receipt = ?2",
                    )?
                    .execute(params![id, token, visible_at])?;
                Ok(changed > 0)
            })
            .await?;
        if !changed {
            return Err(stale_receipt());
        }
        if timeout.is_zero() {
            self.wake_receivers();
        }
        Ok(())
    }

    async fn receive_dead_letters(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        let max = max.min(MAX_RECEIVE_BATCH);
        if max == 0 {
            return Ok(Vec::new());
        }
        self.db()
            .write(move |conn| receive_dead_letters(conn, max, duration_ms(visibility)))
            .await
    }

    async fn redrive(&self, dead_letter: &Delivery, body: Option<&str>) -> Result<()> {
        let (id, token) = parse_receipt(&dead_letter.receipt)?;
        let body = body.map(str::to_string);
        let moved = self
            .db()
            .write(move |conn| {
                type Removed = (String, String, Option<String>, Option<String>, String);
                let removed: Option<Removed> = conn
                    .prepare_cached(
                        "DELETE FROM dead_letters WHERE id = ?1 AND receipt = ?2
                         RETURNING message_id, body, execution_id, trace_parent, fair_group",
                    )?
                    .query_row(params![id, token], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()?;
                let Some((message_id, original, execution_id, trace_parent, group)) = removed
                else {
                    return Ok(false);
                };
                // A fresh receive count: the message gets its full share of deliveries again;
                // and a fresh rank, as a message its group sends now.
                let t = ms(now());
                let rank = fair_queue::next_rank(conn, &group, fair_queue::clock(conn)?)?;
                conn.prepare_cached(
                    "INSERT INTO queue (message_id, body, execution_id, trace_parent, visible_at,
                         sent_at, fair_group, fair_rank)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
                )?
                .execute(params![
                    message_id,
                    body.unwrap_or(original),
                    execution_id,
                    trace_parent,
                    t,
                    group,
                    rank
                ])?;
                Ok(true)
            })
            .await?;
        if !moved {
            return Err(stale_receipt());
        }
        self.wake_receivers();
        Ok(())
    }

    async fn delete_dead_letter(&self, receipt: &str) -> Result<()> {
        let (id, token) = parse_receipt(receipt)?;
        self.db()
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM dead_letters WHERE id = ?1 AND receipt = ?2")?
                    .execute(params![id, token])?;
                Ok(())
            })
            .await
    }

    fn wake_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.inner.wake.clone())
    }
}

impl EmbeddedBackend {
    /// Wake every waiting receiver, and leave a permit for one that is about to wait (a worker
    /// that found the queue empty a moment ago must not sleep through this send).
    fn wake_receivers(&self) {
        self.inner.wake.notify_waiters();
        self.inner.wake.notify_one();
    }

    /// When the next message of `table` becomes visible (ms), None when the table is empty.
    async fn next_visible(&self, table: &'static str) -> Result<Option<i64>> {
        self.db()
            .read(move |conn| {
                let sql = format!("SELECT MIN(visible_at) FROM {table}");
                Ok(conn.prepare_cached(&sql)?.query_row([], |r| r.get(0))?)
            })
            .await
    }
}

/// Receive up to `max` visible messages; dead-letter those received too often already.
fn receive_batch(
    conn: &Connection,
    max: usize,
    visibility_ms: i64,
    max_receive_count: u32,
) -> DbResult<Vec<Delivery>> {
    let t = ms(now());
    let mut got = Vec::new();
    // Rows delivered by this call: with a zero visibility they are still "visible".
    let mut delivered = HashSet::new();
    let mut highest_rank = None;
    loop {
        let want = max - got.len();
        let limit = i64::try_from(want + delivered.len()).unwrap_or(i64::MAX);
        // In rank order (see `fair_queue`); the index is named because the planner, without
        // statistics, could prefer the visibility index and sort the whole backlog.
        let candidates: Vec<(i64, u32, i64)> = conn
            .prepare_cached(
                "SELECT id, receive_count, fair_rank FROM queue INDEXED BY queue_by_fair_rank
                 WHERE visible_at <= ?1 ORDER BY fair_rank, id LIMIT ?2",
            )?
            .query_map(params![t, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut dead_lettered = false;
        let fresh: Vec<_> = candidates
            .into_iter()
            .filter(|(id, _, _)| !delivered.contains(id))
            .take(want)
            .collect();
        for (id, receive_count, rank) in fresh {
            if receive_count >= max_receive_count {
                dead_letter(conn, id, t)?;
                dead_lettered = true;
                continue;
            }
            let token = new_token();
            let delivery = conn
                .prepare_cached(
                    "UPDATE queue SET receive_count = receive_count + 1, visible_at = ?2,
                         receipt = ?3
                     WHERE id = ?1
                     RETURNING message_id, body, execution_id, receive_count, trace_parent,
                         fair_group",
                )?
                .query_row(params![id, t.saturating_add(visibility_ms), token], |r| {
                    delivery_from_row(r, id, token)
                })?;
            delivered.insert(id);
            highest_rank = highest_rank.max(Some(rank));
            got.push(delivery);
        }
        // Only dead-lettering can leave room for more visible messages.
        if !dead_lettered || got.len() >= max {
            if let Some(rank) = highest_rank {
                fair_queue::advance_clock(conn, rank)?;
            }
            return Ok(got);
        }
    }
}

/// A delivery from `RETURNING message_id, body, execution_id, receive_count, trace_parent,
/// fair_group`; its receipt names the row and this receive's token.
fn delivery_from_row(r: &rusqlite::Row<'_>, id: i64, token: i64) -> rusqlite::Result<Delivery> {
    Ok(Delivery {
        message_id: r.get(0)?,
        receipt: format!("{id}.{token}"),
        body: r.get(1)?,
        execution_id: r.get(2)?,
        receive_count: r.get(3)?,
        trace_parent: r.get(4)?,
        fair_group: Some(r.get::<_, String>(5)?).filter(|g| !g.is_empty()),
    })
}

fn dead_letter(conn: &Connection, id: i64, t: i64) -> DbResult<()> {
    let moved: Option<(String, Option<String>, u32)> = conn
        .prepare_cached(
            "INSERT INTO dead_letters
                 (message_id, body, execution_id, trace_parent, visible_at, receive_count,
                  sent_at, dead_at, fair_group)
             SELECT message_id, body, execution_id, trace_parent, ?2, receive_count, sent_at, ?2,
                 fair_group
             FROM queue WHERE id = ?1
             RETURNING message_id, execution_id, receive_count",
        )?
        .query_row(params![id, t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    conn.prepare_cached("DELETE FROM queue WHERE id = ?1")?
        .execute([id])?;
    if let Some((message_id, execution_id, receive_count)) = moved {
        warn!(
            %message_id,
            execution_id = execution_id.as_deref().unwrap_or(""),
            receive_count,
            "message moved to the dead-letter queue"
        );
    }
    Ok(())
}

fn receive_dead_letters(
    conn: &Connection,
    max: usize,
    visibility_ms: i64,
) -> DbResult<Vec<Delivery>> {
    let t = ms(now());
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM dead_letters WHERE visible_at <= ?1 ORDER BY visible_at LIMIT ?2",
        )?
        .query_map(params![t, i64::try_from(max).unwrap_or(i64::MAX)], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut got = Vec::with_capacity(ids.len());
    for id in ids {
        let token = new_token();
        let delivery = conn
            .prepare_cached(
                "UPDATE dead_letters SET visible_at = ?2, receipt = ?3 WHERE id = ?1
                 RETURNING message_id, body, execution_id, receive_count, trace_parent,
                     fair_group",
            )?
            .query_row(params![id, t.saturating_add(visibility_ms), token], |r| {
                delivery_from_row(r, id, token)
            })?;
        got.push(delivery);
    }
    Ok(got)
}

/// A positive random token: receipts stay free of signs.
fn new_token() -> i64 {
    rand::random::<i64>() & i64::MAX
}

fn parse_receipt(receipt: &str) -> Result<(i64, i64)> {
    receipt
        .split_once('.')
        .and_then(|(id, token)| Some((id.parse().ok()?, token.parse().ok()?)))
        .ok_or_else(|| Error::validation(format!("'{receipt}' is not a receipt of this queue")))
}

fn stale_receipt() -> Error {
    Error::new(
        ErrorKind::NotFound,
        "the message is no longer held under this receipt (deleted, or received again)",
    )
}
