//! Answers assembled with serde_json where they are built (`crate::routes::tools`, the
//! catalog's documents): these types are never built, only derive their schemas (and
//! `Deserialize`, for serde's attributes `deny_unknown_fields` and `rename_all`).
#![allow(dead_code)]

use integrations_core::catalog::{IntegrationCategory, IntegrationStatus};
use integrations_core::model::ExecutionStatus;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::openapi::errors::error_ref;

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

/// How a tool call ended: the execution's terminal status, `pending` (still running), or
/// `rejected` (invalid arguments, nothing ran).
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

// Built by crate::routes::tools::{tool_answer, rejected}.
/// What a tool call answers, for the model.
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
