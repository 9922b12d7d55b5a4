//! What the outbox carries: result events (written with terminal states) and provider events
//! (written with the webhook inbox record), one closed set, so that one relay publishes both and
//! each backend stores both in its one outbox.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{ResultEvent, Timestamp};
use crate::webhooks::ProviderEvent;

/// An event waiting in the outbox, or on its way to the bus.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxEvent {
    Result(ResultEvent),
    Provider(ProviderEvent),
}

/// Which kind an [`OutboxEvent`] is, as stored beside its JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxEventKind {
    Result,
    Provider,
}

impl OutboxEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Result => "result",
            Self::Provider => "provider",
        }
    }

    /// The stored name; None (a row written before provider events existed) is a result event.
    pub fn parse(stored: Option<&str>) -> Result<Self> {
        match stored {
            None | Some("result") => Ok(Self::Result),
            Some("provider") => Ok(Self::Provider),
            Some(other) => Err(Error::internal(format!(
                "unknown outbox event kind `{other}`"
            ))),
        }
    }
}

/// The bus's `detail-type` of every provider event (result events have one per
/// [`crate::model::EventType`]); consumers tell provider events apart by the detail's `type`.
pub const PROVIDER_EVENT_DETAIL_TYPE: &str = "ProviderEvent";

impl OutboxEvent {
    pub fn event_id(&self) -> &str {
        match self {
            Self::Result(e) => &e.event_id,
            Self::Provider(e) => &e.event_id,
        }
    }

    pub fn kind(&self) -> OutboxEventKind {
        match self {
            Self::Result(_) => OutboxEventKind::Result,
            Self::Provider(_) => OutboxEventKind::Provider,
        }
    }

    /// The bus's `detail-type`: the result event's type, or [`PROVIDER_EVENT_DETAIL_TYPE`].
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::Result(e) => e.event_type.as_str(),
            Self::Provider(_) => PROVIDER_EVENT_DETAIL_TYPE,
        }
    }

    /// When it happened (the bus entry's time).
    pub fn occurred_at(&self) -> Timestamp {
        match self {
            Self::Result(e) => e.occurred_at,
            Self::Provider(e) => e.occurred_at,
        }
    }

    pub fn as_result(&self) -> Option<&ResultEvent> {
        match self {
            Self::Result(e) => Some(e),
            Self::Provider(_) => None,
        }
    }

    pub fn as_provider(&self) -> Option<&ProviderEvent> {
        match self {
            Self::Provider(e) => Some(e),
            Self::Result(_) => None,
        }
    }

    /// The event's own JSON (the bus entry's detail, per its message schema), without the kind.
    pub fn to_json(&self) -> Result<String> {
        match self {
            Self::Result(e) => serde_json::to_string(e),
            Self::Provider(e) => serde_json::to_string(e),
        }
        .map_err(|e| Error::internal(format!("serialize event: {e}")))
    }

    /// Read back what [`Self::to_json`] wrote, knowing its kind.
    pub fn from_json(kind: OutboxEventKind, json: &str) -> Result<Self> {
        let parsed = match kind {
            OutboxEventKind::Result => serde_json::from_str(json).map(Self::Result),
            OutboxEventKind::Provider => serde_json::from_str(json).map(Self::Provider),
        };
        parsed.map_err(|e| Error::internal(format!("stored outbox event is not valid: {e}")))
    }
}

impl From<ResultEvent> for OutboxEvent {
    fn from(e: ResultEvent) -> Self {
        Self::Result(e)
    }
}

impl From<ProviderEvent> for OutboxEvent {
    fn from(e: ProviderEvent) -> Self {
        Self::Provider(e)
    }
}
