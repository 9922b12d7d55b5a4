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

    /// The event as the bus carries it: a provider event without its unmasked payload.
    pub fn as_published(&self) -> Self {
        let mut event = self.clone();
        if let Self::Provider(e) = &mut event {
            e.unmasked_data = None;
        }
        event
    }

    /// The event's own JSON (the bus entry's detail, per its message schema), without the kind.
    pub fn to_json(&self) -> Result<String> {
        match self {
            Self::Result(e) => serde_json::to_string(e),
            Self::Provider(e) => serde_json::to_string(e),
        }
        .map_err(|e| Error::internal(format!("serialize event: {e}")))
    }

    /// The JSON an outbox entry stores: [`Self::to_json`], and for a provider event its
    /// unmasked payload beside it ([`ProviderEvent::unmasked_data`]), which the relay's handler
    /// needs and the bus must never see.
    pub fn to_stored_json(&self) -> Result<String> {
        match self {
            Self::Result(e) => serde_json::to_string(e),
            Self::Provider(event) => serde_json::to_string(&StoredProviderEvent {
                event: std::borrow::Cow::Borrowed(event),
                unmasked_data: event.unmasked_data.clone(),
            }),
        }
        .map_err(|e| Error::internal(format!("serialize event: {e}")))
    }

    /// Read back what [`Self::to_stored_json`] wrote, knowing its kind.
    pub fn from_stored_json(kind: OutboxEventKind, json: &str) -> Result<Self> {
        let parsed = match kind {
            OutboxEventKind::Result => serde_json::from_str(json).map(Self::Result),
            OutboxEventKind::Provider => {
                serde_json::from_str::<StoredProviderEvent>(json).map(|stored| {
                    let mut event = stored.event.into_owned();
                    event.unmasked_data = stored.unmasked_data;
                    Self::Provider(event)
                })
            }
        };
        parsed.map_err(|e| Error::internal(format!("stored outbox event is not valid: {e}")))
    }
}

/// A provider event as its outbox entry holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredProviderEvent<'a> {
    #[serde(flatten)]
    event: std::borrow::Cow<'a, ProviderEvent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unmasked_data: Option<serde_json::Value>,
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
