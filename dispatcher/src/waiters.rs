//! Requests waiting for an execution to finish (`waitMs`), keyed by execution id, so that a
//! completion wakes only its own waiters (not every waiting request).
//!
//! Completions come from the backend's in-process signal (embedded backend, when the worker
//! runs in the same process). Anything else — a worker in another process, a remote backend —
//! is found by polling, so a waiter is always answered by its deadline at the latest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use integrations_core::backend::ExecutionStore;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::oneshot;

#[derive(Default)]
pub struct Waiters {
    by_id: Mutex<HashMap<String, Vec<oneshot::Sender<()>>>>,
    /// Whether completions are signalled in process (then polling is only a fallback).
    signalled: bool,
}

impl Waiters {
    pub fn spawn(executions: &Arc<dyn ExecutionStore>) -> Arc<Self> {
        let Some(mut completions) = executions.completions() else {
            return Arc::new(Self::default());
        };
        let waiters = Arc::new(Self {
            by_id: Mutex::default(),
            signalled: true,
        });
        let weak = Arc::downgrade(&waiters);
        tokio::spawn(async move {
            loop {
                let received = completions.recv().await;
                let Some(waiters) = weak.upgrade() else {
                    return;
                };
                match received {
                    Ok(id) => waiters.wake(&id),
                    // Missed some: wake everyone, they re-read their execution.
                    Err(RecvError::Lagged(_)) => waiters.wake_all(),
                    Err(RecvError::Closed) => return,
                }
            }
        });
        waiters
    }

    pub fn signalled(&self) -> bool {
        self.signalled
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<oneshot::Sender<()>>>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register before reading the execution, so a completion in between is not missed.
    pub fn register(&self, execution_id: &str) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        self.lock()
            .entry(execution_id.to_string())
            .or_default()
            .push(tx);
        rx
    }

    /// Drop the registrations of waiters that gave up.
    pub fn forget(&self, execution_id: &str) {
        let mut map = self.lock();
        if let Some(list) = map.get_mut(execution_id) {
            list.retain(|tx| !tx.is_closed());
            if list.is_empty() {
                map.remove(execution_id);
            }
        }
    }

    fn wake(&self, execution_id: &str) {
        let woken = self.lock().remove(execution_id);
        for tx in woken.into_iter().flatten() {
            let _ = tx.send(());
        }
    }

    fn wake_all(&self) {
        let all = std::mem::take(&mut *self.lock());
        for tx in all.into_values().flatten() {
            let _ = tx.send(());
        }
    }
}
