//! Rate limits shared by the whole fleet: token buckets in the store ([`RateLimitStore`]),
//! taken a few tokens at a time so that a busy process asks the store once per several calls.
//! Tokens a process took but did not use within [`LOCAL_TTL`] are dropped, so a process cannot
//! hoard a burst and spend it later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bucket::BucketLimit;
use crate::backend::RateLimitStore;
use crate::cache::LoadGates;
use crate::error::Result;
use crate::model::now;

/// How long tokens taken from the store may wait in a process.
pub const LOCAL_TTL: Duration = Duration::from_secs(1);

pub struct FleetLimits {
    store: Arc<dyn RateLimitStore>,
    local: Mutex<HashMap<String, (u32, Instant)>>,
    gates: LoadGates<String>,
}

impl FleetLimits {
    pub fn new(store: Arc<dyn RateLimitStore>) -> Self {
        Self {
            store,
            local: Mutex::new(HashMap::new()),
            gates: LoadGates::default(),
        }
    }

    /// Tokens asked of the store at once: a quarter of the burst, 1 to 10. With 5 or more per
    /// request a busy fleet spends at most 0.2 store requests per call; a strict limit (small
    /// burst) is shared finely among processes instead.
    pub fn batch(limit: &BucketLimit) -> u32 {
        (limit.burst / 4).clamp(1, 10)
    }

    fn take_local(&self, key: &str) -> bool {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        match local.get_mut(key) {
            Some((n, at)) if *n > 0 && at.elapsed() < LOCAL_TTL => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// None if a call may go now (it took a token), else how long to wait before asking again.
    pub async fn check(&self, key: &str, limit: &BucketLimit) -> Result<Option<Duration>> {
        if self.take_local(key) {
            return Ok(None);
        }
        // Concurrent misses of one key share a take from the store.
        let _turn = self.gates.turn(&key.to_string()).await;
        if self.take_local(key) {
            return Ok(None);
        }
        let grant = self
            .store
            .take_tokens(key, limit, Self::batch(limit), now())
            .await?;
        metrics::counter!("rate_limit_store_takes_total").increment(1);
        if grant.granted == 0 {
            return Ok(Some(grant.retry_in));
        }
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.insert(key.to_string(), (grant.granted - 1, Instant::now()));
        if local.len() > 100_000 {
            local.retain(|_, (n, at)| *n > 0 && at.elapsed() < LOCAL_TTL);
        }
        Ok(None)
    }
}
