//! Secrets Manager specifics: rotation seen by another process within the cache's TTL.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use backend_aws::AwsConfig;
use integrations_core::conformance::{fresh_id, fresh_tenant};
use integrations_core::model::{secret_name, Credentials};

fn credentials(key: &str) -> Credentials {
    Credentials(BTreeMap::from([("apiKey".to_string(), key.to_string())]))
}

/// Process A rotates; A reads the new value at once, process B (which had the old one cached)
/// within the TTL, and never a missing secret in between.
#[tokio::test]
async fn rotation_reaches_other_processes_within_the_cache_ttl() {
    let stack = common::stack().await;
    let config = AwsConfig {
        secret_cache_ttl: Duration::from_secs(1),
        ..stack.config.clone()
    };
    let (a, _) = backend_aws::open(&config).await.expect("open a");
    let (b, handle_b) = backend_aws::open(&config).await.expect("open b");
    let name = secret_name(&fresh_tenant(), &fresh_id());

    a.secrets
        .put_secret(&name, &credentials("v1"))
        .await
        .expect("put");
    assert_eq!(
        b.secrets.get_secret(&name).await.expect("get"),
        Some(credentials("v1"))
    );
    let reads_before = handle_b.total_requests();
    assert_eq!(
        b.secrets.get_secret(&name).await.expect("get"),
        Some(credentials("v1"))
    );
    assert_eq!(
        handle_b.total_requests(),
        reads_before,
        "served from the cache"
    );

    a.secrets
        .put_secret(&name, &credentials("v2"))
        .await
        .expect("rotate");
    assert_eq!(
        a.secrets.get_secret(&name).await.expect("get"),
        Some(credentials("v2"))
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let seen = b
            .secrets
            .get_secret(&name)
            .await
            .expect("get")
            .expect("never missing");
        if seen == credentials("v2") {
            break;
        }
        assert_eq!(seen, credentials("v1"));
        assert!(
            tokio::time::Instant::now() < deadline,
            "rotation not seen after the TTL"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    a.secrets.delete_secret(&name).await.expect("delete");
    assert_eq!(a.secrets.get_secret(&name).await.expect("get"), None);
}

/// Executions starting together on a cold (or just expired) cache read the secret once, not once
/// each: GetSecretValue is billed per call and rate-limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_of_an_uncached_secret_make_one_request() {
    let stack = common::stack().await;
    let (writer, _) = backend_aws::open(&stack.config).await.expect("open writer");
    let (reader, handle) = backend_aws::open(&stack.config).await.expect("open reader");
    let name = secret_name(&fresh_tenant(), &fresh_id());
    writer
        .secrets
        .put_secret(&name, &credentials("k1"))
        .await
        .expect("put");

    let before = handle.total_requests();
    let reads = (0..32).map(|_| {
        let secrets = reader.secrets.clone();
        let name = name.clone();
        tokio::spawn(async move { secrets.get_secret(&name).await })
    });
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.expect("task").expect("get"), Some(credentials("k1")));
    }
    assert_eq!(handle.total_requests() - before, 1);
    writer.secrets.delete_secret(&name).await.expect("delete");
}

/// Secret values never show in errors: a failing call reports codes only.
#[tokio::test]
async fn errors_never_carry_secret_values() {
    let stack = common::stack().await;
    let name = secret_name(&fresh_tenant(), &fresh_id());
    // Secrets Manager holds at most 65536 bytes: refused before sending, without the value.
    let huge = credentials(&format!("sk_live_{}", "S".repeat(70_000)));
    let err = stack
        .backend
        .secrets
        .put_secret(&name, &huge)
        .await
        .expect_err("too large");
    assert_eq!(err.kind, integrations_core::ErrorKind::PayloadTooLarge);
    assert!(!err.message.contains("sk_live_"), "{err}");
    assert!(err.message.len() < 300, "{err}");
}
