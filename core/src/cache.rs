//! A short-lived read cache in front of a remote connection store.
//!
//! Every execution reads its connection twice (the API when it is submitted, the worker when it
//! runs); against DynamoDB that is two billable requests per execution for data that rarely
//! changes. Reads are reused for `ttl`; this process's own writes update the cache at once, and
//! other processes' writes (a connection set inactive, a config change) are seen at most `ttl`
//! late. Nothing depends on the cache for correctness: the claim, not the connection, decides
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
}

/// Entries beyond this are dropped wholesale: a bound on memory, not an LRU.
const MAX_ENTRIES: usize = 100_000;

impl CachedConnections {
    pub fn new(inner: Arc<dyn ConnectionStore>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
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
        if let Some((value, at)) = self.lock().get(&key) {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
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
