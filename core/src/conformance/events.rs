//! [`EventBus`] conformance. Delivery itself is backend-specific (a broadcast, EventBridge rules)
//! and is tested by each backend; the contract here is the publish call, of both kinds of event.

use std::sync::Arc;

use super::{fresh_tenant, sample_execution};
use crate::backend::EventBus;
use crate::model::{now, Execution, ExecutionStatus, ResultEvent};
use crate::outbox::OutboxEvent;

/// Every event bus case.
pub async fn event_bus_suite(bus: Arc<dyn EventBus>) {
    publish(bus).await;
}

/// Publishing events reports no failure; publishing nothing is a no-op.
pub async fn publish(bus: Arc<dyn EventBus>) {
    let tenant = fresh_tenant();
    let mut events: Vec<OutboxEvent> = [ExecutionStatus::Succeeded, ExecutionStatus::Failed]
        .into_iter()
        .map(|status| {
            let e = Execution {
                status,
                finished_at: Some(now()),
                ..sample_execution(&tenant, now())
            };
            ResultEvent::for_execution(&e).expect("terminal").into()
        })
        .collect();
    let provider = super::webhooks::webhook(&tenant, "conn-a", "evt-1", now());
    events.push(provider.event.into());
    let failed = bus.publish(&events).await.expect("publish");
    assert!(failed.is_empty(), "failed to publish {failed:?}");
    let failed = bus.publish(&[]).await.expect("publish nothing");
    assert!(failed.is_empty());
}
