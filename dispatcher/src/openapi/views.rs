//! The JSON bodies the handlers answer with. The connection routes' answers are these types,
//! serialized. The others are assembled with serde_json from records of `integrations-core`
//! (an execution with the seed's contract fields, a tool's answer, catalog documents), shared
//! with the MCP server and the tool surfaces; their types here are never built (`described`
//! below) and only describe those answers. schemathesis holds the live service's answers to all
//! of them (tests/tests/openapi.rs); `deny_unknown_fields` makes it refuse a field they do not
//! list.

use integrations_core::callbacks::{CallbackAttempt, CallbackStatus};
use integrations_core::catalog::{IntegrationCategory, IntegrationStatus};
use integrations_core::error::ErrorBody;
use integrations_core::model;
use integrations_core::model::{ConnectionStatus, ExecutionStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use super::errors::error_ref;

/// A date-time as the records serialize it (RFC 3339).
type Timestamp = chrono::DateTime<chrono::Utc>;

fn always(value: Value, of: Type) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(of)
        .enum_values(Some([value]))
        .into()
}

fn always_ok() -> RefOr<Schema> {
    always("ok".into(), Type::String)
}

fn always_true() -> RefOr<Schema> {
    always(true.into(), Type::Boolean)
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    #[schema(schema_with = always_ok)]
    status: &'static str,
}

impl Health {
    pub const OK: Self = Self { status: "ok" };
}

