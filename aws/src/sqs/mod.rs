//! The work queue on SQS: a standard queue whose RedrivePolicy moves a message to the
//! dead-letter queue after maxReceiveCount receives.
//!
//! Sends, receives and deletes are batched (10 per request, SQS's maximum); receives long-poll.
//! The execution id travels as the `executionId` message attribute so that tooling (and the
//! dead-letter sweeper) can find the execution without parsing the body, and the W3C trace
//! context as the `traceparent` attribute. SQS's redrive to the dead-letter queue keeps message
//! attributes, and so does [`Queue::redrive`] back.

mod depth;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use integrations_core::backend::{Delivery, OutgoingMessage, Queue};
use integrations_core::trace::TRACEPARENT;
use integrations_core::{Error, ErrorKind, Result};
use serde::Deserialize;

use crate::error::sdk_error;

/// SQS's limit on a message (body plus attributes) and on a whole batch.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// SQS's limit on entries per batch request and messages per receive.
const BATCH: usize = 10;
/// SQS cannot delay a message longer than 15 minutes: longer delays are capped, so such a
/// message arrives early and its receiver must check the execution's `next_attempt_at`.
const MAX_DELAY: Duration = Duration::from_secs(900);
/// SQS's longest long poll.
const MAX_WAIT: Duration = Duration::from_secs(20);
/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);
/// Dead letters are read by a sweeper, not a hot loop: wait briefly, so that an empty sample of
/// the queue's servers (short polling) does not hide messages.
const DLQ_WAIT_SECS: i32 = 1;
const ATTEMPTS: usize = 3;

pub const EXECUTION_ID_ATTRIBUTE: &str = "executionId";
pub const TRACE_PARENT_ATTRIBUTE: &str = TRACEPARENT;

/// The work queue's dead-letter configuration, as found at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

/// What the start-up check of the queues found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCheck {
    pub queue_url: String,
    /// None: neither a RedrivePolicy nor a queue named like the configured one.
    pub dead_letter_queue_url: Option<String>,
    /// None: the work queue has no RedrivePolicy; poison messages are redelivered forever.
    pub redrive_policy: Option<RedrivePolicy>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dlq_url: Option<String>,
}

