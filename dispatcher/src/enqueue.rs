//! Enqueueing through one batching task: concurrent submissions share SendMessageBatch calls
//! (ten messages per SQS request, one transaction on the embedded queue). Idle, a message goes
//! out alone at once; under load, batches form from whatever is waiting, with no added delay.
//!
//! The backlog (messages handed to the task and not yet sent) is bounded: a submission reserves
//! its place before recording anything, and when there is none the queue is not keeping up, so
//! the API sheds the request (503 OVERLOADED) instead of piling up submissions that time out.

use std::sync::Arc;

use std::time::Duration;

use integrations_core::backend::{OutgoingMessage, Queue};
use integrations_core::batch::Batches;
use integrations_core::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

/// SQS's SendMessageBatch limit.
const MAX_BATCH: usize = 10;

/// How long a shed caller is asked to wait: the backlog drains in milliseconds once the queue
/// answers again, so the shortest Retry-After there is.
pub const OVERLOAD_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A message, who to answer, and its place in the backlog (given back once it is sent).
type Job = (
    OutgoingMessage,
    oneshot::Sender<Result<()>>,
    OwnedSemaphorePermit,
);

#[derive(Clone)]
pub struct Enqueuer {
    tx: mpsc::UnboundedSender<Job>,
    backlog: Arc<Semaphore>,
}

/// A place in the enqueue backlog, reserved before the execution is recorded.
pub struct Reservation {
    tx: mpsc::UnboundedSender<Job>,
    permit: OwnedSemaphorePermit,
}

impl Enqueuer {
    /// `max_backlog`: messages waiting to be sent at most (at least one).
    pub fn spawn(queue: Arc<dyn Queue>, max_backlog: usize) -> Self {
        // Unbounded as a channel; the semaphore is the bound.
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let mut batches = Batches::new(rx, MAX_BATCH, Duration::ZERO);
        tokio::spawn(async move {
            let mut jobs = Vec::with_capacity(MAX_BATCH);
            while batches.next(&mut jobs).await {
                let mut messages = Vec::with_capacity(jobs.len());
                let mut replies = Vec::with_capacity(jobs.len());
                for (message, reply, permit) in jobs.drain(..) {
                    messages.push(message);
                    replies.push((reply, permit));
                }
                let result = queue.send(&messages).await;
                metrics::histogram!("enqueue_batch_size").record(messages.len() as f64);
                for (reply, permit) in replies {
                    drop(permit);
                    // The submitter may have gone (client disconnected): nothing to tell.
                    let _ = reply.send(result.clone());
                }
            }
        });
        Self {
            tx,
            backlog: Arc::new(Semaphore::new(max_backlog.max(1))),
        }
    }

    /// A place in the backlog, or OVERLOADED at once when it is full.
    pub fn reserve(&self) -> Result<Reservation> {
        let permit = self.backlog.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("api_shed_total", "reason" => "enqueue_backlog").increment(1);
            Error::new(
                ErrorKind::Overloaded,
                "the queue is not keeping up with submissions; try again shortly",
            )
            .with_retry_after(Some(OVERLOAD_RETRY_AFTER))
        })?;
        Ok(Reservation {
            tx: self.tx.clone(),
            permit,
        })
    }
}

impl Reservation {
    pub async fn send(self, message: OutgoingMessage) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((message, reply, self.permit))
            .map_err(|_| Error::backend("the enqueue task has stopped"))?;
        answer
            .await
            .map_err(|_| Error::backend("the enqueue task has stopped"))?
    }
}
