//! WebhookStore on DynamoDB, in the executions table (`aws/DESIGN.md`, "Webhook inbox"): the
//! dedupe item `WEBHOOK#<sha256(connection, key)>` and the provider event `PEVENT#<eventId>`,
//! each with the tenant as sort key and a partition of its own, and the event's outbox item
//! (`OUTBOX#<eventId>`, as result events have), written by one TransactWriteItems so that none
//! exists without the others.
//!
//! `GET /events` reads the ProviderEventsByTenantShard index: the event item carries its listing
//! shard (`eventShard` = `PEVENTS#<tenant>#<shard>`, the shard a hash of the event id over
//! `listing_shards`) and `receivedKey` = `<receivedAt>#<eventId>`, and is listed by the sharded
//! merge executions use ([`crate::dynamo::sharded`]); type, connection and integration are
//! filters. The dedupe item's condition
//! (absent, or its window passed) decides between concurrent deliveries of one key.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use integrations_core::model::now;
use integrations_core::outbox::OutboxEvent;
use integrations_core::webhooks::{
    InboundWebhook, ProviderEvent, ProviderEventFilter, RecordOutcome, WebhookStore,
    EVENT_RETENTION,
};
use integrations_core::{Error, Result};
use sha2::{Digest, Sha256};

use super::exec_item::outbox_item;
use super::executions::born_claimed;
use super::sharded::{equalities, Listing};
use super::{
    get_json, get_s, n, s, shard_of, tenant_pk, to_json, ts, Item, PROVIDER_EVENTS_BY_TENANT,
    TTL_ATTRIBUTE,
};
use crate::error::{built, sdk_error};
use integrations_core::backend::Page;

/// Events are kept as long as executions are (the tenant's event history).
const EVENT_RETENTION_SECS: i64 = EVENT_RETENTION.as_secs() as i64;

#[derive(Debug, Clone)]
pub struct DynamoWebhooks {
    client: Client,
    table: String,
    /// The outbox's PendingEvents shards (`AwsConfig::outbox_shards`).
    outbox_shards: u16,
    /// A tenant's events' index shards (`AwsConfig::listing_shards`).
    listing_shards: u16,
}

impl DynamoWebhooks {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        outbox_shards: u16,
        listing_shards: u16,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            outbox_shards,
            listing_shards,
        }
    }

    async fn get(&self, key: Item, what: &str) -> Result<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error(what, e))?;
        Ok(out.item)
    }

    fn put(&self, item: Item, condition: &str, received_ms: i64) -> Result<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if condition.contains(":received") {
            put = put.expression_attribute_values(":received", n(received_ms));
        }
        Ok(TransactWriteItem::builder()
            .put(built("DynamoDB Put", put.build())?)
            .build())
    }
}

/// Hashed, so that a provider's key (any text, any length) makes a bounded key that no choice of
/// connection id and key can make collide with another pair's.
fn dedupe_key(tenant_id: &str, connection_id: &str, key: &str) -> Item {
    let mut h = Sha256::new();
    h.update((connection_id.len() as u64).to_be_bytes());
    h.update(connection_id.as_bytes());
    h.update(key.as_bytes());
    Item::from([
        (
            "PK".into(),
            s(format!("WEBHOOK#{}", hex::encode(h.finalize()))),
        ),
        ("SK".into(), s(tenant_pk(tenant_id))),
    ])
}

/// ProviderEventsByTenantShard's partition and sort attributes, and the type filter's.
pub(crate) const EVENT_SHARD: &str = "eventShard";
pub(crate) const RECEIVED_KEY: &str = "receivedKey";
const EVENT_TYPE: &str = "eventType";

/// The shard is the last `#` field and numeric, so no other tenant id yields the same text.
fn event_shard(tenant_id: &str, shard: u16) -> String {
    format!("PEVENTS#{tenant_id}#{shard}")
}

fn event_key(tenant_id: &str, event_id: &str) -> Item {
    Item::from([
        ("PK".into(), s(format!("PEVENT#{event_id}"))),
        ("SK".into(), s(tenant_pk(tenant_id))),
    ])
}

/// Keyed by the connection alone: the URL names no tenant.
fn endpoint_key(connection_id: &str) -> Item {
    Item::from([
        ("PK".into(), s(format!("WHENDPOINT#{connection_id}"))),
        ("SK".into(), s("WHENDPOINT")),
    ])
}