impl SqsQueue {
    /// Finds the queues and checks the work queue's RedrivePolicy, warning loudly when it is
    /// missing or names another dead-letter queue than `dlq_name` (the policy's target wins:
    /// that is where SQS actually moves messages).
    pub async fn connect(
        client: Client,
        queue_url: Option<&str>,
        queue_name: &str,
        dlq_name: &str,
    ) -> Result<(Self, QueueCheck)> {
        let queue_url = match queue_url {
            Some(url) => url.to_string(),
            None => queue_url_of(&client, queue_name, None).await?,
        };
        let mut warnings = Vec::new();
        let redrive_policy = read_redrive_policy(&client, &queue_url).await?;
        let dlq_url = match &redrive_policy {
            Some(policy) => {
                let (name, account) = queue_name_from_arn(&policy.dead_letter_target_arn)?;
                if name != dlq_name {
                    let w = format!(
                        "the work queue's RedrivePolicy targets `{name}`, not the configured \
                         dead-letter queue `{dlq_name}`: using `{name}`"
                    );
                    tracing::warn!(queue = %queue_url, "{w}");
                    warnings.push(w);
                }
                Some(queue_url_of(&client, name, Some(account)).await?)
            }
            None => {
                let w = format!(
                    "THE WORK QUEUE {queue_url} HAS NO RedrivePolicy: poison messages will be \
                     redelivered forever and never reach the dead-letter queue `{dlq_name}`. \
                     Set one (see infra/template.yaml) before running in production."
                );
                tracing::warn!(queue = %queue_url, "{w}");
                warnings.push(w);
                // Run without one rather than not at all; dead-letter calls then fail clearly.
                match queue_url_of(&client, dlq_name, None).await {
                    Ok(url) => Some(url),
                    Err(e) if !e.retryable => {
                        let w = format!("no dead-letter queue `{dlq_name}` either: {e}");
                        tracing::warn!("{w}");
                        warnings.push(w);
                        None
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        let check = QueueCheck {
            queue_url: queue_url.clone(),
            dead_letter_queue_url: dlq_url.clone(),
            redrive_policy,
            warnings,
        };
        Ok((
            Self {
                client,
                queue_url,
                dlq_url,
            },
            check,
        ))
    }

    fn dlq_url(&self) -> Result<&str> {
        self.dlq_url.as_deref().ok_or_else(|| {
            Error::backend("the work queue has no dead-letter queue (see the start-up warning)")
                .with_retryable(false)
        })
    }

    async fn send_to(&self, queue_url: &str, messages: &[OutgoingMessage]) -> Result<()> {
        for m in messages {
            let size = message_size(m);
            if size > MAX_MESSAGE_BYTES {
                return Err(Error::new(
                    ErrorKind::PayloadTooLarge,
                    format!(
                        "the queue message for execution {} is {size} bytes; SQS accepts at \
                         most {MAX_MESSAGE_BYTES} bytes (body and attributes)",
                        m.execution_id
                    ),
                ));
            }
        }
        for batch in batches(messages) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, m)| send_entry(i, m))
                .collect::<Result<Vec<_>>>()?;
            self.send_batch(queue_url, entries).await?;
        }
        Ok(())
    }

    /// Sends one batch, resending the entries SQS failed for its own reasons.
    async fn send_batch(
        &self,
        queue_url: &str,
        mut entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<()> {
        for attempt in 1..=ATTEMPTS {
            let out = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| sdk_error("SQS SendMessageBatch", e))?;
            if out.failed().is_empty() {
                return Ok(());
            }
            // Sizes are checked before sending (a caller's oversized input is its 413), so a
            // sender fault left is a message we built wrong: our bug, never the caller's 4xx.
            if let Some(f) = out.failed().iter().find(|f| f.sender_fault()) {
                return Err(Error::internal(format!(
                    "SQS refused a message: {} {}",
                    f.code(),
                    f.message().unwrap_or_default()
                )));
            }
            let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
            entries.retain(|e| failed.contains(&e.id()));
            if attempt < ATTEMPTS {
                backoff(attempt).await;
            }
        }
        Err(Error::backend(format!(
            "SQS SendMessageBatch: {} message(s) still failed after {ATTEMPTS} attempts",
            entries.len()
        )))
    }

    async fn receive_from(
        &self,
        queue_url: &str,
        max: usize,
        wait_secs: i32,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.min(BATCH) as i32)
            .wait_time_seconds(wait_secs)
            .visibility_timeout(secs_up(visibility.min(MAX_VISIBILITY)))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .message_attribute_names(EXECUTION_ID_ATTRIBUTE)
            .message_attribute_names(TRACE_PARENT_ATTRIBUTE)
            .send()
            .await
            .map_err(|e| sdk_error("SQS ReceiveMessage", e))?;
        Ok(out.messages().iter().filter_map(delivery).collect())
    }

    async fn delete_from(&self, queue_url: &str, receipts: &[String]) -> Result<()> {
        for chunk in receipts.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .map_err(|e| Error::internal(format!("SQS delete entry: {e}")))
                })
                .collect::<Result<Vec<_>>>()?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| sdk_error("SQS DeleteMessageBatch", e))?;
            for f in out.failed() {
                // An expired receipt means the message became visible again: another receiver
                // (or a later redelivery) deals with it, and the claim protects the execution.
                tracing::warn!(
                    code = f.code(),
                    message = f.message().unwrap_or_default(),
                    "SQS could not delete a message"
                );
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()> {
        self.send_to(&self.queue_url, messages).await
    }

    async fn depth(&self) -> Result<integrations_core::backend::QueueDepth> {
        depth::depth(&self.client, &self.queue_url).await
    }

    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        let wait = secs_up(wait.min(MAX_WAIT));
        self.receive_from(&self.queue_url, max, wait, visibility)
            .await
    }

    async fn delete(&self, receipts: &[String]) -> Result<()> {
        self.delete_from(&self.queue_url, receipts).await
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(secs_up(timeout.min(MAX_VISIBILITY)))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                // The message was deleted or its receipt expired (it may be with someone else).
                let gone = e.code().is_some_and(|c| {
                    c.contains("ReceiptHandleIsInvalid") || c.contains("MessageNotInflight")
                });
                let e = sdk_error("SQS ChangeMessageVisibility", e);
                if gone {
                    Error::new(ErrorKind::NotFound, e.message)
                } else {
                    e
                }
            })
    }

    async fn receive_dead_letters(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        self.receive_from(self.dlq_url()?, max, DLQ_WAIT_SECS, visibility)
            .await
    }

    async fn redrive(&self, dead_letter: &Delivery, body: Option<&str>) -> Result<()> {
        // Send first, then delete: a crash in between duplicates the message, never loses it.
        let message = OutgoingMessage {
            body: body.unwrap_or(&dead_letter.body).to_string(),
            execution_id: dead_letter.execution_id.clone().unwrap_or_default(),
            delay: Duration::ZERO,
            trace_parent: dead_letter.trace_parent.clone(),
            fair_group: dead_letter.fair_group.clone(),
        };
        self.send_to(&self.queue_url, std::slice::from_ref(&message))
            .await?;
        self.delete_dead_letter(&dead_letter.receipt).await
    }

    async fn delete_dead_letter(&self, receipt: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(self.dlq_url()?)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("SQS DeleteMessage (dead-letter queue)", e))
    }
}

