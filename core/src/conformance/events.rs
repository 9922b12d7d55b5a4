//! [`EventBus`] conformance. Delivery itself is backend-specific (a broadcast, EventBridge rules)
//! and is tested by each backend; the contract here is the publish call.

use std::sync::Arc;

use super::{fresh_tenant, sample_execution};
use crate::backend::EventBus;
use crate::model::{now, Execution, ExecutionStatus, ResultEvent};

/// Every event bus case.
pub async fn event_bus_suite(bus: Arc<dyn EventBus>) {
    publish(bus).await;
}

/// Publishing events reports no failure; publishing nothing is a no-op.
pub async fn publish(bus: Arc<dyn EventBus>) {
    let tenant = fresh_tenant();
    let events: Vec<ResultEvent> = [ExecutionStatus::Succeeded, ExecutionStatus::Failed]
        .into_iter()
        .map(|status| {
            let e = Execution {
                status,
                finished_at: Some(now()),
                ..sample_execution(&tenant, now())
            };
            ResultEvent::for_execution(&e).expect("terminal")
        })
        .collect();
    let failed = bus.publish(&events).await.expect("publish");
    assert!(failed.is_empty(), "failed to publish {failed:?}");
    let failed = bus.publish(&[]).await.expect("publish nothing");
    assert!(failed.is_empty());
}
