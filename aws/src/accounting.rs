//! Request accounting: every HTTP request the SDK clients send, by service and operation.
//!
//! AWS bills requests (SQS, EventBridge, Secrets Manager) and request units (DynamoDB), and a
//! retried attempt is billed like any other, so the count is taken per attempt, just before the
//! request is transmitted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Requests sent, keyed by (service, operation), e.g. ("SQS", "ReceiveMessage").
pub type RequestCounts = BTreeMap<(String, String), u64>;

/// Shared by the interceptor registered on every client of one backend.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<RequestCounts>>,
}

impl RequestCounter {
    pub fn snapshot(&self) -> RequestCounts {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The total over every service and operation.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }

    fn record(&self, service: &str, operation: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            *counts
                .entry((service.to_string(), operation.to_string()))
                .or_default() += 1;
        }
        metrics::counter!(
            "aws_requests_total",
            "service" => service.to_string(),
            "operation" => operation.to_string()
        )
        .increment(1);
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<Metadata>() {
            Some(m) => self.record(m.service(), m.name()),
            None => self.record("unknown", "unknown"),
        }
        Ok(())
    }
}
