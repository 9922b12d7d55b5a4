//! Helpers shared by the embedded backend's test files.

#![allow(dead_code)]

use std::path::Path;

use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};

pub const KEY: [u8; 32] = [7; 32];

pub fn config(dir: &Path) -> EmbeddedConfig {
    EmbeddedConfig::new(
        dir.join("integrations.db"),
        SecretKeySource::Raw(KEY.to_vec()),
    )
}

pub async fn open(dir: &Path) -> EmbeddedBackend {
    EmbeddedBackend::open(&config(dir)).await.expect("open")
}

/// A raw connection to the database file, to look at what the backend stored.
pub fn raw(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("integrations.db")).expect("raw open");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    conn
}
