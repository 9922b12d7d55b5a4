//! What the API admits before doing any work for a submission: a bound on submissions in flight
//! in this process (503 OVERLOADED beyond it, see also the enqueue backlog in
//! [`crate::enqueue`]) and each tenant's submission rate (429 TENANT_QUOTA_EXCEEDED).
//!
//! The rate is kept per API process, in memory (one token bucket per tenant, with the
//! arithmetic of `integrations_core::limits::bucket`): N API processes admit up to N times a
//! tenant's rate. That is enough to stop one tenant's burst from crowding the store and queue;
//! the worker's per-tenant in-flight cap is what keeps execution fair across tenants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use integrations_core::engine::TenantQuotas;
use integrations_core::limits::{Bucket, BucketLimit};
use integrations_core::model::now;
use integrations_core::{Error, ErrorKind, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::enqueue::OVERLOAD_RETRY_AFTER;

pub(crate) struct Admission {
    quotas: TenantQuotas,
    /// One bucket per tenant that submitted through this process.
    buckets: Mutex<HashMap<String, Bucket>>,
    in_flight: Arc<Semaphore>,
}

impl Admission {
    pub(crate) fn new(quotas: TenantQuotas, max_in_flight: usize) -> Self {
        Self {
            quotas,
            buckets: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
        }
    }

    /// A place among the submissions in flight, held until the execution is enqueued; none
    /// free answers OVERLOADED at once instead of queueing the request behind the others.
    pub(crate) fn enter(&self) -> Result<OwnedSemaphorePermit> {
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            metrics::counter!("api_shed_total", "reason" => "submissions_in_flight").increment(1);
            Error::new(
                ErrorKind::Overloaded,
                "too many submissions in flight; try again shortly",
            )
            .with_retry_after(Some(OVERLOAD_RETRY_AFTER))
        })
    }

    /// Take one submission from the tenant's bucket, or say how long until there is one.
    pub(crate) fn check_rate(&self, tenant_id: &str) -> Result<()> {
        let quota = self.quotas.for_tenant(tenant_id);
        if quota.rate <= 0.0 {
            return Ok(());
        }
        let limit = BucketLimit {
            burst: quota.effective_burst(),
            per_second: quota.rate,
        };
        let t = now();
        let grant = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            buckets
                .entry(tenant_id.to_string())
                .or_insert_with(|| Bucket::full(&limit, t))
                .take(&limit, 1, t)
        };
        if grant.granted > 0 {
            return Ok(());
        }
        metrics::counter!("api_tenant_quota_exceeded_total").increment(1);
        Err(Error::new(
            ErrorKind::TenantQuotaExceeded,
            format!(
                "the tenant's submission quota ({} per second) is used up; retry after the \
                 Retry-After header's seconds",
                quota.rate
            ),
        )
        .with_retry_after(Some(grant.retry_in)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_over_its_rate_is_told_when_to_retry_and_others_are_not_affected() {
        let mut quotas = TenantQuotas::default();
        quotas.add_override("t1=rate:1,burst:2").expect("valid");
        let a = Admission::new(quotas, 4);
        assert!(a.check_rate("t1").is_ok());
        assert!(a.check_rate("t1").is_ok());
        let e = a.check_rate("t1").expect_err("over the burst");
        assert_eq!(e.kind, ErrorKind::TenantQuotaExceeded);
        assert!(e.retryable);
        assert!(e.retry_after.is_some_and(|d| !d.is_zero()));
        for _ in 0..10 {
            assert!(a.check_rate("t2").is_ok(), "the default is unlimited");
        }
    }

    #[test]
    fn submissions_beyond_the_bound_are_shed_until_one_finishes() {
        let a = Admission::new(TenantQuotas::default(), 2);
        let first = a.enter().expect("free");
        let _second = a.enter().expect("free");
        let e = a.enter().expect_err("full");
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert_eq!(e.retry_after, Some(OVERLOAD_RETRY_AFTER));
        drop(first);
        assert!(a.enter().is_ok());
    }
}
