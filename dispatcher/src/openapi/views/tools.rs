//! `GET /tools`'s answer.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// A tool left out of a listing, and why.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolWarning {
    pub tool: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolList {
    /// In the requested format (docs/agents.md).
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<ToolWarning>)]
    pub warnings: Option<Vec<ToolWarning>>,
}
