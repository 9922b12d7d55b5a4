//! The tables and their indexes. Every index exists for one query; the comments say which.
//! Timestamps are integer milliseconds since the epoch, JSON is TEXT.

use integrations_core::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

use crate::db::sqlite_error;

/// Bump with a new entry in [`MIGRATIONS`] when the schema changes.
const MIGRATIONS: &[&str] = &[V1];

const V1: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- The work queue. `visible_at` is when the message may next be received: send time plus delay,
-- then receive time plus visibility timeout. `receipt` is the token of the latest receive, so
-- that a stale receipt cannot touch a message someone else has received since.
CREATE TABLE queue (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    TEXT NOT NULL,
    body          TEXT NOT NULL,
    execution_id  TEXT,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt       INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER NOT NULL
);
-- receive: a range scan over what is visible now, oldest first.
CREATE INDEX queue_by_visible_at ON queue (visible_at);

-- The dead-letter queue: the same shape, so that a redrive is a move.
CREATE TABLE dead_letters (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    TEXT NOT NULL,
    body          TEXT NOT NULL,
    execution_id  TEXT,
    visible_at    INTEGER NOT NULL,
    receive_count INTEGER NOT NULL,
    receipt       INTEGER NOT NULL DEFAULT 0,
    sent_at       INTEGER NOT NULL,
    dead_at       INTEGER NOT NULL
);
CREATE INDEX dead_letters_by_visible_at ON dead_letters (visible_at);

CREATE TABLE connections (
    tenant_id       TEXT NOT NULL,
    connection_id   TEXT NOT NULL,
    integration_id  TEXT NOT NULL,
    name            TEXT NOT NULL,
    config          TEXT NOT NULL,
    credentials_ref TEXT NOT NULL,
    status          TEXT NOT NULL,
    last_tested_at  INTEGER,
    last_error_at   INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, connection_id)
);
-- list_connections: a tenant's connections, oldest first (filters apply to that small set).
CREATE INDEX connections_by_created ON connections (tenant_id, created_at, connection_id);

CREATE TABLE executions (
    tenant_id       TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    connection_id   TEXT NOT NULL,
    integration_id  TEXT NOT NULL,
    action_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    input           TEXT NOT NULL,
    output          TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL,
    latency_ms      INTEGER,
    caller_service  TEXT,
    caller_ref      TEXT,
    callback_url    TEXT,
    idempotency_key TEXT,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    expires_at      INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    PRIMARY KEY (tenant_id, execution_id)
);
-- list_executions, newest first, unfiltered or by time window; then one per equality filter.
CREATE INDEX executions_by_created ON executions (tenant_id, created_at, execution_id);
CREATE INDEX executions_by_connection
    ON executions (tenant_id, connection_id, created_at, execution_id);
CREATE INDEX executions_by_integration
    ON executions (tenant_id, integration_id, created_at, execution_id);
CREATE INDEX executions_by_status ON executions (tenant_id, status, created_at, execution_id);
-- purge_expired.
CREATE INDEX executions_by_expiry ON executions (expires_at);

CREATE TABLE idempotency (
    tenant_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);

-- Result events written with terminal states, until the relay has published them.
CREATE TABLE outbox (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event    TEXT NOT NULL
);

CREATE TABLE api_keys (
    key_hash       TEXT PRIMARY KEY,
    key_id         TEXT NOT NULL,
    caller_service TEXT NOT NULL,
    tenants        TEXT,
    created_at     INTEGER NOT NULL
);

-- The embedded event bus: an append-only log of published events.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL,
    event        TEXT NOT NULL,
    published_at INTEGER NOT NULL
);
CREATE INDEX events_by_published_at ON events (published_at);

-- Encrypted secrets: version byte, 96-bit nonce, AES-256-GCM ciphertext and tag.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    updated_at INTEGER NOT NULL
);
"#;

/// Bring the schema up to date. Runs in an IMMEDIATE transaction, so that two processes opening
/// a new file at once do not both create it.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite_error)?;
    let version: usize = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite_error)?;
    if version > MIGRATIONS.len() {
        return Err(Error::internal(format!(
            "the embedded database has schema version {version}, newer than this build knows \
             ({}); upgrade the service",
            MIGRATIONS.len()
        )));
    }
    for migration in &MIGRATIONS[version..] {
        tx.execute_batch(migration).map_err(sqlite_error)?;
    }
    tx.pragma_update(None, "user_version", MIGRATIONS.len())
        .map_err(sqlite_error)?;
    tx.commit().map_err(sqlite_error)
}
