//! What the API admits before doing any work for a submission: a bound on submissions in flight
//! in this process (503 OVERLOADED beyond it, see also the enqueue backlog in
//! [`crate::enqueue`]) and each tenant's submission rate (429 TENANT_QUOTA_EXCEEDED).
//!
//! The rate is fleet-wide: one token bucket per tenant in the store, taken through the same
//! [`FleetLimits`] as providers' rate limits (a few tokens at a time per process), so N API
//! processes together admit the tenant's rate, not N times it. It costs no store request while
//! quotas are off (the default).

use std::sync::Arc;

use integrations_core::backend::RateLimitStore;
use integrations_core::engine::TenantQuotas;
use integrations_core::limits::{BucketLimit, FleetLimits};
use integrations_core::{Error, ErrorKind, Result};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::enqueue::OVERLOAD_RETRY_AFTER;

pub(crate) struct Admission {
    quotas: TenantQuotas,
    /// Tenants' submission buckets, in the store.
    limits: FleetLimits,
    in_flight: Arc<Semaphore>,
}

impl Admission {
    pub(crate) fn new(
        quotas: TenantQuotas,
        max_in_flight: usize,
        store: Arc<dyn RateLimitStore>,
    ) -> Self {
        Self {
            quotas,
            limits: FleetLimits::new(store),
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
    /// A store failure is the store's error (503), never a refusal of the tenant.
    pub(crate) async fn check_rate(&self, tenant_id: &str) -> Result<()> {
        let quota = self.quotas.for_tenant(tenant_id);
        if quota.rate <= 0.0 {
            return Ok(());
        }
        let limit = BucketLimit {
            burst: quota.effective_burst(),
            per_second: quota.rate,
        };
        let key = format!("tenant-submissions:{tenant_id}");
        let Some(retry_in) = self.limits.check(&key, &limit).await? else {
            return Ok(());
        };
        metrics::counter!("api_tenant_quota_exceeded_total").increment(1);
        Err(Error::new(
            ErrorKind::TenantQuotaExceeded,
            format!(
                "the tenant's submission quota ({} per second) is used up; retry after the \
                 Retry-After header's seconds",
                quota.rate
            ),
        )
        .with_retry_after(Some(retry_in)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store(dir: &tempfile::TempDir) -> Arc<dyn RateLimitStore> {
        let config = backend_embedded::EmbeddedConfig::new(
            dir.path().join("integrations.db"),
            backend_embedded::SecretKeySource::Raw(vec![7; 32]),
        );
        backend_embedded::open(&config)
            .await
            .expect("open")
            .rate_limits
    }

    /// Two admissions on one store stand for two API processes.
    #[tokio::test]
    async fn a_tenant_over_its_rate_is_told_when_to_retry_by_any_process_and_others_are_not_affected(
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut quotas = TenantQuotas::default();
        quotas.add_override("t1=rate:0.1,burst:2").expect("valid");
        let a = Admission::new(quotas.clone(), 4, store(&dir).await);
        let b = Admission::new(quotas, 4, store(&dir).await);
        assert!(a.check_rate("t1").await.is_ok());
        assert!(b.check_rate("t1").await.is_ok());
        for process in [&a, &b] {
            let e = process.check_rate("t1").await.expect_err("over the burst");
            assert_eq!(e.kind, ErrorKind::TenantQuotaExceeded);
            assert!(e.retryable);
            assert!(e.retry_after.is_some_and(|d| !d.is_zero()));
        }
        for _ in 0..10 {
            assert!(a.check_rate("t2").await.is_ok(), "the default is unlimited");
        }
    }

    #[tokio::test]
    async fn submissions_beyond_the_bound_are_shed_until_one_finishes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = Admission::new(TenantQuotas::default(), 2, store(&dir).await);
        let first = a.enter().expect("free");
        let _second = a.enter().expect("free");
        let e = a.enter().expect_err("full");
        assert_eq!(e.kind, ErrorKind::Overloaded);
        assert_eq!(e.retry_after, Some(OVERLOAD_RETRY_AFTER));
        drop(first);
        assert!(a.enter().is_ok());
    }
}
