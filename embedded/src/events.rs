//! The embedded event bus: published events are appended to the `events` table (a durable log
//! that tools can read) and broadcast to in-process subscribers.

use async_trait::async_trait;
use integrations_core::backend::EventBus;
use integrations_core::model::{now, ResultEvent, Timestamp};
use integrations_core::Result;
use rusqlite::params;
use tokio::sync::broadcast;

use crate::values::{from_json, ms, to_json, ts};
use crate::EmbeddedBackend;

/// An event from the log, with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedEvent {
    /// Increases with every publication; pass the last one seen to [`EmbeddedBackend::published_events`].
    pub seq: i64,
    pub published_at: Timestamp,
    pub event: ResultEvent,
}

#[async_trait]
impl EventBus for EmbeddedBackend {
    /// Appends every event (at least once: a retried publish appends again, consumers deduplicate
    /// on `eventId`), then broadcasts them. All or nothing, so never a partial failure list.
    async fn publish(&self, events: &[ResultEvent]) -> Result<Vec<String>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let rows = events
            .iter()
            .map(|e| Ok((e.event_id.clone(), to_json(e)?)))
            .collect::<crate::db::DbResult<Vec<_>>>()
            .map_err(integrations_core::Error::from)?;
        self.db()
            .write(move |conn| {
                let t = ms(now());
                let mut insert = conn.prepare_cached(
                    "INSERT INTO events (event_id, event, published_at) VALUES (?1, ?2, ?3)",
                )?;
                for (id, event) in &rows {
                    insert.execute(params![id, event, t])?;
                }
                Ok(())
            })
            .await?;
        for event in events {
            // No subscriber is fine: the log keeps the event.
            let _ = self.inner.events.send(event.clone());
        }
        Ok(Vec::new())
    }
}

impl EmbeddedBackend {
    /// Events published by this process from now on. A subscriber that falls more than the
    /// channel's capacity behind gets `Lagged` and can catch up from [`Self::published_events`].
    pub fn subscribe(&self) -> broadcast::Receiver<ResultEvent> {
        self.inner.events.subscribe()
    }

    /// The event log after position `after` (0 for the beginning), oldest first, by any process.
    pub async fn published_events(&self, after: i64, limit: usize) -> Result<Vec<PublishedEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db()
            .read(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT seq, published_at, event FROM events WHERE seq > ?1
                     ORDER BY seq LIMIT ?2",
                )?;
                let mut rows = stmt.query(params![after, limit])?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(PublishedEvent {
                        seq: row.get(0)?,
                        published_at: ts(row.get(1)?)?,
                        event: from_json(&row.get::<_, String>(2)?)?,
                    });
                }
                Ok(out)
            })
            .await
    }
}
