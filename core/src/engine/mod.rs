//! The execution engine: one plain async pipeline per queue delivery.
//!
//! parse → claim (dedupes duplicate deliveries) → connection, action, input validation → rate
//! limit and breaker (delay, not fail) → credentials → connector under the action's timeout, with
//! a lease/visibility heartbeat → classify → terminal state + outbox event, or a retry through the
//! queue with exponential backoff and jitter.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{info, warn, Instrument};

use crate::backend::{Backend, ClaimOutcome, Delivery, Lease};
use crate::callbacks::deliver::DelivererConfig;
use crate::callbacks::Callback;
use crate::catalog::{Action, Catalog};
use crate::connector::Connectors;
use crate::error::{Error, ErrorKind, Result};
use crate::limits::{in_flight, BreakerConfig, Breakers, FleetLimits, InFlightSlots};
use crate::model::{now, Connection, Execution, ExecutionRequest};
use crate::outbox::{FedEvent, OutboxFeed};
use crate::renewal::Renewer;
use crate::trace::parse_trace_parent;

mod attempt;
mod decode;
mod heartbeat;
mod outcome;
mod record;
mod tenants;

pub use decode::{decode_request, MAX_MESSAGE_BYTES};

pub use record::{chrono_duration, new_execution, queued_execution};
pub use tenants::{Quota, TenantQuotas};

/// How long execution records (and their idempotency keys) are kept.
pub const RETENTION: chrono::Duration = chrono::Duration::days(30);

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Lease owner name; unique per process.
    pub worker_id: String,
    /// Attempts (provider calls) before a retryable failure becomes terminal.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Lease on an execution and visibility of its message; renewed by a heartbeat while the
    /// provider call runs.
    pub lease: Duration,
    /// Rate-limit and breaker waits up to this long happen in process; longer ones go back to
    /// the queue.
    pub max_local_delay: Duration,
    /// Back-off for a message that cannot be parsed: it returns until the queue dead-letters it.
    pub poison_delay: Duration,
    /// Apply the catalog's rate limits (fleet-wide).
    pub catalog_rate_limits: bool,
    /// Upper bound on every action's catalog timeout.
    pub action_timeout_cap: Option<Duration>,
    pub breaker: BreakerConfig,
    /// Per-tenant caps on executions in flight in this process (fair scheduling).
    pub tenant_quotas: TenantQuotas,
    /// A message whose tenant is at its in-flight cap comes back after this long (plus up to as
    /// much jitter); short, so the tenant resumes as soon as its slots free up.
    pub tenant_requeue_delay: Duration,
    /// How long the events this engine writes are born claimed by this process's relay.
    pub outbox_claim: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", crate::model::new_id()),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(300),
            lease: Duration::from_secs(30),
            max_local_delay: Duration::from_secs(2),
            poison_delay: Duration::from_secs(5),
            action_timeout_cap: None,
            catalog_rate_limits: true,
            breaker: BreakerConfig::default(),
            tenant_quotas: TenantQuotas::default(),
            tenant_requeue_delay: Duration::from_millis(200),
            outbox_claim: crate::outbox::CLAIM,
        }
    }
}

/// What the worker does with the delivery afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it: done (or a duplicate).
    Ack,
    /// Let it come back after this long (retry backoff, or someone else holds the lease).
    RetryIn(Duration),
    /// Send a fresh copy delayed by this long and delete this one: a delay that is not an
    /// attempt must not count towards the queue's dead-letter threshold.
    Requeue(Duration),
    /// Touch nothing: another worker took the execution over and settles its message. Deleting
    /// it here would delete that worker's message too (SQS deletes a message by any receipt
    /// handle it was ever received with), and were that worker to die the execution would
    /// never be delivered again.
    Leave,
}

pub struct Engine {
    backend: Backend,
    catalog: Arc<Catalog>,
    connectors: Connectors,
    limits: FleetLimits,
    breakers: Breakers,
    config: EngineConfig,
    /// Events just written to the outbox, born claimed by this process's relay (once one took
    /// the feed), for it to publish without reading them back.
    outbox: OutboxFeed,
    outbox_rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<FedEvent>>>,
    /// Callbacks of executions this engine finished, born leased to this process's deliverer
    /// (when one took the feed) so that they go out at once without another store write.
    callback_feed: mpsc::UnboundedSender<Callback>,
    callback_rx: std::sync::Mutex<Option<mpsc::UnboundedReceiver<Callback>>>,
    callback_delivery: std::sync::OnceLock<DelivererConfig>,
    /// Renews connections' credentials for the connectors (one caller across the fleet).
    renewer: Renewer,
    /// Executions in flight per tenant, against their caps across the fleet.
    tenant_slots: InFlightSlots,
}