async fn queue_url_of(client: &Client, name: &str, account: Option<&str>) -> Result<String> {
    let out = client
        .get_queue_url()
        .queue_name(name)
        .set_queue_owner_aws_account_id(account.map(str::to_string))
        .send()
        .await
        .map_err(|e| sdk_error(&format!("SQS GetQueueUrl for `{name}`"), e))?;
    out.queue_url()
        .map(str::to_string)
        .ok_or_else(|| Error::backend(format!("SQS GetQueueUrl for `{name}`: no URL returned")))
}

async fn read_redrive_policy(client: &Client, queue_url: &str) -> Result<Option<RedrivePolicy>> {
    let out = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|e| sdk_error("SQS GetQueueAttributes", e))?;
    let Some(raw) = out
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::RedrivePolicy))
    else {
        return Ok(None);
    };
    parse_redrive_policy(raw).map(Some)
}

/// SQS writes maxReceiveCount as a number or as a string, depending on who set it.
fn parse_redrive_policy(raw: &str) -> Result<RedrivePolicy> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        dead_letter_target_arn: String,
        max_receive_count: serde_json::Value,
    }
    let bad = || Error::internal(format!("unreadable RedrivePolicy: {raw}"));
    let r: Raw = serde_json::from_str(raw).map_err(|_| bad())?;
    let max_receive_count = match &r.max_receive_count {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .and_then(|n| u32::try_from(n).ok())
    .ok_or_else(bad)?;
    Ok(RedrivePolicy {
        dead_letter_target_arn: r.dead_letter_target_arn,
        max_receive_count,
    })
}

/// `arn:aws:sqs:<region>:<account>:<name>` → (name, account).
fn queue_name_from_arn(arn: &str) -> Result<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", _, account, name] => Ok((name, account)),
        _ => Err(Error::internal(format!("not an SQS queue ARN: {arn}"))),
    }
}

/// What SQS counts against the size limit: the body and every attribute's name, type and value.
fn message_size(m: &OutgoingMessage) -> usize {
    let attribute = |name: &str, value: &str| {
        if value.is_empty() {
            0
        } else {
            name.len() + "String".len() + value.len()
        }
    };
    m.body.len()
        + attribute(EXECUTION_ID_ATTRIBUTE, &m.execution_id)
        + attribute(TRACE_PARENT_ATTRIBUTE, trace_parent(m))
}

/// The trace parent to send; empty for none (SQS refuses empty attribute values).
fn trace_parent(m: &OutgoingMessage) -> &str {
    m.trace_parent.as_deref().unwrap_or_default()
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| Error::internal(format!("SQS message attribute: {e}")))
}

