//! Circuit breakers per integration, shared by the fleet. Each process counts consecutive
//! provider failures; the one that reaches the threshold opens the breaker for everyone: a named
//! lease `breaker:<integration>` held until the breaker may close, read through a one-second
//! cache. Once it ends, one probe across the fleet (a second lease) decides: a success closes
//! the breaker, a failure opens it again. State transitions are logged and exported as metrics.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backend::{Lease, LeaseStore};
use crate::cache::TtlCache;
use crate::engine::chrono_duration;
use crate::error::Result;
use crate::model::now;

#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    /// Consecutive failures (in one process) that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before one probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

/// The open breaker's lease owner: any process may extend it.
const OPEN: &str = "open";
/// How long a process trusts what it read of a breaker.
const READ_CACHE: Duration = Duration::from_secs(1);
/// While another process probes, others ask again this soon.
const PROBE_WAIT: Duration = Duration::from_secs(1);

pub struct Breakers {
    leases: Arc<dyn LeaseStore>,
    owner: String,
    config: BreakerConfig,
    failures: Mutex<HashMap<String, u32>>,
    /// Integrations this process is probing now.
    probing: Mutex<HashSet<String>>,
    state: TtlCache<String, Option<Lease>>,
}

fn breaker(integration_id: &str) -> String {
    format!("breaker:{integration_id}")
}

fn probe(integration_id: &str) -> String {
    format!("breaker-probe:{integration_id}")
}

impl Breakers {
    pub fn new(
        leases: Arc<dyn LeaseStore>,
        owner: impl Into<String>,
        config: BreakerConfig,
    ) -> Self {
        Self {
            leases,
            owner: owner.into(),
            config,
            failures: Mutex::new(HashMap::new()),
            probing: Mutex::new(HashSet::new()),
            state: TtlCache::new(READ_CACHE, 10_000),
        }
    }

    /// None if a call may go now, else how long to wait before asking again.
    pub async fn check(&self, integration_id: &str) -> Result<Option<Duration>> {
        let key = integration_id.to_string();
        let name = breaker(integration_id);
        let open = self
            .state
            .get_or_load(&key, || self.leases.get_lease(&name))
            .await?;
        let Some(open) = open else {
            return Ok(None);
        };
        let t = now();
        if open.until > t {
            return Ok(Some((open.until - t).to_std().unwrap_or(PROBE_WAIT)));
        }
        // Half open: one probe for the whole fleet.
        if self.lock_probing().contains(&key) {
            return Ok(Some(PROBE_WAIT));
        }
        let lease = Lease {
            owner: self.owner.clone(),
            until: t + chrono_duration(self.config.open_for),
        };
        if self
            .leases
            .acquire_lease(&probe(integration_id), &lease, t)
            .await?
        {
            self.lock_probing().insert(key);
            tracing::info!(integration_id, "circuit breaker half open: probing");
            return Ok(None);
        }
        Ok(Some(PROBE_WAIT))
    }

    pub async fn record_success(&self, integration_id: &str) {
        self.lock_failures().remove(integration_id);
        if !self.lock_probing().remove(integration_id) {
            return;
        }
        let closed = self
            .leases
            .release_lease(&breaker(integration_id), OPEN)
            .await;
        let _ = self
            .leases
            .release_lease(&probe(integration_id), &self.owner)
            .await;
        self.state.remove(&integration_id.to_string());
        match closed {
            Ok(()) => {
                tracing::info!(integration_id, "circuit breaker closed");
                transition(integration_id, "closed");
            }
            Err(e) => tracing::warn!(integration_id, error = %e, "closing the breaker failed"),
        }
    }

    /// Record a failure that says the provider is unhealthy (5xx, timeouts, network), not a
    /// caller's mistake.
    pub async fn record_failure(&self, integration_id: &str) {
        let probe_failed = self.lock_probing().remove(integration_id);
        let reached = {
            let mut failures = self.lock_failures();
            let n = failures.entry(integration_id.to_string()).or_insert(0);
            *n += 1;
            if *n >= self.config.failure_threshold {
                *n = 0;
                true
            } else {
                false
            }
        };
        if !(reached || probe_failed) {
            return;
        }
        let t = now();
        let lease = Lease {
            owner: OPEN.to_string(),
            until: t + chrono_duration(self.config.open_for),
        };
        let opened = self
            .leases
            .acquire_lease(&breaker(integration_id), &lease, t)
            .await;
        if probe_failed {
            let _ = self
                .leases
                .release_lease(&probe(integration_id), &self.owner)
                .await;
        }
        self.state.insert(integration_id.to_string(), Some(lease));
        match opened {
            Ok(_) => {
                tracing::warn!(integration_id, "circuit breaker opened");
                transition(integration_id, "open");
            }
            Err(e) => tracing::warn!(integration_id, error = %e, "opening the breaker failed"),
        }
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_probing(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.probing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn transition(integration_id: &str, to: &'static str) {
    metrics::gauge!("circuit_breaker_open", "integration" => integration_id.to_string())
        .set(if to == "open" { 1.0 } else { 0.0 });
    metrics::counter!("circuit_breaker_transitions_total",
        "integration" => integration_id.to_string(), "to" => to)
    .increment(1);
}
