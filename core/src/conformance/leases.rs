//! [`LeaseStore`] conformance: named leases are exclusive until they expire or are released;
//! their owner may extend them; of many concurrent takers exactly one wins.

use std::sync::Arc;

use crate::backend::{Lease, LeaseStore};
use crate::conformance::fresh_id;
use crate::model::{now, Timestamp};

pub async fn leases_suite(store: Arc<dyn LeaseStore>) {
    exclusive_until_expired_or_released(store.clone()).await;
    one_of_many_takers_wins(store).await;
}

fn lease(owner: &str, until: Timestamp) -> Lease {
    Lease {
        owner: owner.to_string(),
        until,
    }
}

fn secs(t: Timestamp, s: i64) -> Timestamp {
    t + chrono::Duration::seconds(s)
}

pub async fn exclusive_until_expired_or_released(store: Arc<dyn LeaseStore>) {
    let name = format!("conformance:{}", fresh_id());
    let t = now();
    assert!(store
        .acquire_lease(&name, &lease("a", secs(t, 30)), t)
        .await
        .expect("acquire"));
    assert!(
        !store
            .acquire_lease(&name, &lease("b", secs(t, 30)), t)
            .await
            .expect("acquire"),
        "held by a"
    );
    assert!(
        store
            .acquire_lease(&name, &lease("a", secs(t, 60)), t)
            .await
            .expect("acquire"),
        "its owner extends it"
    );
    assert!(
        !store
            .acquire_lease(&name, &lease("b", secs(t, 90)), secs(t, 45))
            .await
            .expect("acquire"),
        "extended past 45 s"
    );
    assert!(
        store
            .acquire_lease(&name, &lease("b", secs(t, 120)), secs(t, 61))
            .await
            .expect("acquire"),
        "expired: b takes it"
    );
    // Only the owner releases.
    store.release_lease(&name, "a").await.expect("release");
    assert!(!store
        .acquire_lease(&name, &lease("c", secs(t, 130)), secs(t, 62))
        .await
        .expect("acquire"));
    store.release_lease(&name, "b").await.expect("release");
    assert_eq!(store.get_lease(&name).await.expect("get"), None, "released");
    assert!(store
        .acquire_lease(&name, &lease("c", secs(t, 130)), secs(t, 62))
        .await
        .expect("acquire"));
    // Releasing a lease nobody holds is not an error.
    store
        .release_lease(&format!("conformance:{}", fresh_id()), "x")
        .await
        .expect("release");
}

pub async fn one_of_many_takers_wins(store: Arc<dyn LeaseStore>) {
    let name = format!("conformance:{}", fresh_id());
    let t = now();
    let takers = (0..8).map(|i| {
        let store = store.clone();
        let name = name.clone();
        tokio::spawn(async move {
            store
                .acquire_lease(&name, &lease(&format!("w{i}"), secs(t, 30)), t)
                .await
                .expect("acquire")
        })
    });
    let mut won = 0;
    for taker in takers {
        if taker.await.expect("join") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one taker holds the lease");
}
