//! The callback deliverer on the embedded store: a host name that resolves to a non-public
//! address is refused at delivery (not only at submission), with the attempt recorded and no
//! connection made.

mod common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::{ClaimOutcome, Lease};
use integrations_core::callbacks::deliver::{Deliverer, DelivererConfig};
use integrations_core::callbacks::{CallbackStatus, Schedule};
use integrations_core::caller_secrets::CallerSecrets;
use integrations_core::completion::Completion;
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::now;
use integrations_core::outbound::StaticLookup;

#[tokio::test]
async fn a_host_name_resolving_to_loopback_is_refused_at_delivery() {
    // A receiver on loopback that counts connections: none may arrive.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let embedded = common::open(dir.path()).await;
    let backend = embedded.backend();
    let secrets = CallerSecrets::new(backend.secrets.clone(), Duration::ZERO);
    secrets.ensure("flows").await.expect("secret");

    // A public-looking name that passes the submission check, pointing at 127.0.0.1.
    let host = "callbacks.example.com";
    let lookup = StaticLookup(HashMap::from([(
        host.to_string(),
        vec![IpAddr::from([127, 0, 0, 1])],
    )]));
    let url = format!("https://{host}:{port}/cb");
    integrations_core::outbound::check_url(&url, false).expect("fine at submission");

    let tenant = fresh_tenant();
    let mut e = sample_execution(&tenant, now());
    e.callback_url = Some(url);
    e.caller_service = Some("flows".into());
    backend
        .executions
        .create_execution(&e, None)
        .await
        .expect("create");
    let lease = Lease {
        owner: "w".into(),
        until: now() + chrono::Duration::seconds(60),
    };
    let ClaimOutcome::Claimed { execution, .. } = backend
        .executions
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
        .expect("claim")
    else {
        panic!("claimable");
    };
    let done = Completion::new(*execution, Ok(serde_json::json!({})), None);
    assert!(backend
        .executions
        .complete_execution(&done, Some("w"))
        .await
        .expect("complete"));

    let config = DelivererConfig {
        schedule: Schedule(vec![Duration::ZERO]),
        timeout: Duration::from_secs(2),
        allow_private: false,
        ..DelivererConfig::default()
    };
    let deliverer = Deliverer::with_lookup(backend.clone(), secrets, config, Arc::new(lookup))
        .expect("deliverer");
    assert_eq!(deliverer.sweep().await.expect("sweep"), 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let callback = loop {
        let c = backend
            .callbacks
            .get_callback(&tenant, &e.execution_id)
            .await
            .expect("get")
            .expect("callback");
        if c.status != CallbackStatus::Pending {
            break c;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no attempt recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        callback.status,
        CallbackStatus::Failed,
        "one attempt in this schedule"
    );
    let error = callback.attempts[0].error.clone().unwrap_or_default();
    assert!(error.contains("non-public"), "{error}");
    assert_eq!(callback.attempts[0].status_code, None);
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "nothing reached the receiver"
    );
}
