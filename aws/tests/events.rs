//! EventBridge specifics: batching, per-entry retries of partial failures (injected into the
//! SDK's responses, since moto never fails an entry), size limits, and delivery through a rule,
//! of result and provider events.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use backend_aws::events::EventBridgeBus;
use backend_aws::testing::Subscriber;
use backend_aws::truncate::TRUNCATED_FLAG;
use integrations_core::backend::EventBus;
use integrations_core::catalog::{validate, Catalog};
use integrations_core::conformance::webhooks::webhook;
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent, EVENT_SOURCE};
use integrations_core::outbox::{OutboxEvent, PROVIDER_EVENT_DETAIL_TYPE};
use integrations_core::webhooks::ProviderEvent;
use serde_json::{json, Value};

/// Records the entries and bytes of every PutEvents request, and rewrites the answers to the
/// first `failures` requests so that their first entry failed with `code`.
#[derive(Debug, Default)]
struct FaultyEntries {
    code: &'static str,
    failures: AtomicUsize,
    requests: Mutex<Vec<(usize, usize)>>,
}

impl Intercept for FaultyEntries {
    fn name(&self) -> &'static str {
        "FaultyEntries"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        let parsed: Value = serde_json::from_slice(body)?;
        let entries = parsed["Entries"].as_array().map_or(0, Vec::len);
        self.requests
            .lock()
            .expect("lock")
            .push((entries, body.len()));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if !fail {
            return Ok(());
        }
        if let Some(Ok(output)) = context.output_or_error_mut() {
            if let Some(out) = output.downcast_mut::<PutEventsOutput>() {
                if let Some(first) = out.entries.as_mut().and_then(|e| e.first_mut()) {
                    *first = PutEventsResultEntry::builder()
                        .error_code(self.code)
                        .error_message("injected by the test")
                        .build();
                    out.failed_entry_count = 1;
                }
            }
        }
        Ok(())
    }
}

fn faulty(code: &'static str, failures: usize) -> Arc<FaultyEntries> {
    Arc::new(FaultyEntries {
        code,
        failures: AtomicUsize::new(failures),
        requests: Mutex::default(),
    })
}

#[derive(Debug, Clone)]
struct Shared(Arc<FaultyEntries>);

impl Intercept for Shared {
    fn name(&self) -> &'static str {
        "Shared"
    }
    fn read_before_transmit(
        &self,
        c: &BeforeTransmitInterceptorContextRef<'_>,
        r: &RuntimeComponents,
        b: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_before_transmit(c, r, b)
    }
    fn modify_before_attempt_completion(
        &self,
        c: &mut FinalizerInterceptorContextMut<'_>,
        r: &RuntimeComponents,
        b: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.modify_before_attempt_completion(c, r, b)
    }
}

async fn bus_with(stack: &common::Stack, faults: &Arc<FaultyEntries>) -> EventBridgeBus {
    let sdk = backend_aws::sdk_config(&stack.config).await;
    let conf = aws_sdk_eventbridge::config::Builder::from(&sdk)
        .interceptor(Shared(faults.clone()))
        .build();
    EventBridgeBus::new(
        aws_sdk_eventbridge::Client::from_conf(conf),
        &stack.config.event_bus_name,
    )
}

fn events(statuses: &[ExecutionStatus]) -> Vec<ResultEvent> {
    let tenant = fresh_tenant();
    statuses
        .iter()
        .map(|&status| {
            let e = Execution {
                status,
                finished_at: Some(now()),
                ..sample_execution(&tenant, now())
            };
            ResultEvent::for_execution(&e).expect("terminal")
        })
        .collect()
}

fn outbox(events: &[ResultEvent]) -> Vec<OutboxEvent> {
    events.iter().cloned().map(OutboxEvent::from).collect()
}

/// A queue that receives the bus's matching events through a rule.
async fn sink(stack: &common::Stack, detail_types: &[&str]) -> Subscriber {
    let pattern = json!({"source": [EVENT_SOURCE], "detail-type": detail_types});
    let name = format!("{}-sink", stack.config.queue_name);
    Subscriber::create(
        stack.moto.url(),
        &stack.config.event_bus_name,
        &name,
        &pattern,
    )
    .await
}

/// Delivered envelopes from the sink until `want` distinct event ids have arrived.
async fn delivered(sink: &Subscriber, want: usize) -> Vec<Value> {
    let mut got: Vec<Value> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut ids: Vec<&str> = got
            .iter()
            .filter_map(|e| e["detail"]["eventId"].as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() >= want {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {got:?} delivered"
        );
        got.extend(sink.receive().await);
    }
}

