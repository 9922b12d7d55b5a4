//! The embedded backend: the work queue (with its dead-letter queue), the connection and
//! execution stores, API keys, the event bus and encrypted secrets, all in one SQLite file in WAL
//! mode, so that a single command runs the whole service on one machine. Several processes may
//! open the same file: every write is an IMMEDIATE transaction.
//!
//! ```no_run
//! # async fn run() -> integrations_core::Result<()> {
//! use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};
//! let config = EmbeddedConfig::new("data/integrations.db", SecretKeySource::File("data/secret.key".into()));
//! let embedded = EmbeddedBackend::open(&config).await?;
//! let backend = embedded.backend(); // the core `Backend` bundle
//! let mut events = embedded.subscribe(); // in-process result and provider events
//! # Ok(()) }
//! ```

mod api_keys;
mod buckets;
mod callbacks;
mod checkpoint;
mod config;
mod connections;
mod crypto;
mod db;
mod events;
mod executions;
mod fair_queue;
mod keyfile;
mod keyset;
mod leases;
mod named_leases;
mod outbox;
mod purge;
mod queue;
mod queue_depth;
mod rows;
mod schema;
mod secrets;
mod triggers;
mod values;
mod webhooks;

use std::path::Path;
use std::sync::Arc;

use integrations_core::backend::Backend;
use integrations_core::outbox::OutboxEvent;
use integrations_core::{Error, Result};
use tokio::sync::{broadcast, Notify};

pub use config::{EmbeddedConfig, SecretKeySource, DEFAULT_MAX_RECEIVE_COUNT, SECRET_KEY_LEN};
pub use events::PublishedEvent;
pub use keyset::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use purge::{PurgeReport, EVENT_RETENTION};
pub use queue::MAX_RECEIVE_BATCH;

use crate::crypto::Sealer;
use crate::db::Db;

/// Buffered notifications per subscriber; a slower subscriber sees `Lagged` and skips ahead.
const BROADCAST_CAPACITY: usize = 4096;

/// The embedded backend. Cheap to clone; every clone shares one database and one set of
/// in-process signals.
#[derive(Clone)]
pub struct EmbeddedBackend {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    sealer: Sealer,
    max_receive_count: u32,
    /// Notified on every send, so that in-process receivers wake at once.
    wake: Arc<Notify>,
    /// Ids of executions that reached a terminal state in this process.
    completions: broadcast::Sender<String>,
    /// Events published on the embedded bus by this process.
    events: broadcast::Sender<OutboxEvent>,
}

impl EmbeddedBackend {
    /// Open (creating if needed) the database and the secret key.
    pub async fn open(config: &EmbeddedConfig) -> Result<Self> {
        if config.max_receive_count == 0 {
            return Err(Error::validation("max_receive_count must be at least 1"));
        }
        let opening = config.clone();
        let (db, sealer) = tokio::task::spawn_blocking(move || -> Result<_> {
            let key = keyfile::load(&opening.secret_key)?;
            let db = Db::open(&opening.path)?;
            Ok((db, Sealer::new(&key)))
        })
        .await
        .map_err(|e| Error::internal(format!("opening the embedded backend failed: {e}")))??;
        let backend = Self {
            inner: Arc::new(Inner {
                db,
                sealer,
                max_receive_count: config.max_receive_count,
                wake: Arc::new(Notify::new()),
                completions: broadcast::channel(BROADCAST_CAPACITY).0,
                events: broadcast::channel(BROADCAST_CAPACITY).0,
            }),
        };
        backend.verify_secret_key().await?;
        Ok(backend)
    }

    /// The core bundle of trait objects, all backed by this instance.
    pub fn backend(&self) -> Backend {
        Backend {
            queue: Arc::new(self.clone()),
            connections: Arc::new(self.clone()),
            executions: Arc::new(self.clone()),
            api_keys: Arc::new(self.clone()),
            events: Arc::new(self.clone()),
            secrets: Arc::new(self.clone()),
            callbacks: Arc::new(self.clone()),
            leases: Arc::new(self.clone()),
            rate_limits: Arc::new(self.clone()),
            webhooks: Arc::new(self.clone()),
            triggers: Arc::new(self.clone()),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.inner.db.path()
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }
}

/// Open the embedded backend and return the core bundle; use [`EmbeddedBackend::open`] to keep
/// access to the embedded-only methods.
pub async fn open(config: &EmbeddedConfig) -> Result<Backend> {
    Ok(EmbeddedBackend::open(config).await?.backend())
}
