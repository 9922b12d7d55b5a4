//! The connection routes' and `/healthz`'s answers, serialized as they are documented.

use integrations_core::error::ErrorBody;
use integrations_core::model::{self, ConnectionStatus};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{always_ok, always_true, Timestamp};
use crate::openapi::errors::error_ref;
use crate::routes::connections::webhook::WebhookEndpoint;

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
    /// In the create answer of a connection whose provider pushes webhooks: the URL to
    /// register with it (also at `GET /connections/{connectionId}/webhook`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    webhook: Option<WebhookEndpoint>,
}

impl Connection {
    pub fn created(c: &model::Connection, webhook: Option<WebhookEndpoint>) -> Self {
        Self {
            webhook,
            ..c.into()
        }
    }
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
            webhook: None,
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