#[tokio::test]
async fn a_failed_entry_is_retried_alone_and_every_event_is_delivered() {
    let stack = common::stack().await;
    let sink = sink(&stack, &["ExecutionSucceeded", "ExecutionFailed"]).await;
    let faults = faulty("ThrottlingException", 1);
    let bus = bus_with(&stack, &faults).await;
    let sent = events(&[
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
    ]);

    let failed = bus.publish(&outbox(&sent)).await.expect("publish");
    assert!(failed.is_empty(), "retried until published: {failed:?}");
    let requests: Vec<usize> = faults
        .requests
        .lock()
        .expect("lock")
        .iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        requests,
        vec![3, 1],
        "one request, then the failed entry alone"
    );

    // The rule matches two of the three detail-types. Envelopes follow EventBridge's shape.
    let got = delivered(&sink, 2).await;
    for envelope in &got {
        assert_eq!(envelope["source"], json!(EVENT_SOURCE));
        let detail_type = envelope["detail-type"].as_str().expect("detail-type");
        assert_ne!(detail_type, "ExecutionTimedOut", "the rule filters it out");
        let event: ResultEvent =
            serde_json::from_value(envelope["detail"].clone()).expect("detail is a ResultEvent");
        let original = sent
            .iter()
            .find(|e| e.event_id == event.event_id)
            .expect("sent");
        assert_eq!(&event, original);
        assert_eq!(detail_type, original.event_type.as_str());
    }
}

#[tokio::test]
async fn a_permanently_failed_entry_is_reported_without_retrying() {
    let stack = common::stack().await;
    let faults = faulty("MalformedDetail", 1);
    let bus = bus_with(&stack, &faults).await;
    let sent = events(&[ExecutionStatus::Succeeded, ExecutionStatus::Failed]);
    let failed = bus.publish(&outbox(&sent)).await.expect("publish");
    assert_eq!(failed, vec![sent[0].event_id.clone()]);
    assert_eq!(faults.requests.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn transient_failures_that_persist_are_reported_after_three_attempts() {
    let stack = common::stack().await;
    let faults = faulty("InternalFailure", usize::MAX);
    let bus = bus_with(&stack, &faults).await;
    let sent = events(&[ExecutionStatus::Succeeded]);
    let failed = bus.publish(&outbox(&sent)).await.expect("publish");
    assert_eq!(failed, vec![sent[0].event_id.clone()]);
    assert_eq!(faults.requests.lock().expect("lock").len(), 3);
}

#[tokio::test]
async fn requests_hold_ten_entries_and_large_events_are_truncated() {
    let stack = common::stack().await;
    let faults = faulty("unused", 0);
    let bus = bus_with(&stack, &faults).await;
    let mut sent = events(&[ExecutionStatus::Succeeded; 23]);
    sent[5].output = Some(json!({"blob": "x".repeat(400_000)}));

    let failed = bus.publish(&outbox(&sent)).await.expect("publish");
    assert!(failed.is_empty());
    let requests = faults.requests.lock().expect("lock").clone();
    let entries: Vec<usize> = requests.iter().map(|r| r.0).collect();
    assert_eq!(entries.iter().sum::<usize>(), 23);
    assert!(entries.iter().all(|&n| n <= 10), "{entries:?}");
    assert!(
        requests.iter().all(|r| r.1 < 300 * 1024),
        "a request over PutEvents' 256 KB: {requests:?}"
    );

    let sink = sink(&stack, &["ExecutionSucceeded"]).await;
    let big = vec![sent[5].clone()];
    assert!(bus
        .publish(&outbox(&big))
        .await
        .expect("publish")
        .is_empty());
    let got = delivered(&sink, 1).await;
    let output = &got[0]["detail"]["output"];
    assert_eq!(output[TRUNCATED_FLAG], json!(true));
    assert!(output["originalBytes"].as_u64() > Some(400_000));
}

/// A provider event goes out with its own detail-type, the results' source and a detail that
/// matches schemas/messages/provider-event.schema.json; a rule on the detail-type receives it
/// (and no result event), a payload too large for an entry truncated.
#[tokio::test]
async fn provider_events_have_their_detail_type_and_match_their_schema() {
    let stack = common::stack().await;
    let sink = sink(&stack, &[PROVIDER_EVENT_DETAIL_TYPE]).await;
    let bus = bus_with(&stack, &faulty("unused", 0)).await;
    let small = webhook(&fresh_tenant(), "conn-a", "evt_1", now()).event;
    let mut big = webhook(&fresh_tenant(), "conn-a", "evt_2", now()).event;
    big.data = json!({"blob": "x".repeat(300_000)});
    let mut sent = outbox(&events(&[ExecutionStatus::Succeeded]));
    sent.push(small.clone().into());
    sent.push(big.clone().into());

    assert!(bus.publish(&sent).await.expect("publish").is_empty());
    let got = delivered(&sink, 2).await;
    let catalog = Catalog::embedded().expect("catalog");
    let schema = catalog.message_schema("provider-event").expect("schema");
    for envelope in &got {
        assert_eq!(envelope["source"], json!(EVENT_SOURCE));
        assert_eq!(envelope["detail-type"], json!(PROVIDER_EVENT_DETAIL_TYPE));
        validate(schema, &envelope["detail"], "detail").expect("matches its schema");
        let event: ProviderEvent =
            serde_json::from_value(envelope["detail"].clone()).expect("a ProviderEvent");
        // The bus never carries the unmasked payload the outbox entry holds for the triggers.
        assert!(
            !envelope["detail"].to_string().contains("0912345678"),
            "{envelope}"
        );
        if event.event_id == small.event_id {
            let published = ProviderEvent {
                unmasked_data: None,
                ..small.clone()
            };
            assert_eq!(event, published);
        } else {
            assert_eq!(event.event_id, big.event_id);
            assert_eq!(event.data[TRUNCATED_FLAG], json!(true));
        }
    }
}
