//! Fair queuing for the work queue: start-time fair queuing over message groups (tenants).
//!
//! Each message gets a rank when it is sent: one past its group's last rank, but never below
//! the queue's virtual clock (the highest rank received so far). A receive takes visible messages
//! in rank order. So a tenant that floods the queue with 10,000 messages gets ranks far ahead of
//! the clock, while a tenant sending one message now gets a rank at the clock and is received
//! next, behind only what is already in flight: each group's share of receives is equal while
//! groups compete, and a flood delays another group by about one receive, however large it is.
//! An idle group's old rank is below the clock and so does not count against it later.

use rusqlite::{params, Connection, OptionalExtension};

use crate::db::DbResult;

const CLOCK_KEY: &str = "queue:fair-clock";

/// The virtual clock: the highest rank received so far (0 for a new queue).
pub(crate) fn clock(conn: &Connection) -> DbResult<i64> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([CLOCK_KEY], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The rank of a message of `group` sent now, given the clock (read once per write job).
pub(crate) fn next_rank(conn: &Connection, group: &str, clock: i64) -> DbResult<i64> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO queue_groups (fair_group, next_rank) VALUES (?1, ?2 + 1)
             ON CONFLICT (fair_group) DO UPDATE SET next_rank = MAX(next_rank, ?2) + 1
             RETURNING next_rank - 1",
        )?
        .query_row(params![group, clock], |r| r.get(0))?)
}

/// Moves the clock up to `rank` after a receive took messages of that rank.
pub(crate) fn advance_clock(conn: &Connection, rank: i64) -> DbResult<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
    )?
    .execute(params![CLOCK_KEY, rank])?;
    Ok(())
}

/// Forgets groups whose next rank the clock has reached (a group whose last message was the last
/// received is one past it): a new message of theirs would get the clock, or one more, anyway.
/// Returns how many were forgotten.
pub(crate) fn forget_idle_groups(conn: &Connection, batch: i64) -> DbResult<usize> {
    let clock = clock(conn)?;
    Ok(conn
        .prepare_cached(
            "DELETE FROM queue_groups WHERE rowid IN
                 (SELECT rowid FROM queue_groups WHERE next_rank <= ?1 + 1 LIMIT ?2)",
        )?
        .execute(params![clock, batch])?)
}
