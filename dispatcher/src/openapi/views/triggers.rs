//! The trigger routes' answers, serialized as they are documented.

use integrations_core::triggers as model;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Timestamp;

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerSource {
    connection_id: String,
    event_type: String,
    /// A JMESPath expression over the event; the trigger fires when it is truthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerAction {
    connection_id: String,
    /// The action connection's integration.
    integration_id: String,
    action_id: String,
    /// The input mapping: the action's input fields, each a JMESPath expression over the event.
    #[schema(value_type = Object)]
    input: Value,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Trigger {
    trigger_id: String,
    tenant_id: String,
    source: TriggerSource,
    action: TriggerAction,
    /// The `callerService` of the executions it starts (`trigger:<triggerId>`).
    caller_service: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
}

impl From<&model::Trigger> for Trigger {
    fn from(t: &model::Trigger) -> Self {
        Self {
            trigger_id: t.trigger_id.clone(),
            tenant_id: t.tenant_id.clone(),
            source: TriggerSource {
                connection_id: t.source.connection_id.clone(),
                event_type: t.source.event_type.clone(),
                filter: t.source.filter.clone(),
            },
            action: TriggerAction {
                connection_id: t.action.connection_id.clone(),
                integration_id: t.action.integration_id.clone(),
                action_id: t.action.action_id.clone(),
                input: t.action.input.clone(),
            },
            caller_service: t.caller_service(),
            created_at: t.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerList {
    /// Oldest first.
    pub triggers: Vec<Trigger>,
}
