//! Deleting what has expired: executions past their `expires_at` (30 days after creation) with
//! their idempotency keys, and old entries of the event log. In small batches, each its own short
//! transaction, so that a large purge never holds up the writers for long.

use std::time::Duration;

use integrations_core::model::Timestamp;
use integrations_core::Result;
use rusqlite::params;

use crate::values::ms;
use crate::EmbeddedBackend;

/// Published events are kept this long in the log, as recorded provider events are.
pub const EVENT_RETENTION: Duration = integrations_core::webhooks::EVENT_RETENTION;
const BATCH: i64 = 500;

/// What a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub executions: u64,
    pub idempotency_records: u64,
    pub callbacks: u64,
    pub events: u64,
    /// Fair-queue groups (tenants) idle long enough to be forgotten.
    pub fair_groups: u64,
    /// Webhook dedupe keys past their window.
    pub webhook_keys: u64,
    /// Provider events received more than [`EVENT_RETENTION`] ago.
    pub provider_events: u64,
}

impl EmbeddedBackend {
    /// Delete executions and idempotency records that expired at or before `now`, events
    /// published (and provider events received) more than [`EVENT_RETENTION`] before it, and
    /// webhook dedupe keys past their window. Meant to run periodically.
    pub async fn purge_expired(&self, now: Timestamp) -> Result<PurgeReport> {
        let t = ms(now);
        let retention = i64::try_from(EVENT_RETENTION.as_millis()).unwrap_or(i64::MAX);
        Ok(PurgeReport {
            executions: self.purge("executions", "expires_at", t).await?,
            idempotency_records: self.purge("idempotency", "expires_at", t).await?,
            callbacks: self.purge("callbacks", "expires_at", t).await?,
            events: self
                .purge("events", "published_at", t.saturating_sub(retention))
                .await?,
            fair_groups: self.forget_idle_fair_groups().await?,
            webhook_keys: self.purge("webhooks", "dedupe_until", t).await?,
            provider_events: self
                .purge(
                    "provider_events",
                    "received_at",
                    t.saturating_sub(retention),
                )
                .await?,
        })
    }

    async fn forget_idle_fair_groups(&self) -> Result<u64> {
        let mut total = 0;
        loop {
            let forgotten = self
                .db()
                .write(|conn| crate::fair_queue::forget_idle_groups(conn, BATCH))
                .await?;
            total += u64::try_from(forgotten).unwrap_or(0);
            if i64::try_from(forgotten).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }

    /// Delete rows of `table` whose `column` is at or before `cutoff`, a batch at a time.
    async fn purge(&self, table: &'static str, column: &'static str, cutoff: i64) -> Result<u64> {
        let sql = format!(
            "DELETE FROM {table} WHERE rowid IN
                 (SELECT rowid FROM {table} WHERE {column} <= ?1 LIMIT ?2)"
        );
        let mut total = 0;
        loop {
            let sql = sql.clone();
            let deleted = self
                .db()
                .write(move |conn| {
                    Ok(conn.prepare_cached(&sql)?.execute(params![cutoff, BATCH])?)
                })
                .await?;
            total += u64::try_from(deleted).unwrap_or(0);
            if i64::try_from(deleted).unwrap_or(0) < BATCH {
                return Ok(total);
            }
        }
    }
}