#[async_trait]
impl WebhookStore for DynamoWebhooks {
    async fn record_webhook(&self, webhook: &InboundWebhook) -> Result<RecordOutcome> {
        let e = &webhook.event;
        let received_ms = e.received_at.timestamp_millis();
        let key = dedupe_key(&e.tenant_id, &e.connection_id, &webhook.dedupe_key);
        let mut dedupe = key.clone();
        dedupe.insert("eventId".into(), s(&e.event_id));
        dedupe.insert(
            "dedupeUntil".into(),
            n(webhook.dedupe_until.timestamp_millis()),
        );
        dedupe.insert(TTL_ATTRIBUTE.into(), n(webhook.dedupe_until.timestamp()));
        let mut event = event_key(&e.tenant_id, &e.event_id);
        event.insert("tenantId".into(), s(&e.tenant_id));
        event.insert("connectionId".into(), s(&e.connection_id));
        event.insert("integrationId".into(), s(&e.integration_id));
        event.insert(EVENT_TYPE.into(), s(&e.event_type));
        let shard = shard_of(&e.event_id, self.listing_shards);
        event.insert(EVENT_SHARD.into(), s(event_shard(&e.tenant_id, shard)));
        event.insert(
            RECEIVED_KEY.into(),
            s(format!("{}#{}", ts(&e.received_at), e.event_id)),
        );
        event.insert("event".into(), s(to_json(e)?));
        event.insert(
            TTL_ATTRIBUTE.into(),
            n(e.received_at.timestamp() + EVENT_RETENTION_SECS),
        );
        let mut outbox = outbox_item(
            &OutboxEvent::Provider(e.clone()),
            self.outbox_shards,
            &now(),
        )?;
        if let Some(claim) = &webhook.event_claim {
            born_claimed(&mut outbox, claim);
        }
        // The dedupe Put first: its condition failing is what a duplicate looks like.
        let items = vec![
            self.put(
                dedupe,
                "attribute_not_exists(PK) OR dedupeUntil <= :received",
                received_ms,
            )?,
            self.put(event, "attribute_not_exists(PK)", received_ms)?,
            self.put(outbox, "attribute_not_exists(PK)", received_ms)?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            // A retry of this call after a lost answer is the same write, not a duplicate.
            .client_request_token(&e.event_id)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(RecordOutcome::Recorded),
            Err(err) => err,
        };
        let dedupe_failed = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                .cancellation_reasons()
                .first()
                .is_some_and(|r| r.code() == Some("ConditionalCheckFailed")),
            _ => false,
        };
        if !dedupe_failed {
            return Err(sdk_error("DynamoDB TransactWriteItems (webhook)", err));
        }
        let held = self
            .get(key, "DynamoDB GetItem (webhook)")
            .await?
            .ok_or_else(|| Error::backend("webhook dedupe item vanished; retry"))?;
        Ok(RecordOutcome::Duplicate {
            event_id: get_s(&held, "eventId").unwrap_or_default().to_string(),
        })
    }

    async fn register_endpoint(&self, connection_id: &str, tenant_id: &str) -> Result<()> {
        let mut item = endpoint_key(connection_id);
        item.insert("tenantId".into(), s(tenant_id));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem (webhook endpoint)", e))?;
        Ok(())
    }

    async fn endpoint_tenant(&self, connection_id: &str) -> Result<Option<String>> {
        Ok(self
            .get(
                endpoint_key(connection_id),
                "DynamoDB GetItem (webhook endpoint)",
            )
            .await?
            .and_then(|item| get_s(&item, "tenantId").map(str::to_string)))
    }

    async fn list_provider_events(
        &self,
        tenant_id: &str,
        filter: &ProviderEventFilter,
    ) -> Result<Page<ProviderEvent>> {
        let listing = Listing {
            client: &self.client,
            table: &self.table,
            index: PROVIDER_EVENTS_BY_TENANT,
            partition_attr: EVENT_SHARD,
            sort_attr: RECEIVED_KEY,
            shards: self.listing_shards,
            tenant_id,
            start: filter.start.as_ref(),
            end: filter.end.as_ref(),
            limit: filter.limit,
            cursor: filter.cursor.as_deref(),
            what: "DynamoDB Query (provider events)",
        };
        listing
            .page(
                |shard| event_shard(tenant_id, shard),
                |req| {
                    equalities(
                        req,
                        &[
                            ("type", EVENT_TYPE, filter.event_type.as_deref()),
                            (
                                "connection",
                                "connectionId",
                                filter.connection_id.as_deref(),
                            ),
                            (
                                "integration",
                                "integrationId",
                                filter.integration_id.as_deref(),
                            ),
                        ],
                    )
                },
                |item| get_json(item, "event"),
            )
            .await
    }

    async fn get_provider_event(
        &self,
        tenant_id: &str,
        event_id: &str,
    ) -> Result<Option<ProviderEvent>> {
        self.get(
            event_key(tenant_id, event_id),
            "DynamoDB GetItem (provider event)",
        )
        .await?
        .map(|item| get_json(&item, "event"))
        .transpose()
    }
}