/// A connection as the API shows it (its secret's location left out).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Connection {
    tenant_id: String,
    connection_id: String,
    integration_id: String,
    name: String,
    /// Non-secret configuration; credentials are never returned.
    #[schema(value_type = Object)]
    config: Value,
    status: ConnectionStatus,
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    last_tested_at: Option<Timestamp>,
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    last_error_at: Option<Timestamp>,
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<&model::Connection> for Connection {
    fn from(c: &model::Connection) -> Self {
        // Every field but credentials_ref, spelled out: a field added to the record is not
        // shown until it is added here.
        Self {
            tenant_id: c.tenant_id.clone(),
            connection_id: c.connection_id.clone(),
            integration_id: c.integration_id.clone(),
            name: c.name.clone(),
            config: c.config.clone(),
            status: c.status,
            last_tested_at: c.last_tested_at,
            last_error_at: c.last_error_at,
            last_error: c.last_error.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionList {
    pub connections: Vec<Connection>,
}

/// The outcome of `POST /connections/{connectionId}/test`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectionTest {
    pub success: bool,
    pub message: String,
    #[schema(value_type = String, format = DateTime)]
    pub tested_at: Timestamp,
    /// Why the test failed (absent on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = error_ref, required = false)]
    pub error: Option<ErrorBody>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deleted {
    #[schema(schema_with = always_true)]
    success: bool,
}

impl Deleted {
    pub const YES: Self = Self { success: true };
}

pub use described::*;

/// Answers assembled with serde_json where they are built (`crate::submit::answer`,
/// `crate::routes::tools`, the catalog's documents): these types are never built, only derive
/// their schemas (and `Deserialize`, for serde's attributes).
#[allow(dead_code)]
mod described {
    use super::*;

    /// The delivery of an execution's callback (docs/callbacks.md); pending until the execution
    /// finishes.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct CallbackDelivery {
        url: String,
        status: CallbackStatus,
        attempts: Vec<CallbackAttempt>,
        #[serde(default)]
        #[schema(value_type = Option<String>, format = DateTime)]
        next_attempt_at: Option<Timestamp>,
    }

    // Built by crate::submit::answer.
    /// An execution as every caller sees it: the stored record plus the seed's contract fields
    /// success (true only when succeeded), data (the output), latencyMs, and, when it asked for one,
    /// its callback's delivery.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct Execution {
        execution_id: String,
        tenant_id: String,
        connection_id: String,
        integration_id: String,
        action_id: String,
        status: ExecutionStatus,
        /// Sanitized input.
        #[schema(value_type = Object)]
        input: Value,
        /// Sanitized output (succeeded only).
        #[serde(default)]
        #[schema(value_type = Value, required = false)]
        output: Option<Value>,
        #[serde(default)]
        #[schema(schema_with = error_ref, required = false)]
        error: Option<Value>,
        attempts: u32,
        latency_ms: u64,
        #[serde(default)]
        caller_service: Option<String>,
        #[serde(default)]
        caller_ref: Option<String>,
        #[serde(default)]
        callback_url: Option<String>,
        #[serde(default)]
        idempotency_key: Option<String>,
        #[serde(default)]
        #[schema(value_type = Option<String>, format = DateTime)]
        next_attempt_at: Option<Timestamp>,
        #[schema(value_type = String, format = DateTime)]
        created_at: Timestamp,
        #[schema(value_type = String, format = DateTime)]
        updated_at: Timestamp,
        #[serde(default)]
        #[schema(value_type = Option<String>, format = DateTime)]
        finished_at: Option<Timestamp>,
        #[schema(value_type = String, format = DateTime)]
        expires_at: Timestamp,
        success: bool,
        /// The output (the seed's name for it).
        #[serde(default)]
        #[schema(value_type = Value, required = false)]
        data: Option<Value>,
        #[serde(default)]
        callback: Option<CallbackDelivery>,
    }

    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ExecutionList {
        executions: Vec<Execution>,
        /// Opaque; pass as cursor for the next page.
        #[serde(default)]
        next_cursor: Option<String>,
    }

    /// An action of a catalog document.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct ActionSummary {
        action_id: String,
    }

    /// A catalog document (schemas/integrations/*.json, checked against
    /// schemas/integration.schema.json).
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Integration {
        integration_id: String,
        name: String,
        category: IntegrationCategory,
        status: IntegrationStatus,
        #[serde(default)]
        #[schema(value_type = Object, required = false)]
        config_schema: Option<Value>,
        actions: Vec<ActionSummary>,
    }

    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct IntegrationList {
        /// Summaries: configSchema left out, actions as {actionId, name, category}.
        integrations: Vec<Integration>,
    }

    /// One action of the catalog with its input and output JSON Schemas.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Action {
        action_id: String,
        integration_id: String,
        #[serde(default)]
        #[schema(required = false, value_type = String)]
        name: Option<String>,
        #[schema(value_type = Object)]
        input_schema: Value,
        #[schema(value_type = Object)]
        output_schema: Value,
    }

    /// A tool left out of a listing, and why.
    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ToolWarning {
        tool: String,
        message: String,
    }

    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct ToolList {
        /// In the requested format (docs/agents.md).
        #[schema(value_type = Vec<Object>)]
        tools: Vec<Value>,
        #[serde(default)]
        #[schema(value_type = Vec<ToolWarning>, required = false)]
        warnings: Option<Vec<ToolWarning>>,
    }

    // Built by crate::routes::tools::{tool_answer, rejected}.
    /// What a tool call answers: the outcome of the execution, or `rejected` arguments.
    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ToolStatus {
        Succeeded,
        Failed,
        TimedOut,
        DeadLettered,
        Pending,
        Rejected,
    }

    #[derive(Deserialize, ToSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    pub struct ToolAnswer {
        status: ToolStatus,
        success: bool,
        /// Whether the answer reports a failure.
        is_error: bool,
        #[serde(default)]
        #[schema(value_type = String, required = false)]
        execution_id: Option<String>,
        #[serde(default)]
        #[schema(value_type = Value, required = false)]
        data: Option<Value>,
        #[serde(default)]
        #[schema(schema_with = error_ref, required = false)]
        error: Option<Value>,
        #[serde(default)]
        #[schema(value_type = u64, required = false)]
        latency_ms: Option<u64>,
        #[serde(default)]
        #[schema(value_type = u32, required = false)]
        attempts: Option<u32>,
        /// The execution's status while `pending`.
        #[serde(default)]
        #[schema(value_type = ExecutionStatus, required = false)]
        execution_status: Option<ExecutionStatus>,
        /// How to fetch a pending result.
        #[serde(default)]
        #[schema(value_type = String, required = false)]
        poll: Option<String>,
        #[serde(default)]
        #[schema(value_type = String, required = false)]
        message: Option<String>,
    }
}
