//! Short-lived read caches in front of remote stores.
//!
//! Every execution reads its connection twice (the API when it is submitted, the worker when it
//! runs); against DynamoDB that is two billable requests per execution for data that rarely
//! changes. Reads are reused for `ttl`; this process's own writes update the cache at once, and
//! other processes' writes (a connection set inactive, a config change) are seen at most `ttl`
//! late. Concurrent misses of one connection share one read: when an entry expires under load,
//! hundreds of executions would otherwise all ask the store at once. Nothing depends on the
//! cache for correctness: the claim, not the connection, decides whether an execution runs.
//! [`TtlCache`] is the mechanism; [`CachedConnections`] puts it in front of a connection store.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::backend::{ApiKeyStore, ConnectionFilter, ConnectionStore};
use crate::error::Result;
use crate::model::{ApiKey, Connection};

/// Values reused for `ttl` after they were read, with concurrent misses of one key sharing one
/// read ([`LoadGates`]). The one read-cache mechanism of the core: the connection cache and the
/// caller services' callback secrets both sit on it.
pub struct TtlCache<K, V> {
    ttl: Duration,
    /// Beyond this many entries, expired ones are dropped, and if still full, all: a bound on
    /// memory, not an LRU.
    max_entries: usize,
    entries: Mutex<HashMap<K, (V, Instant)>>,
    loading: LoadGates<K>,
}

