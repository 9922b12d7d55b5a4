//! The queue worker: receives execution requests in batches and runs them concurrently (bounded)
//! through the engine, acknowledging in batches.
//!
//! Shutdown (SIGTERM/SIGINT, signalled through a watch channel): stop receiving, let in-flight
//! executions finish within a grace period, flush acknowledgements. Anything not finished by
//! then keeps its lease and message visibility; both expire and another worker takes it over.

mod acks;

use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::{Delivery, OutgoingMessage, Queue};
use integrations_core::engine::{Disposition, Engine};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::{info, warn};

use acks::Acker;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Executions in flight at once in this process.
    pub concurrency: usize,
    /// Messages per receive call (SQS allows up to 10).
    pub batch_size: usize,
    /// Long-poll wait of a receive call.
    pub poll_wait: Duration,
    /// How long in-flight executions may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// How long acknowledgements wait to share a delete request (remote queues).
    pub ack_linger: Duration,
    /// How long a receive waits for more slots to free up when fewer than `batch_size` are free
    /// (remote queues bill per request: a busy worker would otherwise receive one message per
    /// request as its slots free up one by one).
    pub receive_linger: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            concurrency: 256,
            batch_size: 10,
            poll_wait: Duration::from_secs(20),
            shutdown_grace: Duration::from_secs(30),
            ack_linger: Duration::ZERO,
            receive_linger: Duration::ZERO,
        }
    }
}

/// Run until `shutdown` turns true, then drain.
pub async fn run(engine: Arc<Engine>, config: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    let queue = engine.backend().queue.clone();
    let visibility = engine.config().lease;
    let wake = queue.wake_signal();
    let permits = Arc::new(Semaphore::new(config.concurrency));
    let acker = Acker::spawn(queue.clone(), config.ack_linger);
    info!(concurrency = config.concurrency, "worker started");

    while !*shutdown.borrow() {
        // Receive only as many messages as there are free slots, so nothing waits in memory
        // while its visibility timeout runs down.
        let first = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("semaphore never closed"),
            _ = shutdown.changed() => break,
        };
        let mut slots = more_slots(&permits, first, config.batch_size, config.receive_linger).await;
        // In-process queues wake us on send; remote ones long-poll.
        let wait = if wake.is_some() {
            Duration::ZERO
        } else {
            config.poll_wait
        };
        let deliveries = match queue.receive(slots.len(), wait, visibility).await {
            Ok(d) => d,
            Err(e) => {
                warn!(error = %e.chain(), "receive failed; backing off");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        if deliveries.is_empty() {
            if let Some(wake) = &wake {
                // Delayed messages become visible without a send: poll as well.
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = shutdown.changed() => {}
                }
            }
            continue;
        }
        metrics::counter!("worker_received_total").increment(deliveries.len() as u64);
        // Executions in flight in this process after this batch starts.
        metrics::gauge!("worker_executions_in_flight").set(
            (config.concurrency - permits.available_permits() - slots.len() + deliveries.len())
                as f64,
        );
        for delivery in deliveries {
            let permit = slots.pop().expect("one slot per delivery");
            let engine = engine.clone();
            let queue = queue.clone();
            let acker = acker.clone();
            tokio::spawn(async move {
                let disposition = engine.handle(&delivery).await;
                settle(queue.as_ref(), &acker, delivery, disposition).await;
                drop(permit);
            });
        }
    }

    info!("worker stopping: waiting for in-flight executions");
    let all = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
    match tokio::time::timeout(config.shutdown_grace, permits.acquire_many(all)).await {
        Ok(_) => info!("all in-flight executions finished"),
        Err(_) => warn!(
            in_flight = config.concurrency - permits.available_permits(),
            "grace period over; unfinished executions will be taken over after their leases expire"
        ),
    }
    acker.close().await;
}

/// Up to `max` slots: `first`, those free now, and those freed within `linger`.
async fn more_slots(
    permits: &Arc<Semaphore>,
    first: OwnedSemaphorePermit,
    max: usize,
    linger: Duration,
) -> Vec<OwnedSemaphorePermit> {
    let mut slots = vec![first];
    let until = tokio::time::Instant::now() + linger;
    while slots.len() < max {
        if let Ok(p) = permits.clone().try_acquire_owned() {
            slots.push(p);
            continue;
        }
        if linger.is_zero() {
            break;
        }
        match tokio::time::timeout_at(until, permits.clone().acquire_owned()).await {
            Ok(p) => slots.push(p.expect("semaphore never closed")),
            Err(_elapsed) => break,
        }
    }
    slots
}

async fn settle(queue: &dyn Queue, acker: &Acker, delivery: Delivery, disposition: Disposition) {
    let message_id = delivery.message_id.clone();
    let result = match disposition {
        Disposition::Ack => {
            acker.ack(delivery.receipt);
            Ok(())
        }
        Disposition::RetryIn(delay) => queue.change_visibility(&delivery.receipt, delay).await,
        Disposition::Leave => Ok(()),
        Disposition::Requeue(delay) => {
            // The same message again: the same execution, the same trace.
            let copy = OutgoingMessage {
                body: delivery.body,
                execution_id: delivery.execution_id.unwrap_or_default(),
                delay,
                trace_parent: delivery.trace_parent,
                fair_group: delivery.fair_group,
            };
            let sent = queue.send(&[copy]).await;
            if sent.is_ok() {
                acker.ack(delivery.receipt);
            }
            sent
        }
    };
    if let Err(e) = result {
        // The message comes back when its visibility expires; the claim makes that safe.
        warn!(%message_id, error = %e.chain(), "could not settle delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn first(permits: &Arc<Semaphore>) -> OwnedSemaphorePermit {
        permits.clone().acquire_owned().await.expect("permit")
    }

    #[tokio::test]
    async fn takes_the_free_slots_up_to_the_batch() {
        let permits = Arc::new(Semaphore::new(25));
        let p = first(&permits).await;
        let slots = more_slots(&permits, p, 10, Duration::from_secs(5)).await;
        assert_eq!(slots.len(), 10);
        assert_eq!(permits.available_permits(), 15);
    }

    #[tokio::test]
    async fn without_linger_takes_only_what_is_free() {
        let permits = Arc::new(Semaphore::new(3));
        let p = first(&permits).await;
        assert_eq!(more_slots(&permits, p, 10, Duration::ZERO).await.len(), 3);
    }

    #[tokio::test]
    async fn lingers_for_slots_freed_meanwhile_then_stops_at_its_deadline() {
        let permits = Arc::new(Semaphore::new(4));
        let p = first(&permits).await;
        let busy: Vec<_> = (0..3)
            .map(|_| permits.clone().try_acquire_owned().expect("free"))
            .collect();
        // Two executions finish while the receive lingers; the third only long after.
        let release = tokio::spawn(async move {
            let mut busy = busy;
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                busy.pop();
            }
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(busy);
        });
        let slots = more_slots(&permits, p, 10, Duration::from_secs(2)).await;
        assert_eq!(slots.len(), 3);
        release.abort();
    }
}
