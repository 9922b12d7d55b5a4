//! Rate limits and circuit breakers. Both answer "wait this long" rather than "fail": the engine
//! delays the execution, and a delay is not an attempt.
//!
//! Rate limits are fleet-wide ([`fleet`]: token buckets in the store, [`bucket`] their
//! arithmetic). Breakers are per process; providers' 429s (with Retry-After) are honoured by the
//! retry path regardless.

pub mod bucket;
pub mod fleet;

pub use bucket::{Bucket, BucketLimit, Grant};
pub use fleet::FleetLimits;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    /// Consecutive failures that open the breaker.
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is in flight; everyone else waits for its outcome.
    HalfOpen {
        probe_started: Instant,
    },
}

/// Circuit breakers keyed by integration id.
pub struct Breakers {
    config: BreakerConfig,
    states: Mutex<HashMap<String, State>>,
}

impl Breakers {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// None if a call may go now, else how long to wait before asking again.
    pub fn check(&self, integration_id: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let state = states
            .entry(integration_id.to_string())
            .or_insert(State::Closed { failures: 0 });
        match *state {
            State::Closed { .. } => None,
            State::Open { until } if now >= until => {
                *state = State::HalfOpen { probe_started: now };
                None
            }
            State::Open { until } => Some(until - now),
            // A probe that never reported (its task died) must not wedge the breaker.
            State::HalfOpen { probe_started } if now - probe_started > self.config.open_for => {
                *state = State::HalfOpen { probe_started: now };
                None
            }
            State::HalfOpen { .. } => Some(Duration::from_secs(1)),
        }
    }

    pub fn record_success(&self, integration_id: &str) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let previous = states.insert(integration_id.to_string(), State::Closed { failures: 0 });
        if !matches!(previous, None | Some(State::Closed { .. })) {
            tracing::info!(integration_id, "circuit breaker closed");
            metrics::gauge!("circuit_breaker_open", "integration" => integration_id.to_string())
                .set(0.0);
            metrics::counter!("circuit_breaker_transitions_total",
                "integration" => integration_id.to_string(), "to" => "closed")
            .increment(1);
        }
    }

    /// Record a failure that says the provider is unhealthy (5xx, timeouts, network), not a
    /// caller's mistake.
    pub fn record_failure(&self, integration_id: &str) {
        let now = Instant::now();
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let state = states
            .entry(integration_id.to_string())
            .or_insert(State::Closed { failures: 0 });
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.config.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            _ => {
                tracing::warn!(integration_id, "circuit breaker opened");
                metrics::gauge!("circuit_breaker_open", "integration" => integration_id.to_string())
                    .set(1.0);
                metrics::counter!("circuit_breaker_transitions_total",
                    "integration" => integration_id.to_string(), "to" => "open")
                .increment(1);
                State::Open {
                    until: now + self.config.open_for,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_threshold_and_lets_one_probe_through() {
        let b = Breakers::new(BreakerConfig {
            failure_threshold: 2,
            open_for: Duration::from_millis(30),
        });
        assert_eq!(b.check("x"), None);
        b.record_failure("x");
        assert_eq!(b.check("x"), None);
        b.record_failure("x");
        assert!(b.check("x").is_some(), "open after two failures");
        assert_eq!(b.check("y"), None, "other integrations unaffected");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(b.check("x"), None, "the probe goes");
        assert!(b.check("x").is_some(), "others wait for the probe");
        b.record_success("x");
        assert_eq!(b.check("x"), None);
    }
}
