//! The durable inbox of provider webhooks: a verified webhook is recorded once, with its
//! normalized provider event, before the provider gets its answer, so that a crash after the
//! write loses nothing and a provider's retry of the same delivery is recognised as a duplicate.
//!
//! The event goes into the outbox in the same atomic write ([`crate::outbox`]); the relay
//! publishes it on the bus (`detail-type` [`crate::outbox::PROVIDER_EVENT_DETAIL_TYPE`]) and hands
//! it to the process's [`ProviderEventHandler`] before removing it.
//!
//! Deduplication is by the provider's own key (an event or delivery id, or a hash of the body
//! where the provider has none), scoped to (tenant, connection), for [`DedupeWindow`]: longer than
//! every provider's retry window, so that no retry is ever taken for a new event.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::backend::{Lease, Page};
use crate::error::Result;
use crate::model::Timestamp;

/// A provider's event, normalized (`schemas/messages/provider-event.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEvent {
    pub event_id: String,
    pub tenant_id: String,
    pub connection_id: String,
    pub integration_id: String,
    /// The normalized type, such as `payment.succeeded` or `shipment.status_changed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The provider's own name for it (Stripe's `payment_intent.succeeded`, GHN's status).
    pub provider_type: String,
    /// When the provider says it happened (the receipt time where it says nothing).
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    /// The provider's payload, sanitized ([`crate::sanitize`]): what is published, listed and
    /// kept.
    pub data: Value,
    /// The payload with only its credentials removed ([`crate::sanitize::redact_credentials`]),
    /// for the triggers alone: a trigger maps the customer's real phone and address into the
    /// action it starts, as a caller submitting that action would. It travels in memory and in
    /// the event's outbox entry (`OutboxEvent::to_stored_json`), which is deleted once the
    /// triggers have run, like a queued execution's input; never serialized anywhere else, so
    /// the bus, `GET /events` and the kept event record hold the sanitized `data` only. None
    /// where there is none (an entry too large to carry both): the triggers read `data`.
    #[serde(skip)]
    pub unmasked_data: Option<Value>,
}

/// A verified webhook to record.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundWebhook {
    /// The provider's delivery or event id, or a hash of the body: equal on every retry of one
    /// delivery, different between deliveries.
    pub dedupe_key: String,
    /// Until when a delivery with the same key is a duplicate ([`DedupeWindow::expiry`]).
    pub dedupe_until: Timestamp,
    pub event: ProviderEvent,
    /// The outbox claim the event is born with: the relay of the receiving process, which
    /// publishes it at once. None: any relay's sweep may claim it now.
    pub event_claim: Option<Lease>,
}

/// What [`WebhookStore::record_webhook`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordOutcome {
    /// Written with its event: answer the provider with success.
    Recorded,
    /// The same key was recorded within its window: nothing written. The provider retried a
    /// delivery we already hold; answer it with success too, so that it stops.
    Duplicate { event_id: String },
}

/// How long a dedupe key is remembered. One window for every provider, because the longest
/// retry window (Stripe: 3 days) is short beside it and a longer memory costs one small row
/// per webhook; per provider (from `../shared/reference/webhooks.md`):
///
/// | provider | retries | window needed |
/// |---|---|---|
/// | Stripe | automatic retries for up to 3 days | 3 days |
/// | MoMo IPN | a few retries within minutes | < 1 day |
/// | ZaloPay | up to 3 retries | < 1 day |
/// | VNPay IPN | up to 10 retries | < 1 day |
/// | GHN | 10 retries, 5 s apart | < 1 hour |
/// | GHTK | retries until exactly 200 | < 1 day |
///
/// Rows past the window are overwritten by the next delivery with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupeWindow(pub Duration);

impl DedupeWindow {
    /// 7 days: over twice Stripe's 3.
    pub const DEFAULT: Self = Self(Duration::from_secs(7 * 24 * 3600));

    pub fn expiry(self, received_at: Timestamp) -> Timestamp {
        received_at + chrono::Duration::from_std(self.0).unwrap_or(chrono::Duration::MAX)
    }
}

/// Which of a tenant's provider events [`WebhookStore::list_provider_events`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderEventFilter {
    /// The normalized type.
    pub event_type: Option<String>,
    pub connection_id: Option<String>,
    pub integration_id: Option<String>,
    /// Received at or after.
    pub start: Option<Timestamp>,
    /// Received before.
    pub end: Option<Timestamp>,
    /// 0: the backend's default page size.
    pub limit: usize,
    /// Opaque, from a previous page of the same tenant.
    pub cursor: Option<String>,
}

/// Something that acts on provider events as they leave the outbox (triggers). Called at least
/// once per recorded event, before the event is removed; an Err leaves it for a later sweep, so
/// a handler must be idempotent.
#[async_trait::async_trait]
pub trait ProviderEventHandler: Send + Sync + 'static {
    async fn handle(&self, event: &ProviderEvent) -> crate::error::Result<()>;
}

/// How long recorded events stay readable (`GET /events`), as executions do: far beyond the
/// dedupe window, so a tenant can look back at what triggered what.
pub const EVENT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// Record `webhook`, its event and the event's outbox entry (born held by
    /// `webhook.event_claim`) in one atomic write, unless a webhook with the same
    /// (tenant, connection, dedupe key) is held and `dedupe_until` of that one is still ahead of
    /// `webhook.event.received_at`. Of concurrent records of one key exactly one is
    /// [`RecordOutcome::Recorded`].
    async fn record_webhook(&self, webhook: &InboundWebhook) -> Result<RecordOutcome>;

    /// Make `connection_id`'s webhook URL (`/webhooks/{integration}/{connection}`, which names no
    /// tenant) resolve to `tenant_id`. Connection ids are unique across tenants (ULIDs made by
    /// the service); registering an id again replaces its tenant.
    async fn register_endpoint(&self, connection_id: &str, tenant_id: &str) -> Result<()>;

    /// The tenant whose connection receives at `connection_id`'s URL.
    async fn endpoint_tenant(&self, connection_id: &str) -> Result<Option<String>>;

    /// A tenant's recorded events, newest received first (ties by event id, descending).
    /// Listings may lag a moment behind recording where they read an eventually consistent
    /// index; events are kept for [`EVENT_RETENTION`].
    async fn list_provider_events(
        &self,
        tenant_id: &str,
        filter: &ProviderEventFilter,
    ) -> Result<Page<ProviderEvent>>;

    /// A recorded event, by the tenant that owns it.
    async fn get_provider_event(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> Result<Option<ProviderEvent>>;
}
