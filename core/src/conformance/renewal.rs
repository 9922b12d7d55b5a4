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
