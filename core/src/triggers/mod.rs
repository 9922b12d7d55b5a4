//! Triggers: a tenant's rule "when `eventType` arrives from connection A (and `filter` holds),
//! run `actionId` on connection B with an input mapped from the event". The mapping language is
//! JMESPath ([`mapping`]); firing, which submits through the API's one submission path, lives in
//! the dispatcher (`dispatcher/src/triggers.rs`).

pub mod mapping;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::model::Timestamp;

/// What a trigger listens to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerSource {
    pub connection_id: String,
    /// A normalized provider event type (`order.created`, `payment.succeeded`, …).
    pub event_type: String,
    /// A JMESPath expression over the event that must be truthy for the trigger to fire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// What a trigger runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerAction {
    pub connection_id: String,
    /// The action connection's integration, resolved when the trigger was created.
    pub integration_id: String,
    pub action_id: String,
    /// The input mapping: an object whose leaves are JMESPath expressions over the event
    /// ([`mapping::InputMapping`]).
    pub input: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub trigger_id: String,
    pub tenant_id: String,
    pub source: TriggerSource,
    pub action: TriggerAction,
    pub created_at: Timestamp,
}

impl Trigger {
    /// The `callerService` of the executions it starts.
    pub fn caller_service(&self) -> String {
        format!("trigger:{}", self.trigger_id)
    }

    /// The idempotency key of its execution for `event_id`: the same on every handling of one
    /// event, so that an event handled three times starts one execution. Hashed (with the
    /// length of the first part, so that no two pairs collide) to stay within the key's 255
    /// characters whatever the ids are.
    pub fn idempotency_key(&self, event_id: &str) -> String {
        let mut h = Sha256::new();
        h.update((self.trigger_id.len() as u64).to_be_bytes());
        h.update(self.trigger_id.as_bytes());
        h.update(event_id.as_bytes());
        format!("trigger-{}", hex::encode(h.finalize()))
    }
}

/// A tenant's triggers. Every read and write is scoped by tenant: another tenant's id is not
/// found.
#[async_trait]
pub trait TriggerStore: Send + Sync + 'static {
    /// Create; fails (`VALIDATION_FAILED`) if the id exists.
    async fn create_trigger(&self, trigger: &Trigger) -> Result<()>;
    async fn get_trigger(&self, tenant_id: &str, trigger_id: &str) -> Result<Option<Trigger>>;
    /// A tenant's triggers, oldest first.
    async fn list_triggers(&self, tenant_id: &str) -> Result<Vec<Trigger>>;
    /// False when there was none.
    async fn delete_trigger(&self, tenant_id: &str, trigger_id: &str) -> Result<bool>;
    /// The triggers listening to `event_type` from `connection_id`, oldest first: a keyed
    /// lookup (never a scan of the tenant's triggers), done for every provider event.
    async fn matching_triggers(
        &self,
        tenant_id: &str,
        connection_id: &str,
        event_type: &str,
    ) -> Result<Vec<Trigger>>;
}
