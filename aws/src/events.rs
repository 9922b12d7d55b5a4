//! The event bus on EventBridge.
//!
//! Every event is one entry on the configured bus, source `integrations.executions`
//! ([`EVENT_SOURCE`]), time its `occurredAt`: a result event with detail-type
//! `ExecutionSucceeded` | `ExecutionFailed` | `ExecutionTimedOut` | `ExecutionDeadLettered` |
//! `CallbackFailed` and the [`integrations_core::model::ResultEvent`] as detail
//! (`schemas/messages/result-event.schema.json`); a provider event with detail-type
//! `ProviderEvent` ([`integrations_core::outbox::PROVIDER_EVENT_DETAIL_TYPE`]) and the
//! [`integrations_core::webhooks::ProviderEvent`] as detail
//! (`schemas/messages/provider-event.schema.json`; rules match its normalized `type` in the
//! detail). A payload too large for an entry is truncated ([`truncate::fit_outbox_event`]). Consumers match on
//! source and detail-type with rules. Entries go in PutEvents requests of up to 10 entries and
//! 256 KB; entries EventBridge fails for a passing reason are retried alone.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use integrations_core::backend::EventBus;
use integrations_core::model::EVENT_SOURCE;
use integrations_core::outbox::OutboxEvent;
use integrations_core::Result;

use crate::error::sdk_error;
use crate::truncate;

/// PutEvents' limits: entries per request, bytes per request.
const MAX_ENTRIES: usize = 10;
const MAX_REQUEST_BYTES: usize = 256 * 1024;
/// Attempts of a failed entry (the SDK already retries whole requests).
const ENTRY_ATTEMPTS: usize = 3;
/// Per-entry error codes that may pass by themselves.
const TRANSIENT: &[&str] = &[
    "InternalFailure",
    "InternalException",
    "ThrottlingException",
    "ServiceUnavailable",
];

#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

struct Entry {
    event_id: String,
    entry: PutEventsRequestEntry,
    size: usize,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }

    fn entry(&self, event: &OutboxEvent) -> Result<Entry> {
        let event = truncate::fit_outbox_event(event);
        let detail = event.to_json()?;
        let detail_type = event.detail_type();
        // EventBridge's own size formula: time (14), source, detail-type and detail.
        let size = 14 + EVENT_SOURCE.len() + detail_type.len() + detail.len();
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus_name)
            .source(EVENT_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .time(DateTime::from_millis(
                event.occurred_at().timestamp_millis(),
            ))
            .build();
        Ok(Entry {
            event_id: event.event_id().to_string(),
            entry,
            size,
        })
    }

    /// Sends one request's entries, retrying the ones that failed transiently; returns the ids
    /// that still failed.
    async fn send_batch(&self, mut batch: Vec<&Entry>) -> Result<Vec<String>> {
        let mut failed = Vec::new();
        for attempt in 1..=ENTRY_ATTEMPTS {
            let out = self
                .client
                .put_events()
                .set_entries(Some(batch.iter().map(|e| e.entry.clone()).collect()))
                .send()
                .await
                .map_err(|e| sdk_error("EventBridge PutEvents", e))?;
            if out.failed_entry_count() == 0 {
                return Ok(failed);
            }
            // Result entries are in request order.
            let mut retry = Vec::new();
            for (sent, result) in batch.iter().zip(out.entries()) {
                match result.error_code() {
                    None => {}
                    Some(code) if TRANSIENT.contains(&code) && attempt < ENTRY_ATTEMPTS => {
                        retry.push(*sent);
                    }
                    Some(code) => {
                        tracing::warn!(
                            event_id = %sent.event_id,
                            code,
                            message = result.error_message().unwrap_or_default(),
                            "EventBridge refused an event"
                        );
                        failed.push(sent.event_id.clone());
                    }
                }
            }
            if retry.is_empty() {
                return Ok(failed);
            }
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            batch = retry;
        }
        Ok(failed)
    }
}

/// Groups entries into requests of at most 10 entries and 256 KB.
fn requests(entries: &[Entry]) -> Vec<Vec<&Entry>> {
    let mut out: Vec<Vec<&Entry>> = Vec::new();
    let mut bytes = 0;
    for e in entries {
        match out.last_mut() {
            Some(last) if last.len() < MAX_ENTRIES && bytes + e.size <= MAX_REQUEST_BYTES => {
                last.push(e);
                bytes += e.size;
            }
            _ => {
                out.push(vec![e]);
                bytes = e.size;
            }
        }
    }
    out
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<String>> {
        let entries = events
            .iter()
            .map(|e| self.entry(e))
            .collect::<Result<Vec<_>>>()?;
        let mut failed = Vec::new();
        let mut first_error = None;
        let mut any_sent = false;
        for batch in requests(&entries) {
            let ids: Vec<String> = batch.iter().map(|e| e.event_id.clone()).collect();
            match self.send_batch(batch).await {
                Ok(f) => {
                    any_sent = true;
                    failed.extend(f);
                }
                Err(e) => {
                    failed.extend(ids);
                    first_error.get_or_insert(e);
                }
            }
        }
        // An Err promises that nothing was published; once a request went through, the ids of
        // the ones that did not are the precise answer.
        match first_error {
            Some(e) if !any_sent => Err(e),
            _ => Ok(failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: usize) -> Entry {
        Entry {
            event_id: String::new(),
            entry: PutEventsRequestEntry::builder().build(),
            size,
        }
    }

    #[test]
    fn requests_hold_ten_entries_and_256_kb() {
        let small: Vec<_> = (0..21).map(|_| entry(100)).collect();
        let sizes: Vec<usize> = requests(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 1]);
        let big: Vec<_> = (0..3).map(|_| entry(200 * 1024)).collect();
        let sizes: Vec<usize> = requests(&big).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 1, 1]);
    }
}
