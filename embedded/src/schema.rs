//! The tables and their indexes. Every index exists for one query; the comments say which.
//! Timestamps are integer milliseconds since the epoch, JSON is TEXT.

use integrations_core::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

use crate::db::sqlite_error;

/// Bump with a new entry in [`MIGRATIONS`] when the schema changes. Each entry runs once, in
/// order, on a file at the previous version: existing files are upgraded in place.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

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

/// The W3C `traceparent` message attribute, on both queues (a redrive moves it back). NULL in
/// messages sent before this version and in messages sent without one.
const V2: &str = r#"
ALTER TABLE queue ADD COLUMN trace_parent TEXT;
ALTER TABLE dead_letters ADD COLUMN trace_parent TEXT;
"#;

/// Durable callbacks, written with the terminal state of executions that asked for one.
/// `due_at` is set while pending: when a deliverer may take it (the next attempt, or the end of
/// the current lease); NULL once delivered or failed, so that the due index holds only work.
const V3: &str = r#"
CREATE TABLE callbacks (
    tenant_id       TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    url             TEXT NOT NULL,
    signer          TEXT,
    webhook_id      TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        TEXT NOT NULL,
    round_attempts  INTEGER NOT NULL,
    next_attempt_at INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    due_at          INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, execution_id)
);
-- claim_due_callbacks: what is due, soonest first.
CREATE INDEX callbacks_due ON callbacks (due_at) WHERE due_at IS NOT NULL;
-- purge_expired.
CREATE INDEX callbacks_by_expiry ON callbacks (expires_at);
"#;

/// Named leases: fleet-wide mutual exclusion (one renewer of a connection's token at a time).
const V4: &str = r#"
CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Fleet-wide token buckets: tokens left and when they were counted.
const V5: &str = r#"
CREATE TABLE buckets (
    key    TEXT PRIMARY KEY,
    tokens REAL NOT NULL,
    at     INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Fair queuing (see `fair_queue`): each message's group (its tenant) and rank, which receives
/// follow; each group's next rank. Messages from before this version have rank 0 and are
/// received first, as they were sent first.
const V6: &str = r#"
ALTER TABLE queue ADD COLUMN fair_group TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN fair_rank INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dead_letters ADD COLUMN fair_group TEXT NOT NULL DEFAULT '';
-- receive: visible messages in rank order (skipping the few in flight or delayed).
CREATE INDEX queue_by_fair_rank ON queue (fair_rank, id);
CREATE TABLE queue_groups (
    fair_group TEXT NOT NULL UNIQUE,
    next_rank  INTEGER NOT NULL
);
"#;

/// Outbox claims: a relay holds an event (`claim_owner`) until `claimable_at` (ms) while it
/// publishes it, so that relays of other processes sharing the file do not publish it too.
/// Existing events are claimable at once.
const V7: &str = r#"
ALTER TABLE outbox ADD COLUMN claim_owner TEXT;
ALTER TABLE outbox ADD COLUMN claimable_at INTEGER NOT NULL DEFAULT 0;
"#;

/// The inbox of provider webhooks: one row per (tenant, connection, dedupe key), remembered until
/// `dedupe_until` (ms), and the provider events they were normalized into, written together.
const V8: &str = r#"
CREATE TABLE webhooks (
    tenant_id     TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    dedupe_key    TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    dedupe_until  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, connection_id, dedupe_key)
);
-- purge: keys whose window has passed.
CREATE INDEX webhooks_by_dedupe_until ON webhooks (dedupe_until);

