//! The connection read cache (core `CachedConnections`) in front of a real store: it is still a
//! conforming ConnectionStore, and other processes' writes show within its TTL.

use std::sync::Arc;
use std::time::Duration;

use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};
use integrations_core::backend::{ConnectionFilter, ConnectionStore};
use integrations_core::cache::CachedConnections;
use integrations_core::conformance::connections;
use integrations_core::model::{Connection, ConnectionStatus};

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

/// The embedded store, counting the reads that reach it.
struct CountingReads {
    inner: Arc<dyn ConnectionStore>,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl ConnectionStore for CountingReads {
    async fn get_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> integrations_core::Result<Option<Connection>> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // A remote store takes a while: long enough for every caller to miss at once.
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.inner.get_connection(tenant_id, connection_id).await
    }

    async fn create_connection(&self, c: &Connection) -> integrations_core::Result<()> {
        self.inner.create_connection(c).await
    }

    async fn update_connection(&self, c: &Connection) -> integrations_core::Result<bool> {
        self.inner.update_connection(c).await
    }

    async fn delete_connection(&self, t: &str, id: &str) -> integrations_core::Result<bool> {
        self.inner.delete_connection(t, id).await
    }

    async fn list_connections(
        &self,
        t: &str,
        filter: &ConnectionFilter,
    ) -> integrations_core::Result<Vec<Connection>> {
        self.inner.list_connections(t, filter).await
    }
}

#[tokio::test]
async fn concurrent_misses_share_one_read_of_the_store() {
    let (_dir, inner) = store().await;
    let tenant = connections_fixture_tenant();
    let c =
        integrations_core::conformance::sample_connection(&tenant, integrations_core::model::now());
    inner.create_connection(&c).await.expect("create");
    let counting = Arc::new(CountingReads {
        inner,
        reads: Default::default(),
    });
    let cached = Arc::new(CachedConnections::new(
        counting.clone(),
        Duration::from_secs(60),
    ));

    let reads = (0..50).map(|_| {
        let cached = cached.clone();
        let (tenant, id) = (tenant.clone(), c.connection_id.clone());
        tokio::spawn(async move { cached.get_connection(&tenant, &id).await })
    });
    for read in futures::future::join_all(reads).await {
        assert_eq!(read.expect("task").expect("get"), Some(c.clone()));
    }
    assert_eq!(counting.reads.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A connection that does not exist is shared (and cached) the same way.
    let missing = (0..10).map(|_| cached.get_connection(&tenant, "no-such-connection"));
    for read in futures::future::join_all(missing).await {
        assert_eq!(read.expect("get"), None);
    }
    assert_eq!(counting.reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}
