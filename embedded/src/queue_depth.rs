//! Queue depth of the embedded queue: exact counts and the oldest message's age, one read.

use integrations_core::backend::QueueDepth;
use integrations_core::model::now;
use integrations_core::Result;
use rusqlite::params;

use crate::values::ms;
use crate::EmbeddedBackend;

impl EmbeddedBackend {
    pub(crate) async fn queue_depth(&self) -> Result<QueueDepth> {
        let t = ms(now());
        self.db()
            .read(move |conn| {
                // Received messages are hidden until their visibility ends: in flight.
                let (waiting, in_flight, oldest): (u64, u64, Option<i64>) = conn
                    .prepare_cached(
                        "SELECT
                             COALESCE(SUM(receive_count = 0 OR visible_at <= ?1), 0),
                             COALESCE(SUM(receive_count > 0 AND visible_at > ?1), 0),
                             MIN(sent_at)
                         FROM queue",
                    )?
                    .query_row(params![t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                Ok(QueueDepth {
                    waiting: Some(waiting),
                    in_flight: Some(in_flight),
                    oldest_age: oldest.map(|sent| {
                        std::time::Duration::from_millis(u64::try_from(t - sent).unwrap_or(0))
                    }),
                })
            })
            .await
    }
}