/// Groups messages into batches of at most 10 entries and [`MAX_MESSAGE_BYTES`] in total.
fn batches(messages: &[OutgoingMessage]) -> Vec<&[OutgoingMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let size = message_size(m);
        if i > start && (i - start == BATCH || bytes + size > MAX_MESSAGE_BYTES) {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

fn send_entry(index: usize, m: &OutgoingMessage) -> Result<SendMessageBatchRequestEntry> {
    let mut entry = SendMessageBatchRequestEntry::builder()
        .id(index.to_string())
        .message_body(&m.body)
        .delay_seconds(secs_up(m.delay.min(MAX_DELAY)));
    if !m.execution_id.is_empty() {
        entry =
            entry.message_attributes(EXECUTION_ID_ATTRIBUTE, string_attribute(&m.execution_id)?);
    }
    let trace_parent = trace_parent(m);
    if !trace_parent.is_empty() {
        entry = entry.message_attributes(TRACE_PARENT_ATTRIBUTE, string_attribute(trace_parent)?);
    }
    if let Some(group) = m.fair_group.as_deref().filter(|g| !g.is_empty()) {
        entry = entry.message_group_id(message_group_id(group));
    }
    entry
        .build()
        .map_err(|e| Error::internal(format!("SQS batch entry: {e}")))
}

fn delivery(m: &Message) -> Option<Delivery> {
    let receive_count = m
        .attributes()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let attributes: Option<&HashMap<String, MessageAttributeValue>> = m.message_attributes();
    let attribute = |name: &str| {
        attributes
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .map(str::to_string)
    };
    Some(Delivery {
        message_id: m.message_id()?.to_string(),
        receipt: m.receipt_handle()?.to_string(),
        body: m.body().unwrap_or_default().to_string(),
        receive_count,
        execution_id: attribute(EXECUTION_ID_ATTRIBUTE),
        trace_parent: attribute(TRACE_PARENT_ATTRIBUTE),
        fair_group: m
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            .cloned(),
    })
}

/// A standard queue's `MessageGroupId` is its fair-queue key (SQS fair queues): the tenant as it
/// is when it fits SQS's rule (1–128 of ASCII letters, digits and punctuation), else a digest of
/// it, so that every tenant still gets a group of its own.
fn message_group_id(group: &str) -> String {
    let fits = group.len() <= 128 && group.bytes().all(|b| b.is_ascii_graphic());
    if fits {
        group.to_string()
    } else {
        use sha2::Digest;
        format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(group.as_bytes()))
        )
    }
}

/// Whole seconds, rounded up so that a short non-zero duration is not dropped to zero.
fn secs_up(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

async fn backoff(attempt: usize) {
    tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(bytes: usize) -> OutgoingMessage {
        OutgoingMessage {
            body: "x".repeat(bytes),
            execution_id: "01J0000000000000000000000".into(),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: None,
        }
    }

    #[test]
    fn a_tenant_that_breaks_the_group_id_rule_gets_a_digest_of_its_own() {
        assert_eq!(message_group_id("tenant-1"), "tenant-1");
        let odd = message_group_id("tên khách");
        let long = message_group_id(&"t".repeat(129));
        for g in [&odd, &long] {
            assert!(
                g.len() <= 128 && g.bytes().all(|b| b.is_ascii_graphic()),
                "{g}"
            );
        }
        assert_ne!(odd, long);
        assert_eq!(odd, message_group_id("tên khách"));
    }

    #[test]
    fn the_size_check_counts_both_attributes() {
        let trace_parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let plain = msg(100);
        let traced = OutgoingMessage {
            trace_parent: Some(trace_parent.into()),
            ..msg(100)
        };
        assert_eq!(
            message_size(&plain),
            100 + "executionId".len() + "String".len() + 25
        );
        assert_eq!(
            message_size(&traced),
            message_size(&plain) + "traceparent".len() + "String".len() + trace_parent.len()
        );
        // No attribute is sent for an empty value, so none is counted.
        let empty = OutgoingMessage {
            trace_parent: Some(String::new()),
            ..msg(100)
        };
        assert_eq!(message_size(&empty), message_size(&plain));

        // A body that fits alone goes over the limit (and is refused) once its trace parent counts.
        let edge = MAX_MESSAGE_BYTES - (message_size(&plain) - 100);
        assert_eq!(message_size(&msg(edge)), MAX_MESSAGE_BYTES);
        let over = OutgoingMessage {
            trace_parent: Some(trace_parent.into()),
            ..msg(edge)
        };
        assert!(message_size(&over) > MAX_MESSAGE_BYTES);
    }

    #[test]
    fn batches_hold_ten_messages_and_the_size_limit() {
        let small: Vec<_> = (0..23).map(|_| msg(10)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        let big: Vec<_> = (0..5).map(|_| msg(100_000)).collect();
        let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn redrive_policy_parses_numbers_and_strings() {
        let p = parse_redrive_policy(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:q-dlq","maxReceiveCount":"4"}"#,
        )
        .expect("parse");
        assert_eq!(p.max_receive_count, 4);
        assert_eq!(
            queue_name_from_arn(&p.dead_letter_target_arn).expect("arn"),
            ("q-dlq", "123456789012")
        );
    }

    #[test]
    fn durations_round_up_to_whole_seconds() {
        assert_eq!(secs_up(Duration::ZERO), 0);
        assert_eq!(secs_up(Duration::from_millis(1)), 1);
        assert_eq!(secs_up(Duration::from_millis(2000)), 2);
    }
}