/// A claimed execution with everything needed to run it.
struct Job<'a> {
    request: &'a ExecutionRequest,
    execution: Execution,
    started: Instant,
}

impl Engine {
    pub fn new(
        backend: Backend,
        catalog: Arc<Catalog>,
        connectors: Connectors,
        config: EngineConfig,
    ) -> Self {
        let (outbox, outbox_rx) =
            OutboxFeed::channel(config.worker_id.clone(), config.outbox_claim);
        let (callback_feed, callback_rx) = mpsc::unbounded_channel();
        let limits = FleetLimits::new(backend.rate_limits.clone());
        let breakers = Breakers::new(
            backend.leases.clone(),
            config.worker_id.clone(),
            config.breaker,
        );
        let renewer = Renewer::new(
            backend.secrets.clone(),
            backend.leases.clone(),
            config.worker_id.clone(),
        );
        let tenant_slots = InFlightSlots::new(
            backend.leases.clone(),
            config.worker_id.clone(),
            in_flight::DEFAULT_HOLD,
        );
        Self {
            backend,
            catalog,
            connectors,
            limits,
            breakers,
            config,
            outbox,
            outbox_rx: std::sync::Mutex::new(Some(outbox_rx)),
            callback_feed,
            callback_rx: std::sync::Mutex::new(Some(callback_rx)),
            callback_delivery: std::sync::OnceLock::new(),
            renewer,
            tenant_slots,
        }
    }

    /// The callbacks this engine writes, for a deliverer in this process (the first caller
    /// takes it). From then on they are born leased to that deliverer.
    pub fn take_callback_feed(
        &self,
        deliverer: &DelivererConfig,
    ) -> Option<mpsc::UnboundedReceiver<Callback>> {
        let rx = self
            .callback_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        let _ = self.callback_delivery.set(deliverer.clone());
        Some(rx)
    }

    /// The lease a new callback is born with: this process's deliverer's, while it listens.
    fn callback_lease(&self) -> Option<Lease> {
        let config = self.callback_delivery.get()?;
        (!self.callback_feed.is_closed()).then(|| config.lease())
    }

    /// The events this engine writes to the outbox, as they are written, for this process's
    /// relay (the first caller takes them; from then on they are born claimed by that relay,
    /// whose owner is this engine's worker id), with the feed that writes for it, which other
    /// writers of the process share (the API's webhooks in `serve`).
    pub fn take_outbox_feed(&self) -> Option<(OutboxFeed, mpsc::UnboundedReceiver<FedEvent>)> {
        let rx = self
            .outbox_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        Some((self.outbox.clone(), rx))
    }

