//! Batched acknowledgements: deletes from many concurrent executions are grouped into one
//! queue call (SQS DeleteMessageBatch takes ten; the embedded queue one transaction).

use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::Queue;
use integrations_core::batch::Batches;
use tokio::sync::mpsc;
use tracing::warn;

const MAX_BATCH: usize = 100;

#[derive(Clone)]
pub struct Acker {
    tx: mpsc::UnboundedSender<String>,
    done: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Acker {
    /// `linger`: how long to wait for more acknowledgements after the first of a batch. Zero
    /// for a local queue; a remote one bills per request, and a message's visibility timeout
    /// (with the claim behind it) makes a late acknowledgement harmless.
    pub fn spawn(queue: Arc<dyn Queue>, linger: Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel::<String>();
        let mut batches = Batches::new(rx, MAX_BATCH, linger);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while batches.next(&mut batch).await {
                if let Err(e) = queue.delete(&batch).await {
                    // Undeleted messages come back and are dropped as duplicates by the claim.
                    warn!(count = batch.len(), error = %e.chain(), "acknowledgement failed");
                }
                metrics::counter!("worker_acked_total").increment(batch.len() as u64);
                batch.clear();
            }
        });
        Self {
            tx,
            done: Arc::new(tokio::sync::Mutex::new(Some(task))),
        }
    }

    pub fn ack(&self, receipt: String) {
        // Fails only after close(), when nothing may be acknowledged any more.
        let _ = self.tx.send(receipt);
    }

    /// Flush what is pending and stop.
    pub async fn close(self) {
        let Self { tx, done } = self;
        drop(tx);
        let task = done.lock().await.take();
        if let Some(task) = task {
            // The channel closes with the last clone; tasks still running past the grace
            // period hold theirs, so don't wait for them forever.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}
