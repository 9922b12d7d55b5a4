//! Batched acknowledgements: deletes from many concurrent executions are grouped into one
//! queue call (SQS DeleteMessageBatch takes ten; the embedded queue one transaction).

use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::Queue;
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
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            // recv_many waits for at least one, then takes whatever else is already queued:
            // batches grow with load and cost no latency when idle.
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                if !linger.is_zero() && batch.len() < MAX_BATCH {
                    tokio::time::sleep(linger).await;
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(receipt) => batch.push(receipt),
                            Err(_) => break,
                        }
                    }
                }
                if let Err(e) = queue.delete(&batch).await {
                    // Undeleted messages come back and are dropped as duplicates by the claim.
                    warn!(count = batch.len(), error = %e, "acknowledgement failed");
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
