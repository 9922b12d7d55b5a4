//! Faults injected on demand, consumed in order by the calls they match.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::GHN_PREFIX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with `status` (default 500) and a GHN-shaped error envelope, with `Retry-After:
    /// retryAfterSecs` when set (a 503 with Retry-After).
    Status,
    /// Answer 429, with `Retry-After: retryAfterSecs` when set and no rate-limit header when not.
    RateLimit,
    /// Process the call, then hold the answer for `delayMs` (default 3000): the effect happens
    /// even if the caller gives up waiting, as with a slow real provider.
    Delay,
    /// Close the connection without answering and without processing the call.
    Drop,
    /// Answer 200 with a truncated JSON body.
    Malformed,
    /// Answer HTTP `status` (default 200) with GHN's error envelope
    /// `{code, message, data: null, code_message}`: GHN's "HTTP 200 but failed" case.
    Envelope,
    /// Answer 200 with a well-formed JSON body of `bytes` bytes (default 2 MiB): larger than a
    /// client's response cap.
    Oversize,
}

/// One fault, as posted to `POST /__faults`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// The GHN path it applies to, with or without the `/shiip/public-api` prefix
    /// (e.g. `/v2/shipping-order/fee`); any provider path when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub kind: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Oversize faults: the body's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Envelope faults: the body's `code` (default 500), `message`, `code_message`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_message: Option<String>,
    /// How many matching calls it affects before the next fault takes over.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    pub fn new(kind: FaultKind) -> Self {
        Self {
            path: None,
            kind,
            status: None,
            retry_after_secs: None,
            delay_ms: None,
            bytes: None,
            code: None,
            message: None,
            code_message: None,
            times: 1,
        }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(FaultKind::Status)
        }
    }

    pub fn rate_limit(retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(FaultKind::RateLimit)
        }
    }

    pub fn delay(delay: Duration) -> Self {
        Self {
            delay_ms: Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            ..Self::new(FaultKind::Delay)
        }
    }

    pub fn drop_connection() -> Self {
        Self::new(FaultKind::Drop)
    }

    pub fn malformed() -> Self {
        Self::new(FaultKind::Malformed)
    }

    /// HTTP 200 carrying GHN's error envelope with this `code`, `message` and `code_message`.
    pub fn envelope(code: i64, message: &str, code_message: Option<&str>) -> Self {
        Self {
            code: Some(code),
            message: Some(message.to_string()),
            code_message: code_message.map(str::to_string),
            ..Self::new(FaultKind::Envelope)
        }
    }

    /// Restrict the fault to one GHN path.
    pub fn on(mut self, path: &str) -> Self {
        self.path = Some(path.to_string());
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    fn validate(&self) -> Result<(), String> {
        if self.times == 0 {
            return Err("times must be at least 1".into());
        }
        if let Some(s) = self.status {
            if !(100..=599).contains(&s) {
                return Err(format!("status {s} is not an HTTP status"));
            }
        }
        Ok(())
    }
}

/// The queue. `pending` lets the hot path skip the lock when no fault is queued.
#[derive(Default)]
pub(crate) struct FaultQueue {
    pending: AtomicUsize,
    served: AtomicU64,
    queue: Mutex<VecDeque<Fault>>,
}

impl FaultQueue {
    pub(crate) fn push(&self, mut fault: Fault) -> Result<(), String> {
        fault.validate()?;
        fault.path = fault.path.map(|p| normalize_path(&p));
        let mut q = lock(&self.queue);
        q.push_back(fault);
        self.pending.store(q.len(), Ordering::Release);
        Ok(())
    }

    pub(crate) fn clear(&self) -> usize {
        let mut q = lock(&self.queue);
        let n = q.len();
        q.clear();
        self.pending.store(0, Ordering::Release);
        n
    }

    pub(crate) fn pending(&self) -> Vec<Fault> {
        lock(&self.queue).iter().cloned().collect()
    }

    pub(crate) fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }

    pub(crate) fn reset_served(&self) {
        self.served.store(0, Ordering::Relaxed);
    }

    /// The first queued fault matching `path` (already stripped of the GHN prefix), consuming
    /// one of its `times`.
    pub(crate) fn take(&self, path: &str) -> Option<Fault> {
        if self.pending.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut q = lock(&self.queue);
        let i = q
            .iter()
            .position(|f| f.path.as_deref().is_none_or(|p| p == path))?;
        let fault = q[i].clone();
        q[i].times -= 1;
        if q[i].times == 0 {
            q.remove(i);
        }
        self.pending.store(q.len(), Ordering::Release);
        self.served.fetch_add(1, Ordering::Relaxed);
        Some(fault)
    }
}

/// `/shiip/public-api/v2/x`, `shiip/public-api/v2/x` and `v2/x` all mean `/v2/x`.
fn normalize_path(p: &str) -> String {
    let p = p.trim_start_matches('/');
    let p = p
        .strip_prefix(GHN_PREFIX.trim_start_matches('/'))
        .unwrap_or(p);
    format!("/{}", p.trim_start_matches('/'))
}

/// Locks never guard an await and their critical sections cannot panic, so a poisoned lock
/// still holds consistent data.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_per_matching_path() {
        let q = FaultQueue::default();
        q.push(
            Fault::status(500)
                .on("shiip/public-api/v2/shipping-order/fee")
                .times(2),
        )
        .expect("push");
        q.push(Fault::status(502)).expect("push");
        // The fee fault does not match create; the path-less one does.
        assert_eq!(
            q.take("/v2/shipping-order/create").and_then(|f| f.status),
            Some(502)
        );
        assert_eq!(
            q.take("/v2/shipping-order/fee").and_then(|f| f.status),
            Some(500)
        );
        assert_eq!(
            q.take("/v2/shipping-order/fee").and_then(|f| f.status),
            Some(500)
        );
        assert_eq!(q.take("/v2/shipping-order/fee"), None);
        assert_eq!(q.served(), 3);
    }

    #[test]
    fn zero_times_is_rejected() {
        let q = FaultQueue::default();
        assert!(q.push(Fault::malformed().times(0)).is_err());
    }

    #[test]
    fn posted_json_uses_camel_case() {
        let f: Fault = serde_json::from_str(
            r#"{"path":"/v2/shipping-order/fee","kind":"rate_limit","retryAfterSecs":2,"times":3}"#,
        )
        .expect("parse");
        assert_eq!(f.kind, FaultKind::RateLimit);
        assert_eq!(f.retry_after_secs, Some(2));
        assert_eq!(f.times, 3);
    }
}
