//! [`crate::limits::Breakers`] over a backend's lease store: a breaker opened by one process
//! holds back the others, lets exactly one probe through once it ends, and closes for everyone
//! when the probe succeeds.

use std::time::Duration;

use crate::backend::Backend;
use crate::conformance::fresh_id;
use crate::limits::{BreakerConfig, Breakers};

/// `a` and `b` are two independent handles on one store (two processes).
pub async fn one_breaker_across_processes(a: Backend, b: Backend) {
    let integration = format!("conformance-{}", fresh_id());
    let config = BreakerConfig {
        failure_threshold: 3,
        open_for: Duration::from_secs(4),
    };
    let pa = Breakers::new(a.leases, "process-a", config);
    let pb = Breakers::new(b.leases, "process-b", config);
    assert_eq!(
        pb.check(&integration).await.expect("check"),
        None,
        "closed at first"
    );
    for _ in 0..3 {
        pa.record_failure(&integration).await;
    }
    assert!(
        pa.check(&integration).await.expect("check").is_some(),
        "open in a"
    );
    // b reads through a one-second cache: it sees the breaker open within it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        pb.check(&integration).await.expect("check").is_some(),
        "open for the whole fleet"
    );
    // Once it ends, one probe goes, from one process only (margins wide for a loaded machine:
    // b's check above ran well before the end, this one well after).
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let from_a = pa.check(&integration).await.expect("check");
    let from_b = pb.check(&integration).await.expect("check");
    assert_eq!(
        [from_a.is_none(), from_b.is_none()]
            .iter()
            .filter(|x| **x)
            .count(),
        1,
        "exactly one probe: {from_a:?} {from_b:?}"
    );
    let prober = if from_a.is_none() { &pa } else { &pb };
    prober.record_success(&integration).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        pa.check(&integration).await.expect("check"),
        None,
        "closed in a"
    );
    assert_eq!(
        pb.check(&integration).await.expect("check"),
        None,
        "closed in b"
    );
}
