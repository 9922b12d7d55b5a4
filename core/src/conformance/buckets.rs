//! [`RateLimitStore`] conformance: a new bucket is full, takes never exceed what it holds (also
//! when many take at once), and it refills at its rate.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::RateLimitStore;
use crate::conformance::fresh_id;
use crate::limits::BucketLimit;
use crate::model::now;

pub async fn buckets_suite(store: Arc<dyn RateLimitStore>) {
    grants_the_burst_then_refills(store.clone()).await;
    concurrent_takers_share_the_burst(store).await;
}

pub async fn grants_the_burst_then_refills(store: Arc<dyn RateLimitStore>) {
    let key = format!("conformance:{}", fresh_id());
    let limit = BucketLimit::per_minute(60);
    let t = now();
    let first = store.take_tokens(&key, &limit, 40, t).await.expect("take");
    assert_eq!(first.granted, 40);
    let second = store.take_tokens(&key, &limit, 40, t).await.expect("take");
    assert_eq!(second.granted, 20, "only what is left");
    let empty = store.take_tokens(&key, &limit, 1, t).await.expect("take");
    assert_eq!(empty.granted, 0);
    assert!(empty.retry_in > Duration::ZERO && empty.retry_in <= Duration::from_secs(1));
    let later = t + chrono::Duration::seconds(5);
    let refilled = store
        .take_tokens(&key, &limit, 10, later)
        .await
        .expect("take");
    assert_eq!(refilled.granted, 5, "one a second");
    // Another key has its own bucket.
    let other = format!("conformance:{}", fresh_id());
    assert_eq!(
        store
            .take_tokens(&other, &limit, 1, t)
            .await
            .expect("take")
            .granted,
        1
    );
}

pub async fn concurrent_takers_share_the_burst(store: Arc<dyn RateLimitStore>) {
    let key = format!("conformance:{}", fresh_id());
    let limit = BucketLimit {
        burst: 10,
        per_second: 0.0001,
    };
    let t = now();
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.take_tokens(&key, &limit, 3, t).await.expect("take") })
        })
        .collect();
    let mut total = 0;
    for taker in takers {
        total += taker.await.expect("join").granted;
    }
    assert_eq!(total, 10, "exactly the burst, however the takes interleave");
}

/// Two processes (two handles on one store), each with its own [`crate::limits::FleetLimits`],
/// calling as fast as they can: together they get the limit's burst, not twice it.
pub async fn two_processes_share_one_limit(a: crate::backend::Backend, b: crate::backend::Backend) {
    use crate::limits::FleetLimits;
    let key = format!("conformance:{}", fresh_id());
    let limit = BucketLimit {
        burst: 40,
        per_second: 0.001,
    };
    let limiters = [a, b].map(|backend| Arc::new(FleetLimits::new(backend.rate_limits)));
    let callers: Vec<_> = (0..16)
        .map(|i| {
            let (limiter, key) = (limiters[i % 2].clone(), key.clone());
            tokio::spawn(async move {
                let mut allowed = 0;
                for _ in 0..10 {
                    if limiter.check(&key, &limit).await.expect("check").is_none() {
                        allowed += 1;
                    }
                }
                allowed
            })
        })
        .collect();
    let mut total = 0;
    for caller in callers {
        total += caller.await.expect("join");
    }
    assert_eq!(
        total, 40,
        "160 calls in two processes, a fleet-wide burst of 40"
    );
}
