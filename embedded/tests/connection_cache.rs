//! The connection read cache (core `CachedConnections`) in front of a real store: it is still a
//! conforming ConnectionStore, and other processes' writes show within its TTL.

use std::sync::Arc;
use std::time::Duration;

use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};
use integrations_core::backend::ConnectionStore;
use integrations_core::cache::CachedConnections;
use integrations_core::conformance::connections;
use integrations_core::model::ConnectionStatus;

async fn store() -> (tempfile::TempDir, Arc<dyn ConnectionStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = EmbeddedConfig::new(
        dir.path().join("integrations.db"),
        SecretKeySource::Raw(vec![7; 32]),
    );
    let backend = EmbeddedBackend::open(&config)
        .await
        .expect("open")
        .backend();
    (dir, backend.connections)
}

#[tokio::test]
async fn the_cache_passes_the_connection_store_suite() {
    let (_dir, inner) = store().await;
    let cached = Arc::new(CachedConnections::new(inner, Duration::from_secs(60)));
    connections::connections_suite(cached).await;
}

#[tokio::test]
async fn another_process_write_is_seen_after_the_ttl() {
    let (_dir, inner) = store().await;
    let ttl = Duration::from_millis(300);
    let cached = CachedConnections::new(inner.clone(), ttl);
    let tenant = connections_fixture_tenant();
    let mut c =
        integrations_core::conformance::sample_connection(&tenant, integrations_core::model::now());
    cached.create_connection(&c).await.expect("create");
    assert_eq!(
        cached
            .get_connection(&tenant, &c.connection_id)
            .await
            .expect("get"),
        Some(c.clone())
    );
    // "Another process" deactivates it behind the cache's back.
    c.status = ConnectionStatus::Inactive;
    assert!(inner.update_connection(&c).await.expect("update"));
    let stale = cached
        .get_connection(&tenant, &c.connection_id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        stale.status,
        ConnectionStatus::Active,
        "served from the cache"
    );
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    let fresh = cached
        .get_connection(&tenant, &c.connection_id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        fresh.status,
        ConnectionStatus::Inactive,
        "re-read after the TTL"
    );
}

fn connections_fixture_tenant() -> String {
    integrations_core::conformance::fresh_tenant()
}
