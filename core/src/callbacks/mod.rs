//! Durable callbacks: a finished execution that asked for one (`callbackUrl`) gets a callback
//! record in the same atomic write as its terminal state and result event, so a crash after that
//! write cannot lose it. Any worker process may deliver it, holding a lease like an execution;
//! each attempt is recorded, retried on a fixed schedule, and when all attempts fail a
//! `CallbackFailed` event goes on the bus. Deliveries run beside executions (see [`deliver`]):
//! a dead endpoint never holds a worker slot.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::backend::Lease;
use crate::engine::RETENTION;
use crate::model::Timestamp;

pub mod deliver;
pub mod payload;
mod record;

pub use payload::CallbackPayload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    /// Waiting for its next attempt (or being attempted under a lease).
    Pending,
    /// A 2xx answer arrived.
    Delivered,
    /// Every attempt of the schedule failed, or the receiver answered 410 Gone.
    Failed,
}

impl CallbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One delivery attempt, as shown on the execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallbackAttempt {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The receiver's HTTP status; None when no answer arrived (refused, timed out, blocked).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 100, maximum = 599)]
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The callback of one execution. Its body and `webhook_id` are fixed when the execution
/// finishes, so every retry sends the same bytes under the same id (receivers deduplicate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    pub tenant_id: String,
    pub execution_id: String,
    pub url: String,
    /// The caller service whose secret signs it.
    pub signer: Option<String>,
    pub webhook_id: String,
    /// The JSON payload ([`CallbackPayload`]), serialized once.
    pub body: String,
    pub status: CallbackStatus,
    pub attempts: Vec<CallbackAttempt>,
    /// Attempts of the current round of the schedule (a redelivery starts a new round).
    pub round_attempts: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// The process attempting it now, if any.
    pub lease: Option<Lease>,
    /// Bumped by every change: remote stores write conditionally on it.
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub expires_at: Timestamp,
}

impl Callback {
    /// When a deliverer may take it: its next attempt time, or the end of the current lease.
    pub fn due_at(&self) -> Option<Timestamp> {
        if self.status != CallbackStatus::Pending {
            return None;
        }
        let next = self.next_attempt_at?;
        Some(match &self.lease {
            Some(l) => l.until.max(next),
            None => next,
        })
    }

    pub fn new(
        tenant_id: &str,
        execution_id: &str,
        url: &str,
        signer: Option<&str>,
        body: String,
        at: Timestamp,
        lease: Option<Lease>,
    ) -> Self {
        Self {
            tenant_id: tenant_id.to_string(),
            execution_id: execution_id.to_string(),
            url: url.to_string(),
            signer: signer.map(str::to_string),
            webhook_id: format!("msg_{execution_id}"),
            body,
            status: CallbackStatus::Pending,
            attempts: Vec::new(),
            round_attempts: 0,
            next_attempt_at: Some(at),
            lease,
            version: 0,
            created_at: at,
            updated_at: at,
            expires_at: at + RETENTION,
        }
    }
}

impl Callback {
    /// Whether `lease` is this pending callback's current lease (its holder may record an
    /// attempt). The whole lease is compared: a callback replaced since (its execution was
    /// redriven and finished again) is born with another, even for the same worker.
    pub fn leased_by(&self, lease: &Lease) -> bool {
        self.status == CallbackStatus::Pending && self.lease.as_ref() == Some(lease)
    }

    /// Taken by a deliverer (the store checked it was due).
    pub fn claim(&mut self, lease: Lease) {
        self.lease = Some(lease);
        self.version += 1;
    }

    /// The callback after `attempt` led to `outcome`: the lease ends either way.
    pub fn apply_attempt(&mut self, attempt: CallbackAttempt, outcome: &AttemptOutcome) {
        self.version += 1;
        self.updated_at = attempt.at;
        self.attempts.push(attempt);
        if self.attempts.len() > MAX_RECORDED_ATTEMPTS {
            self.attempts.remove(0);
        }
        self.round_attempts += 1;
        self.lease = None;
        match outcome {
            AttemptOutcome::Delivered => {
                self.status = CallbackStatus::Delivered;
                self.next_attempt_at = None;
            }
            AttemptOutcome::RetryAt(at) => self.next_attempt_at = Some(*at),
            AttemptOutcome::Failed => {
                self.status = CallbackStatus::Failed;
                self.next_attempt_at = None;
            }
        }
    }

    /// Deliver again on demand: a delivered or failed callback starts a new round of the
    /// schedule; a pending one waiting for its next attempt is made due now. One being
    /// attempted right now (an unexpired lease) is left as it is: that attempt is the
    /// redelivery.
    pub fn redeliver(&mut self, now: Timestamp) {
        match self.status {
            CallbackStatus::Pending if self.lease.as_ref().is_some_and(|l| l.until > now) => return,
            CallbackStatus::Pending => {}
            CallbackStatus::Delivered | CallbackStatus::Failed => {
                self.status = CallbackStatus::Pending;
                self.round_attempts = 0;
            }
        }
        self.version += 1;
        self.lease = None;
        self.next_attempt_at = Some(now);
        self.updated_at = now;
    }
}

/// What an attempt leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(Timestamp),
    /// No attempt left (or 410 Gone): `CallbackFailed` goes on the bus with it.
    Failed,
}

/// Attempts kept on a callback: a callback redelivered many times keeps its latest ones.
pub const MAX_RECORDED_ATTEMPTS: usize = 50;

/// When each attempt of a round is due, after the previous one (the first: at once).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule(pub Vec<Duration>);

impl Default for Schedule {
    /// At once, then about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    fn default() -> Self {
        let m = 60;
        let h = 3600;
        Self(
            [0, 5, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 10 * h]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        )
    }
}

impl Schedule {
    pub fn attempts(&self) -> u32 {
        self.0.len() as u32
    }

    /// The wait before the next attempt after `done` attempts of the round failed, with ±10 %
    /// jitter (so that a receiver that was down is not hit by every retry at once) and never
    /// shorter than the receiver's Retry-After; None when the round is over.
    pub fn next_delay(&self, done: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.0.get(done as usize)?;
        let jitter = rand::thread_rng().gen_range(0.9..=1.1);
        Some(base.mul_f64(jitter).max(retry_after.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_has_eight_attempts_and_ends() {
        let s = Schedule::default();
        assert_eq!(s.attempts(), 8);
        assert_eq!(s.next_delay(0, None), Some(Duration::ZERO));
        let second = s.next_delay(1, None).expect("a second attempt");
        assert!(second >= Duration::from_millis(4500) && second <= Duration::from_millis(5500));
        assert!(s.next_delay(8, None).is_none());
        let honoured = s.next_delay(1, Some(Duration::from_secs(60))).expect("due");
        assert_eq!(honoured, Duration::from_secs(60));
    }
}
