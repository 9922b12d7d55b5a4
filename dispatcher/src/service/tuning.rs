//! What differs between backends in how the roles run: a local SQLite file answers in
//! microseconds and costs nothing per request; SQS, DynamoDB and EventBridge answer in
//! milliseconds and bill per request, so there batches are worth a short wait.

use std::time::Duration;

use crate::config::BackendKind;

#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Messages per receive: SQS hands out at most 10 per request; the embedded queue takes a
    /// batch per write transaction, and larger batches keep up with high concurrency.
    pub receive_batch: usize,
    /// How long a worker's receive waits for more free slots (fewer ReceiveMessage calls).
    pub receive_linger: Duration,
    /// How long acknowledgements wait to share a DeleteMessageBatch.
    pub ack_linger: Duration,
    /// How long the outbox relay waits for more events to share a PutEvents.
    pub publish_linger: Duration,
    /// How often the outbox is swept for events left by processes that died.
    pub outbox_sweep: Duration,
    /// How often the dead-letter queue is swept (each sweep is a billed receive on SQS).
    pub dead_letter_sweep: Duration,
    /// How often the callback store is read for due callbacks (a Query per shard on DynamoDB).
    pub callback_sweep: Duration,
    /// How often queue depth is read for the metrics (a GetQueueAttributes on SQS).
    pub depth_every: Duration,
}

impl Tuning {
    pub fn for_backend(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Embedded => Self {
                receive_batch: 100,
                receive_linger: Duration::ZERO,
                ack_linger: Duration::ZERO,
                publish_linger: Duration::ZERO,
                outbox_sweep: Duration::from_secs(10),
                dead_letter_sweep: Duration::from_secs(2),
                callback_sweep: Duration::from_millis(500),
                depth_every: Duration::from_secs(5),
            },
            BackendKind::Aws => Self {
                receive_batch: 10,
                receive_linger: Duration::from_millis(50),
                ack_linger: Duration::from_millis(200),
                publish_linger: Duration::from_millis(100),
                outbox_sweep: Duration::from_secs(10),
                dead_letter_sweep: Duration::from_secs(30),
                callback_sweep: Duration::from_secs(5),
                depth_every: Duration::from_secs(15),
            },
        }
    }
}
