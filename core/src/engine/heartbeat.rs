//! The lease and visibility heartbeat of a claimed execution. It covers the whole job, from
//! the claim to the terminal write: every store round trip in between (the connection, the
//! limits, the credentials, the result) counts against the lease as much as the provider call,
//! and a slow store (moto under load, a throttled table) would otherwise let another worker
//! take over an execution that is still running here: a second attempt, counted.

use std::future::Future;

use tokio::time::Instant;
use tracing::warn;

use super::{chrono_duration, Engine};
use crate::backend::{Delivery, Lease};
use crate::model::{now, ExecutionRequest};

impl Engine {
    /// Run `job`, renewing the lease of `request`'s execution and the visibility of its
    /// message every third of a lease, counted from `claimed_at` (when the claim was asked
    /// for: its lease runs from then). Once the store says the lease is no longer this
    /// worker's, renewing stops: the message is the new owner's to keep visible.
    pub(super) async fn with_heartbeat<F: Future>(
        &self,
        delivery: &Delivery,
        request: &ExecutionRequest,
        claimed_at: Instant,
        job: F,
    ) -> F::Output {
        let every = self.config.lease / 3;
        let mut ticker = tokio::time::interval_at(claimed_at + every, every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held = true;
        tokio::pin!(job);
        loop {
            tokio::select! {
                out = &mut job => return out,
                _ = ticker.tick(), if held => {
                    held = self.beat(delivery, request).await;
                }
            }
        }
    }

    /// A lease of this worker's from now on: what a claim asks for and a renewal extends to.
    pub(super) fn lease(&self) -> Lease {
        Lease {
            owner: self.config.worker_id.clone(),
            until: now() + chrono_duration(self.config.lease),
        }
    }

    /// One renewal; false once the lease is someone else's (or the execution ended).
    async fn beat(&self, delivery: &Delivery, request: &ExecutionRequest) -> bool {
        match self
            .backend
            .executions
            .extend_lease(&request.tenant_id, &request.execution_id, &self.lease())
            .await
        {
            Ok(true) => {}
            Ok(false) => return false,
            // The store may answer next time: keep the message with us meanwhile.
            Err(err) => warn!(error = %err.chain(), "lease heartbeat failed"),
        }
        if let Err(err) = self
            .backend
            .queue
            .change_visibility(&delivery.receipt, self.config.lease)
            .await
        {
            warn!(error = %err.chain(), "visibility heartbeat failed");
        }
        true
    }
}
