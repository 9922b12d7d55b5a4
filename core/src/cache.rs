//! A short-lived read cache in front of a remote connection store.
//!
//! Every execution reads its connection twice (the API when it is submitted, the worker when it
//! runs); against DynamoDB that is two billable requests per execution for data that rarely
//! changes. Reads are reused for `ttl`; this process's own writes update the cache at once, and
//! other processes' writes (a connection set inactive, a config change) are seen at most `ttl`
//! late. Concurrent misses of one connection share one read: when an entry expires under load,
//! hundreds of executions would otherwise all ask the store at once. Nothing depends on the
//! cache for correctness: the claim, not the connection, decides whether an execution runs.

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
    loading: LoadGates<Key>,
}

/// Entries beyond this are dropped wholesale: a bound on memory, not an LRU.
const MAX_ENTRIES: usize = 100_000;

impl CachedConnections {
    pub fn new(inner: Arc<dyn ConnectionStore>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
            loading: LoadGates::default(),
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

/// One gate per key being loaded into a cache, so that concurrent misses of one entry make one
/// read of the backing store: the first caller reads and fills the cache, the others wait for
/// their turn and then find the entry filled. Gates exist only while someone waits on them.
pub struct LoadGates<K> {
    /// Each key's gate and how many callers hold or wait for it.
    gates: Mutex<HashMap<K, (Gate, usize)>>,
}

type Gate = Arc<tokio::sync::Mutex<()>>;

impl<K> std::fmt::Debug for LoadGates<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let loading = self.gates.lock().map_or(0, |g| g.len());
        f.debug_struct("LoadGates")
            .field("loading", &loading)
            .finish()
    }
}

impl<K> Default for LoadGates<K> {
    fn default() -> Self {
        Self {
            gates: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + std::hash::Hash + Clone> LoadGates<K> {
    /// Wait until no one else loads `key`; hold the turn while checking the cache and loading.
    pub async fn turn(&self, key: &K) -> Turn<'_, K> {
        let (gate, entered) = {
            let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
            let (gate, users) = gates.entry(key.clone()).or_default();
            *users += 1;
            let entered = Entered {
                gates: self,
                key: key.clone(),
            };
            (gate.clone(), entered)
        };
        // Cancelled while waiting: `entered` is dropped and the count stays right.
        let guard = gate.lock_owned().await;
        Turn {
            _guard: guard,
            _entered: entered,
        }
    }
}

/// A turn at loading a key; dropping it lets the next caller in.
pub struct Turn<'a, K: Eq + std::hash::Hash> {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    _entered: Entered<'a, K>,
}

struct Entered<'a, K: Eq + std::hash::Hash> {
    gates: &'a LoadGates<K>,
    key: K,
}

impl<K: Eq + std::hash::Hash> Drop for Entered<'_, K> {
    fn drop(&mut self) {
        let mut gates = self.gates.gates.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, users)) = gates.get_mut(&self.key) {
            *users -= 1;
            if *users == 0 {
                gates.remove(&self.key);
            }
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
        let _turn = self.loading.turn(&key).await;
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
