//! The webhook inbox: the dedupe row, the provider event and its outbox row in one write through
//! the writer (one transaction, which serializes every write to the file, so concurrent
//! deliveries of one key are decided one after another).

use async_trait::async_trait;
use integrations_core::backend::Page;
use integrations_core::outbox::OutboxEvent;
use integrations_core::webhooks::{
    InboundWebhook, ProviderEvent, ProviderEventFilter, RecordOutcome, WebhookStore,
};
use integrations_core::Result;
use rusqlite::{params, OptionalExtension};

use crate::keyset::Keyset;
use crate::values::{from_json, ms, to_json};
use crate::EmbeddedBackend;

#[async_trait]
impl WebhookStore for EmbeddedBackend {
    async fn record_webhook(&self, webhook: &InboundWebhook) -> Result<RecordOutcome> {
        let webhook = webhook.clone();
        self.db()
            .write(move |conn| {
                let e = &webhook.event;
                let held: Option<(String, i64)> = conn
                    .prepare_cached(
                        "SELECT event_id, dedupe_until FROM webhooks
                         WHERE tenant_id = ?1 AND connection_id = ?2 AND dedupe_key = ?3",
                    )?
                    .query_row(
                        params![e.tenant_id, e.connection_id, webhook.dedupe_key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                if let Some((event_id, until)) = held {
                    if until > ms(e.received_at) {
                        return Ok(RecordOutcome::Duplicate { event_id });
                    }
                }
                // Past its window the key is free again: the row is replaced, the old event
                // stays (it was a different delivery).
                conn.prepare_cached(
                    "INSERT INTO webhooks (tenant_id, connection_id, dedupe_key, event_id,
                         dedupe_until) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (tenant_id, connection_id, dedupe_key) DO UPDATE SET
                         event_id = excluded.event_id, dedupe_until = excluded.dedupe_until",
                )?
                .execute(params![
                    e.tenant_id,
                    e.connection_id,
                    webhook.dedupe_key,
                    e.event_id,
                    ms(webhook.dedupe_until),
                ])?;
                conn.prepare_cached(
                    "INSERT INTO provider_events (tenant_id, event_id, connection_id, event_type,
                         received_at, event) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    e.tenant_id,
                    e.event_id,
                    e.connection_id,
                    e.event_type,
                    ms(e.received_at),
                    to_json(e)?,
                ])?;
                crate::outbox::insert(
                    conn,
                    &OutboxEvent::Provider(e.clone()),
                    webhook.event_claim.as_ref(),
                )?;
                Ok(RecordOutcome::Recorded)
            })
            .await
    }

    async fn register_endpoint(&self, connection_id: &str, tenant_id: &str) -> Result<()> {
        let (connection_id, tenant_id) = (connection_id.to_string(), tenant_id.to_string());
        self.db()
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO webhook_endpoints (connection_id, tenant_id) VALUES (?1, ?2)
                     ON CONFLICT (connection_id) DO UPDATE SET tenant_id = excluded.tenant_id",
                )?
                .execute(params![connection_id, tenant_id])?;
                Ok(())
            })
            .await
    }

    async fn endpoint_tenant(&self, connection_id: &str) -> Result<Option<String>> {
        let connection_id = connection_id.to_string();
        self.db()
            .read(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT tenant_id FROM webhook_endpoints WHERE connection_id = ?1",
                    )?
                    .query_row([connection_id], |r| r.get(0))
                    .optional()?)
            })
            .await
    }

    async fn list_provider_events(
        &self,
        tenant_id: &str,
        filter: &ProviderEventFilter,
    ) -> Result<Page<ProviderEvent>> {
        let mut query = Keyset::new(
            "event",
            "provider_events",
            tenant_id,
            ("received_at", "event_id"),
            filter.limit,
        );
        query
            .equal("event_type", filter.event_type.as_deref())
            .equal("connection_id", filter.connection_id.as_deref())
            // Not a column: a filter on the rows the index range yields.
            .equal(
                "json_extract(event, '$.integrationId')",
                filter.integration_id.as_deref(),
            )
            .between(filter.start, filter.end)
            .after(filter.cursor.as_deref())?;
        query
            .page(
                self.db(),
                |row| from_json(&row.get::<_, String>(0)?),
                |e: &ProviderEvent| (e.received_at, e.event_id.as_str()),
            )
            .await
    }

    async fn get_provider_event(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> Result<Option<ProviderEvent>> {
        let (tenant_id, event_id) = (tenant_id.to_string(), event_id.to_string());
        self.db()
            .read(move |conn| {
                let text: Option<String> = conn
                    .prepare_cached(
                        "SELECT event FROM provider_events WHERE tenant_id = ?1 AND event_id = ?2",
                    )?
                    .query_row(params![tenant_id, event_id], |r| r.get(0))
                    .optional()?;
                text.map(|t| from_json(&t)).transpose()
            })
            .await
    }
}
