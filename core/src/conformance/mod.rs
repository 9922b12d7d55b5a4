//! Conformance suites for the backend traits in [`crate::backend`].
//!
//! Every backend (embedded SQLite, AWS) runs these same cases, so the semantics documented on the
//! traits, and the choices made here where the trait docs leave room, hold everywhere. Cases panic
//! on failure, like test assertions.
//!
//! Rules the cases follow so that they can run against a shared, remote, eventually consistent
//! backend:
//! - every case uses fresh ids (ULIDs): tenants, connections, executions, secret names, message
//!   bodies. Store cases never see each other's data and may run concurrently on one backend;
//! - a queue has no namespaces, so the queue cases need a queue that nobody else consumes while
//!   they run: run them one after another ([`queue::queue_suite`] does). They recognise their own
//!   messages by a per-case tag in the body and delete any other message they receive (leftovers of
//!   an earlier, interrupted run), in the queue and in the dead-letter queue alike;
//! - whatever may take a moment to show (SQS visibility, delays) is polled with a bounded deadline
//!   ([`DEADLINE`]), never awaited with a fixed sleep; visibility timeouts are at least 1 s (SQS
//!   counts whole seconds).
//!
//! Entry points: one `*_suite` function per trait, which runs all its cases, and [`run_all`]; each
//! case is also public, so that a backend's tests can run them one by one (and in parallel, each
//! on a fresh backend).

pub mod api_keys;
pub mod breakers;
pub mod buckets;
pub mod callbacks;
pub mod connections;
pub mod event_list;
pub mod events;
pub mod executions;
pub mod in_flight;
pub mod leases;
pub mod queue;
pub mod renewal;
pub mod secrets;
mod tests_macro;
pub mod triggers;
pub mod webhook_outbox;
pub mod webhooks;

use std::future::Future;
use std::time::Duration;

use serde_json::json;

use crate::backend::Backend;
use crate::error::{ErrorBody, ErrorKind};
use crate::model::{Connection, ConnectionStatus, Execution, ExecutionStatus, Timestamp};

/// How long anything that may lag (visibility, delays, eventual consistency) is polled for before a
/// case gives up. Generous, because emulators are slow; a passing case never waits this long.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Pause between two polls.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Run every suite against one backend, one suite after another. `max_receive_count` is the
/// queue's: a message is delivered that many times, then dead-lettered.
pub async fn run_all(backend: &Backend, max_receive_count: u32) {
    connections::connections_suite(backend.connections.clone()).await;
    executions::executions_suite(backend.executions.clone()).await;
    api_keys::api_keys_suite(backend.api_keys.clone()).await;
    events::event_bus_suite(backend.events.clone()).await;
    secrets::secrets_suite(backend.secrets.clone()).await;
    queue::queue_suite(backend.queue.clone(), max_receive_count).await;
    callbacks::callbacks_suite(backend.clone()).await;
    leases::leases_suite(backend.leases.clone()).await;
    buckets::buckets_suite(backend.rate_limits.clone()).await;
    webhooks::webhooks_suite(backend.webhooks.clone()).await;
    triggers::triggers_suite(backend.triggers.clone()).await;
    webhook_outbox::webhook_outbox_suite(backend.clone()).await;
    event_list::event_list_suite(backend.webhooks.clone()).await;
}

/// A fresh ULID.
pub fn fresh_id() -> String {
    ulid::Ulid::new().to_string()
}

/// A fresh ULID whose time part is `at`, so that "sorted by id" and "sorted by creation time" agree
/// (the AWS keys sort by id; the embedded tables by creation time).
pub fn id_at(at: Timestamp) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    ulid::Ulid::from_parts(ms, rand::random::<u128>()).to_string()
}

/// A fresh tenant id, recognisable as test data.
pub fn fresh_tenant() -> String {
    format!("conformance-{}", fresh_id())
}

/// `base` plus `ms` milliseconds.
pub fn at(base: Timestamp, ms: i64) -> Timestamp {
    base + chrono::Duration::milliseconds(ms)
}

/// A queued execution created at `created_at`, with every optional field empty.
pub fn sample_execution(tenant_id: &str, created_at: Timestamp) -> Execution {
    Execution {
        execution_id: id_at(created_at),
        tenant_id: tenant_id.to_string(),
        connection_id: "conn-a".to_string(),
        integration_id: "stripe".to_string(),
        action_id: "create_refund".to_string(),
        status: ExecutionStatus::Queued,
        input: json!({"amount": 1200, "currency": "usd", "note": "héllo ✓"}),
        output: None,
        error: None,
        attempts: 0,
        latency_ms: None,
        caller_service: None,
        caller_ref: None,
        callback_url: None,
        idempotency_key: None,
        next_attempt_at: None,
        created_at,
        updated_at: created_at,
        finished_at: None,
        expires_at: created_at + chrono::Duration::days(30),
    }
}

/// An execution with every optional field set, to check that nothing is lost on the way.
pub fn full_execution(tenant_id: &str, created_at: Timestamp) -> Execution {
    Execution {
        status: ExecutionStatus::Failed,
        output: Some(json!({"partial": [1, 2, 3], "nested": {"ok": false}})),
        error: Some(sample_error()),
        attempts: 3,
        latency_ms: Some(1234),
        caller_service: Some("flows".to_string()),
        caller_ref: Some("run-42".to_string()),
        callback_url: Some("https://example.com/callback".to_string()),
        idempotency_key: Some(format!("key-{}", fresh_id())),
        next_attempt_at: Some(at(created_at, 5_000)),
        updated_at: at(created_at, 9_000),
        finished_at: Some(at(created_at, 9_000)),
        ..sample_execution(tenant_id, created_at)
    }
}

/// A retryable provider failure.
pub fn sample_error() -> ErrorBody {
    ErrorBody {
        code: ErrorKind::ProviderUnavailable,
        message: "provider answered 503".to_string(),
        retryable: true,
    }
}

/// An active connection created at `created_at`.
pub fn sample_connection(tenant_id: &str, created_at: Timestamp) -> Connection {
    let connection_id = id_at(created_at);
    Connection {
        tenant_id: tenant_id.to_string(),
        credentials_ref: crate::model::secret_name(tenant_id, &connection_id),
        connection_id,
        integration_id: "stripe".to_string(),
        name: "Main account".to_string(),
        config: json!({"accountId": "acct_123", "sandbox": true}),
        status: ConnectionStatus::Active,
        last_tested_at: None,
        last_error_at: None,
        last_error: None,
        created_at,
        updated_at: created_at,
    }
}

/// Poll `probe` until it yields a value; panic with `what` once [`DEADLINE`] has passed.
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after {DEADLINE:?} waiting for: {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Poll `probe` until it returns `expected` (listings may lag where indexes are eventually
/// consistent); panic with the last value once [`DEADLINE`] has passed.
pub async fn eventually_eq<T, F, Fut>(what: &str, expected: &T, mut probe: F)
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let got = probe().await;
        if &got == expected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: expected {expected:?}, got {got:?}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
