//! Token-bucket arithmetic, in one place for every store: a bucket holds up to `burst` tokens
//! and gains `per_second` of them each second; a take gets what is there, up to what it wants.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::Timestamp;

/// A limit as the catalog states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLimit {
    pub burst: u32,
    pub per_second: f64,
}

impl BucketLimit {
    /// `n` calls per minute, with a burst of `n` (the catalog's `rateLimit`).
    pub fn per_minute(n: u32) -> Self {
        Self {
            burst: n.max(1),
            per_second: f64::from(n.max(1)) / 60.0,
        }
    }
}

/// What a take got.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grant {
    pub granted: u32,
    /// When nothing was granted: how long until one token is there.
    pub retry_in: Duration,
}

/// A bucket's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub tokens: f64,
    pub at: Timestamp,
}

impl Bucket {
    /// A bucket seen for the first time is full.
    pub fn full(limit: &BucketLimit, now: Timestamp) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            at: now,
        }
    }

    /// Refill up to `now`, then take up to `want` whole tokens.
    pub fn take(&mut self, limit: &BucketLimit, want: u32, now: Timestamp) -> Grant {
        let elapsed = (now - self.at).num_milliseconds().max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
        self.at = now.max(self.at);
        let granted = (self.tokens.floor() as u32).min(want);
        self.tokens -= f64::from(granted);
        let retry_in = if granted > 0 || limit.per_second <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(((1.0 - self.tokens) / limit.per_second).max(0.001))
        };
        Grant { granted, retry_in }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_grants_its_burst_then_refills_at_its_rate() {
        let t = crate::model::now();
        let limit = BucketLimit::per_minute(60);
        let mut b = Bucket::full(&limit, t);
        assert_eq!(b.take(&limit, 50, t).granted, 50);
        assert_eq!(b.take(&limit, 50, t).granted, 10);
        let empty = b.take(&limit, 1, t);
        assert_eq!(empty.granted, 0);
        assert!(
            empty.retry_in > Duration::from_millis(900) && empty.retry_in <= Duration::from_secs(1)
        );
        let later = t + chrono::Duration::seconds(3);
        assert_eq!(b.take(&limit, 10, later).granted, 3);
        let much_later = t + chrono::Duration::hours(1);
        assert_eq!(
            b.take(&limit, 100, much_later).granted,
            60,
            "never beyond the burst"
        );
    }
}
