//! Enqueueing through one batching task: concurrent submissions share SendMessageBatch calls
//! (ten messages per SQS request, one transaction on the embedded queue). Idle, a message goes
//! out alone at once; under load, batches form from whatever is waiting, with no added delay.

use std::sync::Arc;

use std::time::Duration;

use integrations_core::backend::{OutgoingMessage, Queue};
use integrations_core::batch::Batches;
use integrations_core::{Error, Result};
use tokio::sync::{mpsc, oneshot};

/// SQS's SendMessageBatch limit.
const MAX_BATCH: usize = 10;

type Job = (OutgoingMessage, oneshot::Sender<Result<()>>);

#[derive(Clone)]
pub struct Enqueuer {
    tx: mpsc::UnboundedSender<Job>,
}

impl Enqueuer {
    pub fn spawn(queue: Arc<dyn Queue>) -> Self {
        // Unbounded: each submitter waits for its answer, so what waits here is bounded by the
        // requests in flight.
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let mut batches = Batches::new(rx, MAX_BATCH, Duration::ZERO);
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            while batches.next(&mut jobs).await {
                let (messages, replies): (Vec<_>, Vec<_>) = jobs.drain(..).unzip();
                let result = queue.send(&messages).await;
                metrics::histogram!("enqueue_batch_size").record(messages.len() as f64);
                for reply in replies {
                    // The submitter may have gone (client disconnected): nothing to tell.
                    let _ = reply.send(result.clone());
                }
            }
        });
        Self { tx }
    }

    pub async fn send(&self, message: OutgoingMessage) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((message, reply))
            .map_err(|_| Error::backend("the enqueue task has stopped"))?;
        answer
            .await
            .map_err(|_| Error::backend("the enqueue task has stopped"))?
    }
}
