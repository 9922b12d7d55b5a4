//! The embedded event bus: published events (result and provider events, each row with its
//! kind) are appended to the `events` table (a durable log that tools can read) and broadcast to
//! in-process subscribers.

use async_trait::async_trait;
use integrations_core::backend::EventBus;
use integrations_core::model::{now, Timestamp};
use integrations_core::outbox::OutboxEvent;
use integrations_core::Result;
use rusqlite::params;
use tokio::sync::broadcast;

use crate::rows::select_all;
use crate::values::{ms, ts};
use crate::EmbeddedBackend;

/// An event from the log, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    /// Increases with every publication; pass the last one seen to [`EmbeddedBackend::published_events`].
    pub seq: i64,
    pub published_at: Timestamp,
    pub event: OutboxEvent,
}

#[async_trait]
impl EventBus for EmbeddedBackend {
    /// Appends every event (at least once: a retried publish appends again, consumers deduplicate
    /// on `eventId`), then broadcasts them. All or nothing, so never a partial failure list.
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<String>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let rows = events
            .iter()
            .map(|e| Ok((e.event_id().to_string(), e.kind().as_str(), e.to_json()?)))
            .collect::<Result<Vec<_>>>()?;
        self.db()
            .write(move |conn| {
                let t = ms(now());
                let mut insert = conn.prepare_cached(
                    "INSERT INTO events (event_id, kind, event, published_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for (id, kind, event) in &rows {
                    insert.execute(params![id, kind, event, t])?;
                }
                Ok(())
            })
            .await?;
        for event in events {
            // No subscriber is fine: the log keeps the event.
            let _ = self.inner.events.send(event.as_published());
        }
        Ok(Vec::new())
    }
}

impl EmbeddedBackend {
    /// Events published by this process from now on. A subscriber that falls more than the
    /// channel's capacity behind gets `Lagged` and can catch up from [`Self::published_events`].
    pub fn subscribe(&self) -> broadcast::Receiver<OutboxEvent> {
        self.inner.events.subscribe()
    }

    /// The event log after position `after` (0 for the beginning), oldest first, by any process.
    pub async fn published_events(&self, after: i64, limit: usize) -> Result<Vec<PublishedEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db()
            .read(move |conn| {
                let sql = "SELECT seq, published_at, kind, event FROM events WHERE seq > ?1
                           ORDER BY seq LIMIT ?2";
                select_all(conn, sql, params![after, limit], |row| {
                    Ok(PublishedEvent {
                        seq: row.get(0)?,
                        published_at: ts(row.get(1)?)?,
                        event: crate::outbox::read_event(row, 2, 3)?,
                    })
                })
            })
            .await
    }
}