    /// The claim a new event is born with: this process's relay's, while it listens.
    fn event_claim(&self) -> Option<Lease> {
        let taken = self
            .outbox_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none();
        taken.then(|| self.outbox.claim()).flatten()
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Run one delivery to a disposition. Never panics on bad input.
    pub async fn handle(&self, delivery: &Delivery) -> Disposition {
        let request = match self.parse(&delivery.body) {
            Ok(r) => r,
            Err(e) => {
                warn!(
                    message_id = %delivery.message_id,
                    receive_count = delivery.receive_count,
                    trace_id = %trace_id(delivery),
                    error = %e,
                    "unparseable execution request; leaving it for the dead-letter queue"
                );
                metrics::counter!("worker_poison_messages_total").increment(1);
                return Disposition::RetryIn(self.config.poison_delay);
            }
        };
        let span = tracing::info_span!(
            "execution",
            execution_id = %request.execution_id,
            tenant_id = %request.tenant_id,
            action_id = %request.action_id,
            trace_id = %trace_id(delivery),
        );
        let cap = self
            .config
            .tenant_quotas
            .for_tenant(&request.tenant_id)
            .in_flight;
        // Held until this delivery is settled, whichever way it ends.
        let _slot = match self.tenant_slots.try_start(&request.tenant_id, cap).await {
            Ok(Some(slot)) => slot,
            Ok(None) => {
                // Not claimed, so nothing changes in the store and no attempt is counted; a
                // fresh copy (not a visibility change) keeps the queue's receive count, and
                // with it the dead-letter threshold, out of it.
                metrics::counter!("worker_delays_total", "where" => "tenant_quota").increment(1);
                return Disposition::Requeue(tenants::requeue_delay(
                    self.config.tenant_requeue_delay,
                ));
            }
            Err(e) => {
                span.in_scope(
                    || warn!(error = %e.chain(), "tenant cap unreadable; retrying delivery"),
                );
                return Disposition::RetryIn(Duration::from_secs(1));
            }
        };
        match self.run(delivery, &request).instrument(span.clone()).await {
            Ok(d) => d,
            Err(e) => {
                // Only backend failures get here: let the message come back and try again.
                span.in_scope(|| warn!(error = %e.chain(), "backend error; retrying delivery"));
                Disposition::RetryIn(Duration::from_secs(1))
            }
        }
    }

    fn parse(&self, body: &str) -> Result<ExecutionRequest> {
        decode_request(&self.catalog, body)
    }

    async fn run(&self, delivery: &Delivery, request: &ExecutionRequest) -> Result<Disposition> {
        let store = &self.backend.executions;
        let claimed_at = tokio::time::Instant::now();
        let mut claim = store
            .claim_execution(&request.tenant_id, &request.execution_id, &self.lease())
            .await?;
        if claim == ClaimOutcome::NotFound {
            // Published straight onto the queue: record it first.
            self.record_from_request(request).await?;
            claim = store
                .claim_execution(&request.tenant_id, &request.execution_id, &self.lease())
                .await?;
        }
        let (execution, recovered) = match claim {
            ClaimOutcome::Claimed {
                execution,
                recovered,
            } => (*execution, recovered),
            ClaimOutcome::Terminal(_) => {
                info!("duplicate delivery of a finished execution; dropped");
                metrics::counter!("worker_duplicates_total").increment(1);
                return Ok(Disposition::Ack);
            }
            ClaimOutcome::Leased { until } => {
                let wait = (until - now()).to_std().unwrap_or_default();
                return Ok(Disposition::RetryIn(wait + Duration::from_secs(1)));
            }
            ClaimOutcome::NotFound => {
                return Err(Error::backend("execution vanished after being recorded"))
            }
        };
        let mut job = Job {
            request,
            execution,
            started: Instant::now(),
        };
        let work = async {
            match self.prepare(&job, recovered).await? {
                Err(e) => self.finish(&mut job, Err(e)).await,
                Ok((connection, action)) => self.attempt(&mut job, &connection, &action).await,
            }
        };
        self.with_heartbeat(delivery, request, claimed_at, work)
            .await
    }

    /// Look up everything the attempt needs; an Err inside is a terminal failure.
    async fn prepare(
        &self,
        job: &Job<'_>,
        recovered: bool,
    ) -> Result<Result<(Connection, Arc<Action>)>> {
        let e = &job.execution;
        let resolved = crate::resolve::resolve(
            self.backend.connections.as_ref(),
            &self.catalog,
            &e.tenant_id,
            &e.connection_id,
            &job.request.action_id,
            &job.request.input,
        )
        .await?;
        let (connection, action) = match resolved {
            Ok(found) => found,
            Err(err) => return Ok(Err(err)),
        };
        if recovered && action.unsafe_to_repeat() {
            return Ok(Err(Error::new(
                ErrorKind::OutcomeUnknown,
                format!(
                    "a worker stopped while '{}' was in flight; it is not repeated because it \
                     could act twice: check the provider before retrying",
                    action.action_id
                ),
            )));
        }
        if e.attempts > self.config.max_attempts {
            return Ok(Err(Error::new(
                ErrorKind::MaxAttemptsExceeded,
                format!("gave up after {} attempts", self.config.max_attempts),
            )));
        }
        Ok(Ok((connection, action)))
    }
}

/// The trace id of the delivery's `traceparent`, for the logs; empty when it carries none (or
/// an invalid one).
fn trace_id(delivery: &Delivery) -> String {
    delivery
        .trace_parent
        .as_deref()
        .and_then(parse_trace_parent)
        .map(|tp| tp.trace_id_hex())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(trace_parent: Option<&str>) -> Delivery {
        Delivery {
            message_id: "m".into(),
            receipt: "r".into(),
            body: "{}".into(),
            receive_count: 1,
            execution_id: None,
            trace_parent: trace_parent.map(str::to_string),
            fair_group: None,
        }
    }

    #[test]
    fn the_trace_id_comes_from_a_valid_trace_parent_only() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_id(&delivery(Some(valid))),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(trace_id(&delivery(None)), "");
        assert_eq!(trace_id(&delivery(Some("garbage"))), "");
    }
}