CREATE TABLE provider_events (
    tenant_id      TEXT NOT NULL,
    event_id       TEXT NOT NULL,
    connection_id  TEXT NOT NULL,
    event_type     TEXT NOT NULL,
    received_at    INTEGER NOT NULL,
    event          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
-- GET /events: a tenant's events, newest first.
CREATE INDEX provider_events_by_received ON provider_events (tenant_id, received_at, event_id);
-- purge: events older than the retention.
CREATE INDEX provider_events_by_age ON provider_events (received_at);

-- The tenant behind a webhook URL, which names only the connection.
CREATE TABLE webhook_endpoints (
    connection_id TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL
) WITHOUT ROWID;
"#;

/// Triggers: a tenant's rules acting on provider events, the trigger as JSON beside the columns
/// its two queries use.
const V9: &str = r#"
CREATE TABLE triggers (
    tenant_id     TEXT NOT NULL,
    trigger_id    TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    trigger_json  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, trigger_id)
);
-- list_triggers: a tenant's triggers, oldest first.
CREATE INDEX triggers_by_created ON triggers (tenant_id, created_at, trigger_id);
-- matching_triggers: the triggers of one (connection, event type), for every provider event.
CREATE INDEX triggers_by_source ON triggers (tenant_id, connection_id, event_type, created_at);
"#;

/// Provider events travel through the outbox and the event log beside result events: each row
/// says which kind its JSON is (`integrations_core::outbox::OutboxEventKind`); rows written
/// before are result events.
const V10: &str = r#"
ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'result';
ALTER TABLE events ADD COLUMN kind TEXT NOT NULL DEFAULT 'result';
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use integrations_core::backend::{OutgoingMessage, Queue};
    use rusqlite::Connection;

    use super::{MIGRATIONS, V1};
    use crate::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};

    const HIDDEN: Duration = Duration::from_secs(30);

    /// A file written by a build that knew only version 1 opens, is upgraded in place, and keeps
    /// its messages and dead letters (delivered without a trace parent).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_1_file_is_upgraded_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("integrations.db");
        {
            let conn = Connection::open(&path).expect("raw open");
            conn.execute_batch(V1).expect("version 1 schema");
            conn.pragma_update(None, "user_version", 1)
                .expect("user_version");
            conn.execute(
                "INSERT INTO queue (message_id, body, execution_id, visible_at, sent_at)
                 VALUES ('m-old', '{\"old\":1}', 'exec-old', 0, 0)",
                [],
            )
            .expect("a version 1 message");
            conn.execute(
                "INSERT INTO dead_letters
                     (message_id, body, execution_id, visible_at, receive_count, sent_at, dead_at)
                 VALUES ('d-old', '{\"dead\":1}', 'exec-dead', 0, 5, 0, 0)",
                [],
            )
            .expect("a version 1 dead letter");
        }

        let config = EmbeddedConfig::new(path.clone(), SecretKeySource::Raw(vec![7; 32]));
        let backend = EmbeddedBackend::open(&config)
            .await
            .expect("a version 1 file opens");
        let version: usize = Connection::open(&path)
            .expect("raw open")
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, MIGRATIONS.len());

        let old = backend
            .receive(10, Duration::ZERO, HIDDEN)
            .await
            .expect("receive");
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].body, "{\"old\":1}");
        assert_eq!(old[0].execution_id.as_deref(), Some("exec-old"));
        assert_eq!(old[0].trace_parent, None);
        backend
            .delete(&[old[0].receipt.clone()])
            .await
            .expect("delete");

        let dead = backend
            .receive_dead_letters(10, HIDDEN)
            .await
            .expect("receive dead letters");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].trace_parent, None);
        backend.redrive(&dead[0], None).await.expect("redrive");
        let redriven = backend
            .receive(10, Duration::ZERO, HIDDEN)
            .await
            .expect("receive");
        assert_eq!(redriven.len(), 1);
        assert_eq!(redriven[0].execution_id.as_deref(), Some("exec-dead"));
        assert_eq!(redriven[0].trace_parent, None);
        backend
            .delete(&[redriven[0].receipt.clone()])
            .await
            .expect("delete");

        // New messages in the upgraded file carry the attribute.
        let trace_parent = integrations_core::trace::new_trace_parent();
        backend
            .send(&[OutgoingMessage {
                body: "{\"new\":1}".into(),
                execution_id: "exec-new".into(),
                delay: Duration::ZERO,
                trace_parent: Some(trace_parent.clone()),
                fair_group: None,
            }])
            .await
            .expect("send");
        let new = backend
            .receive(10, Duration::ZERO, HIDDEN)
            .await
            .expect("receive");
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].trace_parent.as_deref(), Some(trace_parent.as_str()));
    }
}
