//! The AWS backend: the work queue on SQS (with a dead-letter queue), connections, executions,
//! idempotency records, the result-event outbox, callbacks and API keys on DynamoDB, result
//! events on EventBridge and connection secrets in Secrets Manager.
//!
//! Every piece of state lives in AWS, so any number of worker and dispatcher processes on any
//! number of hosts can share one stack; the only in-process state is the short-lived secret
//! cache (see [`secrets`]). `aws/DESIGN.md` explains the key design and the request budget.

pub mod accounting;
pub mod capacity;
mod clients;
pub mod config;
pub mod dynamo;
mod error;
pub mod events;
pub mod migrate;
mod provision;
pub mod secrets;
pub mod sqs;
#[cfg(feature = "testing")]
pub mod testing;
pub mod truncate;

use std::sync::Arc;

use integrations_core::backend::Backend;
use integrations_core::Result;

pub use accounting::{RequestCounter, RequestCounts};
pub use capacity::{CapacityMeter, CapacitySnapshot};
pub use config::{AwsConfig, ResourceNames, StaticCredentials};
pub use provision::provision;
pub use sqs::{QueueCheck, RedrivePolicy};

use clients::Clients;
use dynamo::{
    DynamoApiKeys, DynamoBuckets, DynamoCallbacks, DynamoConnections, DynamoExecutions,
    DynamoLeases, DynamoTriggers, DynamoWebhooks,
};
use events::EventBridgeBus;
use secrets::SecretsManagerStore;
use sqs::SqsQueue;

/// What `open` found, and the request accounting of the backend's clients.
#[derive(Debug, Clone)]
pub struct AwsHandle {
    counter: RequestCounter,
    meter: CapacityMeter,
    queue_check: QueueCheck,
}

impl AwsHandle {
    /// AWS requests sent so far by this backend, by (service, operation), e.g.
    /// `("DynamoDB", "TransactWriteItems")`. Retried attempts count: AWS bills them.
    /// The same counts go to the `metrics` counter `aws_requests_total{service, operation}`.
    pub fn request_counts(&self) -> RequestCounts {
        self.counter.snapshot()
    }

    /// The sum of [`AwsHandle::request_counts`].
    pub fn total_requests(&self) -> u64 {
        self.counter.total()
    }

    /// DynamoDB capacity units consumed so far, by (table, index, operation), as DynamoDB
    /// reported them, or computed from item sizes on an emulator
    /// (`AwsConfig::capacity_from_item_sizes`), which also counts the writes per partition key.
    pub fn capacity(&self) -> CapacitySnapshot {
        self.meter.snapshot()
    }

    /// The queues found at start-up and their RedrivePolicy (None: missing, warned about).
    pub fn queue_check(&self) -> &QueueCheck {
        &self.queue_check
    }

    /// Start-up problems worth showing an operator (also logged with `tracing::warn!`).
    pub fn warnings(&self) -> &[String] {
        &self.queue_check.warnings
    }
}

/// Connects to the stack named by `config` (it must exist: see [`provision`] and
/// `infra/template.yaml`) and checks the work queue's RedrivePolicy.
pub async fn open(config: &AwsConfig) -> Result<(Backend, AwsHandle)> {
    let counter = RequestCounter::default();
    let meter = if config.capacity_from_item_sizes {
        CapacityMeter::modelled(provision::table_specs(config))
    } else {
        CapacityMeter::default()
    };
    let clients = Clients::new(config, &counter, &meter).await;
    let (queue, queue_check) = SqsQueue::connect(
        clients.sqs.clone(),
        config.queue_url.as_deref(),
        &config.queue_name,
        &config.dlq_name,
    )
    .await?;
    let backend = Backend {
        queue: Arc::new(queue),
        connections: Arc::new(DynamoConnections::new(
            clients.dynamodb.clone(),
            &config.connections_table,
        )),
        executions: Arc::new(
            DynamoExecutions::new(
                clients.dynamodb.clone(),
                &config.executions_table,
                config.outbox_shards,
            )
            .with_listing_shards(config.listing_shards),
        ),
        api_keys: Arc::new(DynamoApiKeys::new(
            clients.dynamodb.clone(),
            &config.api_keys_table,
        )),
        events: Arc::new(EventBridgeBus::new(
            clients.eventbridge.clone(),
            &config.event_bus_name,
        )),
        secrets: Arc::new(
            SecretsManagerStore::new(clients.secrets.clone(), config.secret_cache_ttl)
                .with_kms_key(config.secrets_kms_key_id.clone()),
        ),
        callbacks: Arc::new(DynamoCallbacks::new(
            clients.dynamodb.clone(),
            &config.executions_table,
            config.outbox_shards,
        )),
        leases: Arc::new(DynamoLeases::new(
            clients.dynamodb.clone(),
            &config.executions_table,
        )),
        rate_limits: Arc::new(DynamoBuckets::new(
            clients.dynamodb.clone(),
            &config.executions_table,
        )),
        webhooks: Arc::new(DynamoWebhooks::new(
            clients.dynamodb.clone(),
            &config.executions_table,
            config.outbox_shards,
            config.listing_shards,
        )),
        triggers: Arc::new(DynamoTriggers::new(
            clients.dynamodb.clone(),
            &config.connections_table,
        )),
    };
    Ok((
        backend,
        AwsHandle {
            counter,
            meter,
            queue_check,
        },
    ))
}

/// The SDK configuration `open` uses (chain plus overrides), for building extra clients that
/// share the settings, e.g. in tests.
pub async fn sdk_config(config: &AwsConfig) -> aws_config::SdkConfig {
    clients::sdk_config(config).await
}
