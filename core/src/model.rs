//! Domain types shared by every component: connections, executions, queue messages, events.
//!
//! Field names serialize in camelCase, as the HTTP API and the message schemas in `schemas/` show.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ErrorBody;

pub type Timestamp = DateTime<Utc>;

/// Current time, truncated to milliseconds so that stored and in-memory values compare equal.
pub fn now() -> Timestamp {
    let t = Utc::now();
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// A new time-sortable identifier (ULID).
pub fn new_id() -> String {
    ulid::Ulid::new().to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    Inactive,
    Error,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "inactive" => Some(Self::Inactive),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

/// A tenant's configured instance of an integration. Holds no secret: those live in the
/// secret store under `credentials_ref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub tenant_id: String,
    pub connection_id: String,
    pub integration_id: String,
    pub name: String,
    /// Non-secret configuration, validated against the integration's configSchema.
    pub config: Value,
    pub credentials_ref: String,
    pub status: ConnectionStatus,
    pub last_tested_at: Option<Timestamp>,
    pub last_error_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The name of a connection's secret in the secret store.
pub fn secret_name(tenant_id: &str, connection_id: &str) -> String {
    format!("/integrations/{tenant_id}/{connection_id}")
}

/// Secret fields of a connection. Debug never prints the values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials(pub BTreeMap<String, String>);

impl Credentials {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Every secret value, for scanning outputs that must never contain one.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    DeadLettered,
}

impl ExecutionStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::TimedOut | Self::DeadLettered
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::TimedOut => "timed_out",
            Self::DeadLettered => "dead_lettered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            "timed_out" => Some(Self::TimedOut),
            "dead_lettered" => Some(Self::DeadLettered),
            _ => None,
        }
    }
}

/// One execution of an action, as stored and as returned by the API. `input` and `output` are
/// sanitized copies (secret fields dropped, PII masked); the raw input only travels in the
/// queue message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub execution_id: String,
    pub tenant_id: String,
    pub connection_id: String,
    pub integration_id: String,
    pub action_id: String,
    pub status: ExecutionStatus,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// When the stored record may be deleted (30 days after creation).
    pub expires_at: Timestamp,
}

/// Schema version of [`ExecutionRequest`] messages.
pub const EXECUTION_REQUEST_VERSION: u32 = 1;

/// The message on the work queue (`schemas/messages/execution-request.schema.json`). Producers
/// may publish it straight onto the queue, without the HTTP API: the worker then records the
/// execution itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionRequest {
    pub version: u32,
    pub execution_id: String,
    pub tenant_id: String,
    pub connection_id: String,
    pub action_id: String,
    pub input: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    pub submitted_at: Timestamp,
}

/// Kinds of result events (EventBridge detail-type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionDeadLettered,
    /// Every attempt to deliver an execution's callback failed.
    CallbackFailed,
}

impl EventType {
    pub fn for_status(status: ExecutionStatus) -> Option<Self> {
        match status {
            ExecutionStatus::Succeeded => Some(Self::ExecutionSucceeded),
            ExecutionStatus::Failed => Some(Self::ExecutionFailed),
            ExecutionStatus::TimedOut => Some(Self::ExecutionTimedOut),
            ExecutionStatus::DeadLettered => Some(Self::ExecutionDeadLettered),
            ExecutionStatus::Queued | ExecutionStatus::Running => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExecutionSucceeded => "ExecutionSucceeded",
            Self::ExecutionFailed => "ExecutionFailed",
            Self::ExecutionTimedOut => "ExecutionTimedOut",
            Self::ExecutionDeadLettered => "ExecutionDeadLettered",
            Self::CallbackFailed => "CallbackFailed",
        }
    }
}

/// The event source on the bus.
pub const EVENT_SOURCE: &str = "integrations.executions";

/// A result event (`schemas/messages/result-event.schema.json`): written to the outbox in the
/// same transaction as the terminal state, then published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultEvent {
    pub event_id: String,
    pub event_type: EventType,
    pub execution_id: String,
    pub tenant_id: String,
    pub connection_id: String,
    pub integration_id: String,
    pub action_id: String,
    pub status: ExecutionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    pub occurred_at: Timestamp,
}

impl ResultEvent {
    /// The event for an execution that just reached a terminal state.
    pub fn for_execution(e: &Execution) -> Option<Self> {
        Some(Self::of(e, EventType::for_status(e.status)?))
    }
}

/// A caller service's API key, stored by the SHA-256 of the key (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub key_id: String,
    pub key_hash: String,
    pub caller_service: String,
    /// Tenants this key may act for; `None` means all tenants.
    pub tenants: Option<Vec<String>>,
    pub created_at: Timestamp,
}

impl ApiKey {
    pub fn allows(&self, tenant_id: &str) -> bool {
        self.tenants
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == tenant_id))
    }
}
