//! `GET /events` and `GET /events/{eventId}`: provider events as recorded
//! (`schemas/messages/provider-event.schema.json`).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Timestamp;

/// A provider's webhook, verified and normalized.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderEvent {
    pub event_id: String,
    pub tenant_id: String,
    pub connection_id: String,
    pub integration_id: String,
    /// The normalized type, such as `payment.succeeded` or `shipment.status_changed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The provider's own name for it.
    pub provider_type: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Timestamp,
    /// The provider's payload, sanitized.
    pub data: Value,
}

impl From<integrations_core::webhooks::ProviderEvent> for ProviderEvent {
    fn from(e: integrations_core::webhooks::ProviderEvent) -> Self {
        Self {
            event_id: e.event_id,
            tenant_id: e.tenant_id,
            connection_id: e.connection_id,
            integration_id: e.integration_id,
            event_type: e.event_type,
            provider_type: e.provider_type,
            occurred_at: e.occurred_at,
            received_at: e.received_at,
            data: e.data,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderEventList {
    pub events: Vec<ProviderEvent>,
    /// Opaque; pass as cursor for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub next_cursor: Option<String>,
}