impl<K, V> std::fmt::Debug for TtlCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values: some caches hold secrets.
        let entries = self.entries.lock().map_or(0, |e| e.len());
        f.debug_struct("TtlCache")
            .field("ttl", &self.ttl)
            .field("entries", &entries)
            .finish()
    }
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    /// A zero `ttl` caches nothing (every read goes to the source).
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries,
            entries: Mutex::new(HashMap::new()),
            loading: LoadGates::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value stored less than `ttl` ago, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.lock();
        let (value, at) = entries.get(key)?;
        (at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= self.max_entries {
            let ttl = self.ttl;
            entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    pub fn remove(&self, key: &K) {
        self.lock().remove(key);
    }

    /// Drops every entry whose value matches.
    pub fn remove_where(&self, matches: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (value, _)| !matches(value));
    }

    /// The cached value, or `load`'s, stored for the next callers. Concurrent misses of one key
    /// wait for the first caller's load instead of each reading the source; a failed load is
    /// not cached, so the next caller tries again.
    pub async fn get_or_load<F, Fut>(&self, key: &K, load: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V>>,
    {
        let loaded = self
            .get_or_load_present(key, || async { load().await.map(Some) })
            .await?;
        Ok(loaded.expect("a load that always has a value"))
    }

    /// As [`TtlCache::get_or_load`], for a source that may hold nothing under the key: absence
    /// is not cached, so a value another process creates meanwhile is found by the next read.
    pub async fn get_or_load_present<F, Fut>(&self, key: &K, load: F) -> Result<Option<V>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>>>,
    {
        if let Some(value) = self.get(key) {
            return Ok(Some(value));
        }
        let _turn = self.loading.turn(key).await;
        if let Some(value) = self.get(key) {
            return Ok(Some(value));
        }
        let value = load().await?;
        if let Some(value) = &value {
            self.insert(key.clone(), value.clone());
        }
        Ok(value)
    }
}

type Key = (String, String);

pub struct CachedConnections {
    inner: Arc<dyn ConnectionStore>,
    cache: TtlCache<Key, Option<Connection>>,
}

/// A bound on memory (see [`TtlCache`]).
const MAX_ENTRIES: usize = 100_000;

impl CachedConnections {
    pub fn new(inner: Arc<dyn ConnectionStore>, ttl: Duration) -> Self {
        Self {
            inner,
            cache: TtlCache::new(ttl, MAX_ENTRIES),
        }
    }

    fn key(tenant_id: &str, connection_id: &str) -> Key {
        (tenant_id.to_string(), connection_id.to_string())
    }
}

/// API keys found by hash, reused for `ttl`: every request is authenticated, and the key
/// behind it rarely changes. Only keys that exist are kept, so a key created by another process
/// works at once; a revoked one keeps working in other processes for at most `ttl`.
pub struct CachedApiKeys {
    inner: Arc<dyn ApiKeyStore>,
    cache: TtlCache<String, ApiKey>,
}

impl CachedApiKeys {
    pub fn new(inner: Arc<dyn ApiKeyStore>, ttl: Duration) -> Self {
        Self {
            inner,
            cache: TtlCache::new(ttl, MAX_ENTRIES),
        }
    }
}

#[async_trait]
impl ApiKeyStore for CachedApiKeys {
    async fn put_api_key(&self, key: &ApiKey) -> Result<()> {
        self.inner.put_api_key(key).await?;
        self.cache.remove(&key.key_hash);
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let hash = key_hash.to_string();
        if let Some(key) = self.cache.get(&hash) {
            return Ok(Some(key));
        }
        let found = self.inner.find_api_key(key_hash).await?;
        if let Some(key) = &found {
            self.cache.insert(hash, key.clone());
        }
        Ok(found)
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.inner.list_api_keys().await
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let revoked = self.inner.revoke_api_key(key_id).await;
        self.cache.remove_where(|k| k.key_id == key_id);
        revoked
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
        self.cache.insert(
            Self::key(&connection.tenant_id, &connection.connection_id),
            Some(connection.clone()),
        );
        Ok(())
    }

    async fn get_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<Connection>> {
        self.cache
            .get_or_load(&Self::key(tenant_id, connection_id), || {
                self.inner.get_connection(tenant_id, connection_id)
            })
            .await
    }

    async fn update_connection(&self, connection: &Connection) -> Result<bool> {
        let updated = self.inner.update_connection(connection).await;
        // Whatever happened, the next read asks the store.
        self.cache
            .remove(&Self::key(&connection.tenant_id, &connection.connection_id));
        updated
    }

    async fn delete_connection(&self, tenant_id: &str, connection_id: &str) -> Result<bool> {
        let deleted = self.inner.delete_connection(tenant_id, connection_id).await;
        self.cache.remove(&Self::key(tenant_id, connection_id));
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// One read through the cache, counting the loads that reached the source.
    async fn read(
        cache: &TtlCache<String, u32>,
        loads: &AtomicUsize,
        source: Option<u32>,
    ) -> Option<u32> {
        cache
            .get_or_load_present(&"k".to_string(), || async {
                loads.fetch_add(1, Ordering::SeqCst);
                Ok(source)
            })
            .await
            .expect("load")
    }

    #[tokio::test]
    async fn present_values_are_cached_and_absence_is_not() {
        let cache: TtlCache<String, u32> = TtlCache::new(Duration::from_secs(60), 10);
        let loads = AtomicUsize::new(0);
        assert_eq!(read(&cache, &loads, None).await, None);
        // Nothing was cached: the value created meanwhile is found by the next read.
        assert_eq!(read(&cache, &loads, Some(7)).await, Some(7));
        assert_eq!(read(&cache, &loads, Some(8)).await, Some(7));
        assert_eq!(loads.load(Ordering::SeqCst), 2);
        cache.remove(&"k".to_string());
        assert_eq!(read(&cache, &loads, Some(8)).await, Some(8));
        assert_eq!(loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_zero_ttl_caches_nothing() {
        let cache: TtlCache<String, u32> = TtlCache::new(Duration::ZERO, 10);
        let loads = AtomicUsize::new(0);
        assert_eq!(read(&cache, &loads, Some(1)).await, Some(1));
        assert_eq!(read(&cache, &loads, Some(2)).await, Some(2));
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn get_or_load_caches_what_it_loads() {
        let cache: TtlCache<String, u32> = TtlCache::new(Duration::from_secs(60), 10);
        let key = "k".to_string();
        let first = cache
            .get_or_load(&key, || async { Ok(1) })
            .await
            .expect("load");
        let second = cache
            .get_or_load(&key, || async { Ok(2) })
            .await
            .expect("load");
        // The second read is served from the cache, not from its own load.
        assert_eq!((first, second), (1, 1));
    }
}
