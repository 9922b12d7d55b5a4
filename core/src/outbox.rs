//! The outbox relay: publishes result events written with terminal states, and delivers
//! callbacks, then forgets them. Events are delivered at least once: a crash after publishing and
//! before removal publishes again, and consumers deduplicate on `eventId` / `executionId`.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::{watch, Notify};
use tracing::{debug, warn};

use crate::backend::{EventBus, ExecutionStore};
use crate::error::Result;
use crate::model::ResultEvent;
use crate::outbound;

#[derive(Clone)]
pub struct CallbackConfig {
    /// HMAC-SHA256 key for `X-Integrations-Signature`.
    pub secret: Vec<u8>,
    pub timeout: Duration,
    pub attempts: u32,
    pub allow_private: bool,
}

pub struct OutboxRelay {
    executions: Arc<dyn ExecutionStore>,
    bus: Arc<dyn EventBus>,
    wake: Arc<Notify>,
    callbacks: CallbackConfig,
    http: reqwest::Client,
    /// Polling for events left by processes that died before publishing them.
    interval: Duration,
}

const BATCH: usize = 100;

impl OutboxRelay {
    pub fn new(
        executions: Arc<dyn ExecutionStore>,
        bus: Arc<dyn EventBus>,
        wake: Arc<Notify>,
        callbacks: CallbackConfig,
        interval: Duration,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(callbacks.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            executions,
            bus,
            wake,
            callbacks,
            http,
            interval,
        }
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.drain().await {
                warn!(error = %e, "outbox relay failed; will retry");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => {
                    let _ = self.drain().await;
                    return;
                }
            }
        }
    }

    /// Publish everything pending; returns how many events were published.
    pub async fn drain(&self) -> Result<usize> {
        let mut published = 0;
        loop {
            let batch = self.executions.outbox_pending(BATCH).await?;
            if batch.is_empty() {
                return Ok(published);
            }
            let failed = self.bus.publish(&batch).await?;
            let done: Vec<&ResultEvent> = batch
                .iter()
                .filter(|e| !failed.contains(&e.event_id))
                .collect();
            futures::future::join_all(
                done.iter()
                    .filter(|e| e.callback_url.is_some())
                    .map(|e| self.deliver_callback(e)),
            )
            .await;
            let ids: Vec<String> = done.iter().map(|e| e.event_id.clone()).collect();
            self.executions.outbox_remove(&ids).await?;
            published += ids.len();
            metrics::counter!("outbox_published_total").increment(ids.len() as u64);
            if !failed.is_empty() {
                warn!(
                    failed = failed.len(),
                    "some events were not published; retrying later"
                );
                return Ok(published);
            }
            if batch.len() < BATCH {
                return Ok(published);
            }
        }
    }

    async fn deliver_callback(&self, event: &ResultEvent) {
        let Some(url) = event.callback_url.as_deref() else {
            return;
        };
        let body = callback_body(event);
        for attempt in 1..=self.callbacks.attempts {
            match self.post_callback(url, &body).await {
                Ok(()) => {
                    debug!(execution_id = %event.execution_id, "callback delivered");
                    metrics::counter!("callbacks_total", "outcome" => "delivered").increment(1);
                    return;
                }
                Err(e) => {
                    warn!(execution_id = %event.execution_id, attempt, error = %e, "callback failed");
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        metrics::counter!("callbacks_total", "outcome" => "failed").increment(1);
    }

    async fn post_callback(&self, url: &str, body: &str) -> Result<()> {
        let url = outbound::check_url(url, self.callbacks.allow_private)?;
        outbound::check_resolved(&url, self.callbacks.allow_private).await?;
        let t = chrono::Utc::now().timestamp();
        let signature = sign(&self.callbacks.secret, t, body);
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-integrations-signature", format!("t={t},v1={signature}"))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| crate::Error::new(crate::ErrorKind::NetworkError, e.to_string()))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(crate::Error::new(
                crate::ErrorKind::ProviderUnavailable,
                format!("callback answered {}", resp.status()),
            ))
        }
    }
}

/// The callback payload (`schemas/messages/callback-payload.schema.json`).
pub fn callback_body(e: &ResultEvent) -> String {
    let mut body = serde_json::json!({
        "executionId": e.execution_id,
        "status": e.status,
        "success": e.status == crate::model::ExecutionStatus::Succeeded,
        "attempts": e.attempts,
        "occurredAt": e.occurred_at,
    });
    let obj = body.as_object_mut().expect("object literal");
    if let Some(v) = &e.output {
        obj.insert("data".into(), v.clone());
    }
    if let Some(err) = &e.error {
        obj.insert(
            "error".into(),
            serde_json::to_value(err).unwrap_or_default(),
        );
    }
    if let Some(ms) = e.latency_ms {
        obj.insert("latencyMs".into(), ms.into());
    }
    if let Some(s) = &e.caller_service {
        obj.insert("callerService".into(), s.clone().into());
    }
    if let Some(s) = &e.caller_ref {
        obj.insert("callerRef".into(), s.clone().into());
    }
    body.to_string()
}

/// Hex HMAC-SHA256 over `"{t}.{body}"`, as receivers verify it.
pub fn sign(secret: &[u8], t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
