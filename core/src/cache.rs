//! A short-lived read cache in front of a remote connection store.
//!
//! Every execution reads its connection twice (the API when it is submitted, the worker when it
//! runs); against DynamoDB that is two billable requests per execution for data that rarely
//! changes. Reads are reused for `ttl`; this process's own writes update the cache at once, and
//! other processes' writes (a connection set inactive, a config change) are seen at most `ttl`
//! late. Concurrent misses of one connection share one read: when an entry expires under load,
//! hundreds of executions would otherwise all ask the store at once. Nothing depends on the cache for correctness: the claim, not the connection, decides
//! whether an execution runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::backend::{ConnectionFilter, ConnectionStore};
use crate::error::Result;
use crate::model::Connection;

type Key = (String, String);

pub struct CachedConnections {
    inner: Arc<dyn ConnectionStore>,
    ttl: Duration,
    entries: Mutex<HashMap<Key, (Option<Connection>, Instant)>>,
    /// One gate per connection being read from the store; the first miss reads, the others wait
    /// on its gate and find the entry it stored.
    loading: Gates,
}

/// Entries beyond this are dropped wholesale: a bound on memory, not an LRU.
const MAX_ENTRIES: usize = 100_000;

impl CachedConnections {
    pub fn new(inner: Arc<dyn ConnectionStore>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
            loading: Mutex::new(HashMap::new()),
        }
    }

    fn fresh(&self, key: &Key) -> Option<Option<Connection>> {
        let entries = self.lock();
        let (value, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (Option<Connection>, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remember(&self, tenant_id: &str, connection_id: &str, value: Option<Connection>) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            (tenant_id.to_string(), connection_id.to_string()),
            (value, Instant::now()),
        );
    }

    fn forget(&self, tenant_id: &str, connection_id: &str) {
        self.lock()
            .remove(&(tenant_id.to_string(), connection_id.to_string()));
    }
}

type Gates = Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>;

/// A caller's hold on a connection's loading gate; the last one out removes the gate, even when
/// the caller is cancelled while waiting.
struct Gate<'a> {
    gate: Arc<tokio::sync::Mutex<()>>,
    gates: &'a Gates,
    key: &'a Key,
}

impl<'a> Gate<'a> {
    fn enter(gates: &'a Gates, key: &'a Key) -> Self {
        let mut map = gates.lock().unwrap_or_else(|e| e.into_inner());
        let gate = map.entry(key.clone()).or_default().clone();
        Self { gate, gates, key }
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let mut map = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map's reference and this one: nobody else is waiting.
        if Arc::strong_count(&self.gate) <= 2 {
            map.remove(self.key);
        }
    }
}

#[async_trait]
impl ConnectionStore for CachedConnections {
    async fn create_connection(&self, connection: &Connection) -> Result<()> {
        self.inner.create_connection(connection).await?;
        self.remember(
            &connection.tenant_id,
            &connection.connection_id,
            Some(connection.clone()),
        );
        Ok(())
    }

    async fn get_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<Connection>> {
        let key = (tenant_id.to_string(), connection_id.to_string());
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let gate = Gate::enter(&self.loading, &key);
        let _turn = gate.gate.lock().await;
        if let Some(value) = self.fresh(&key) {
            return Ok(value);
        }
        let value = self.inner.get_connection(tenant_id, connection_id).await?;
        self.remember(tenant_id, connection_id, value.clone());
        Ok(value)
    }

    async fn update_connection(&self, connection: &Connection) -> Result<bool> {
        let updated = self.inner.update_connection(connection).await;
        // Whatever happened, the next read asks the store.
        self.forget(&connection.tenant_id, &connection.connection_id);
        updated
    }

    async fn delete_connection(&self, tenant_id: &str, connection_id: &str) -> Result<bool> {
        let deleted = self.inner.delete_connection(tenant_id, connection_id).await;
        self.forget(tenant_id, connection_id);
        deleted
    }

    async fn list_connections(
        &self,
        tenant_id: &str,
        filter: &ConnectionFilter,
    ) -> Result<Vec<Connection>> {
        self.inner.list_connections(tenant_id, filter).await
    }
}
