//! Batches from a channel, for the tasks that turn many small requests into few remote ones
//! (enqueueing, acknowledgements, publishing events): wait for at least one item, take what is
//! already queued, and, where a remote service bills per request, linger once for more. Idle,
//! an item goes out alone at once; under load, batches form with no added delay.

use std::time::Duration;

use tokio::sync::mpsc;

pub struct Batches<T> {
    rx: mpsc::UnboundedReceiver<T>,
    max: usize,
    linger: Duration,
}

impl<T> Batches<T> {
    pub fn new(rx: mpsc::UnboundedReceiver<T>, max: usize, linger: Duration) -> Self {
        Self {
            rx,
            max: max.max(1),
            linger,
        }
    }

    /// Fill `batch` (up to the maximum): wait for a first item unless `batch` already holds
    /// some (a call cancelled while lingering leaves them there), take what is queued, linger.
    /// False once the channel is closed and drained and `batch` is empty.
    pub async fn next(&mut self, batch: &mut Vec<T>) -> bool {
        if batch.is_empty() && self.rx.recv_many(batch, self.max).await == 0 {
            return false;
        }
        self.take_waiting(batch);
        if !self.linger.is_zero() && batch.len() < self.max {
            tokio::time::sleep(self.linger).await;
            self.take_waiting(batch);
        }
        true
    }

    /// Add what is queued now to `batch`, up to the maximum, without waiting.
    pub fn take_waiting(&mut self, batch: &mut Vec<T>) {
        while batch.len() < self.max {
            match self.rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn takes_what_is_queued_up_to_the_maximum_without_waiting() {
        let (tx, rx) = mpsc::unbounded_channel();
        for i in 0..5 {
            tx.send(i).expect("send");
        }
        let mut batches = Batches::new(rx, 3, Duration::ZERO);
        let mut batch = Vec::new();
        assert!(batches.next(&mut batch).await);
        assert_eq!(batch, vec![0, 1, 2]);
        batch.clear();
        assert!(batches.next(&mut batch).await);
        assert_eq!(batch, vec![3, 4]);
        drop(tx);
        batch.clear();
        assert!(!batches.next(&mut batch).await, "closed and drained");
    }

    #[tokio::test]
    async fn a_linger_collects_what_arrives_meanwhile() {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut batches = Batches::new(rx, 10, Duration::from_millis(300));
        tx.send(1).expect("send");
        let late = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            late.send(2).expect("send");
        });
        let mut batch = Vec::new();
        assert!(batches.next(&mut batch).await);
        assert_eq!(batch, vec![1, 2]);
    }

    #[tokio::test]
    async fn items_left_by_a_cancelled_call_go_out_without_waiting_for_more() {
        let (tx, rx) = mpsc::unbounded_channel::<u32>();
        let mut batches = Batches::new(rx, 10, Duration::ZERO);
        let mut batch = vec![7];
        assert!(batches.next(&mut batch).await);
        assert_eq!(batch, vec![7]);
        drop(tx);
    }
}
