//! [`crate::renewal::Renewer`] over a backend's secret and lease stores: many concurrent
//! renewals of one stale secret, spread over two processes (two opens of the same store), log in
//! exactly once, and everyone ends up with the renewed credentials.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::backend::Backend;
use crate::conformance::fresh_id;
use crate::model::Credentials;
use crate::renewal::Renewer;

/// `a` and `b` are two independent handles on one store (two processes).
pub async fn one_login_across_processes(a: Backend, b: Backend, concurrent: usize) {
    let name = format!("/integrations/conformance-{}/renewal", fresh_id());
    let stale = Credentials([("token".to_string(), "expired".to_string())].into());
    a.secrets.put_secret(&name, &stale).await.expect("put");
    let renewers = [a, b].map(|backend| {
        Arc::new(
            Renewer::new(backend.secrets, backend.leases, format!("w-{}", fresh_id()))
                .with_timing(Duration::from_secs(10), Duration::from_millis(50)),
        )
    });
    let logins = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrent)
        .map(|i| {
            let renewer = renewers[i % 2].clone();
            let (name, stale, logins) = (name.clone(), stale.clone(), logins.clone());
            tokio::spawn(async move {
                renewer
                    .renew(&name, &stale, |mut current| async move {
                        logins.fetch_add(1, Ordering::SeqCst);
                        // A login takes a while: the others must wait, not log in too.
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        current.0.insert("token".into(), "fresh".into());
                        Ok(current)
                    })
                    .await
                    .expect("renew")
            })
        })
        .collect();
    for task in tasks {
        let got = task.await.expect("join");
        assert_eq!(got.get("token"), Some("fresh"));
    }
    assert_eq!(logins.load(Ordering::SeqCst), 1, "exactly one login");
    let stored = renewers[0].renew(&name, &stale, |_| async {
        panic!("renewed credentials are not stale")
    });
    assert_eq!(stored.await.expect("renew").get("token"), Some("fresh"));
}

/// A renewer stalled past its lease (the provider answered late) does not write over the
/// renewal of the one that took the lease after it: with rotating refresh tokens, the later
/// write holds the only refresh token the provider still honours.
pub async fn a_stalled_renewer_does_not_overwrite_a_newer_renewal(a: Backend, b: Backend) {
    let name = format!("/integrations/conformance-{}/stalled", fresh_id());
    let stale = Credentials([("token".to_string(), "expired".to_string())].into());
    a.secrets.put_secret(&name, &stale).await.expect("put");
    let renewer = |backend: &Backend, hold: Duration| {
        Renewer::new(
            backend.secrets.clone(),
            backend.leases.clone(),
            format!("w-{}", fresh_id()),
        )
        .with_timing(hold, Duration::from_millis(20))
    };
    let (slow, quick) = (
        renewer(&a, Duration::from_millis(300)),
        renewer(&b, Duration::from_secs(10)),
    );
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
    let slow_renewal = {
        let (name, stale) = (name.clone(), stale.clone());
        tokio::spawn(async move {
            slow.renew(&name, &stale, |mut current| async move {
                started_tx.send(()).expect("signal");
                // Held here until the quick renewer has taken the expired lease and written.
                finish_rx.await.expect("released");
                current.0.insert("token".into(), "from-the-stalled".into());
                Ok(current)
            })
            .await
        })
    };
    started_rx.await.expect("the slow renewer logs in");
    let quick_result = quick
        .renew(&name, &stale, |mut current| async move {
            current.0.insert("token".into(), "from-the-quick".into());
            Ok(current)
        })
        .await
        .expect("the quick renewer takes the expired lease");
    assert_eq!(quick_result.get("token"), Some("from-the-quick"));
    finish_tx.send(()).expect("release the slow one");
    let slow_result = slow_renewal
        .await
        .expect("join")
        .expect("the stalled renewer answers the newer credentials");
    assert_eq!(slow_result.get("token"), Some("from-the-quick"));
    let stored = a.secrets.get_secret_fresh(&name).await.expect("get");
    assert_eq!(
        stored.as_ref().and_then(|c| c.get("token")),
        Some("from-the-quick")
    );
}
