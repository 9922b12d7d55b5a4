//! Creates the stack's resources (for tests and local development; production deploys
//! `infra/template.yaml`, which defines the same resources). Idempotent: existing resources are
//! kept, the queues' attributes are set again, and an existing table gets the indexes a newer
//! version added (one UpdateTable each, waited for until ACTIVE).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, CreateGlobalSecondaryIndexAction, GlobalSecondaryIndex,
    GlobalSecondaryIndexUpdate, IndexStatus, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use integrations_core::{Error, Result};

use crate::accounting::RequestCounter;
use crate::capacity::{CapacityMeter, IndexSpec, TableSpec};
use crate::clients::Clients;
use crate::config::AwsConfig;
use crate::dynamo::{
    CONNECTIONS_BY_INTEGRATION, CONNECTION_SHARD, CREATED_KEY, DUE_CALLBACKS,
    EXECUTIONS_BY_CONNECTION, EXECUTIONS_BY_TENANT, LISTED_ATTRIBUTES, PENDING_EVENTS,
    PROVIDER_EVENTS_BY_TENANT, TENANT_SHARD, TTL_ATTRIBUTE,
};
use crate::error::{built, sdk_error};

/// Building an index on a table that holds data takes DynamoDB minutes.
const INDEX_ACTIVE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Work queue messages live 4 days, dead letters 14 (SQS's maximum), time to investigate.
const RETENTION_SECS: u32 = 4 * 24 * 3600;
const DLQ_RETENTION_SECS: u32 = 14 * 24 * 3600;
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(120);

/// Creates the queues (the work queue with a RedrivePolicy to the dead-letter queue after
/// `max_receive_count` receives), the three tables with their indexes and TTL, and the bus.
pub async fn provision(config: &AwsConfig) -> Result<()> {
    let clients = Clients::new(
        config,
        &RequestCounter::default(),
        &CapacityMeter::default(),
    )
    .await;
    provision_queues(&clients.sqs, config).await?;
    let d = &clients.dynamodb;
    let tables = [
        (&config.executions_table, executions_table_spec()),
        (&config.connections_table, connections_table_spec()),
        (&config.api_keys_table, api_keys_table_spec()),
    ];
    for (name, spec) in &tables {
        create_table(d, name, spec).await?;
    }
    for (name, spec) in &tables {
        let table = wait_active(d, name).await?;
        add_missing_indexes(d, name, &table, spec).await?;
    }
    enable_ttl(d, &config.executions_table).await?;
    create_bus(&clients.eventbridge, &config.event_bus_name).await
}

async fn provision_queues(sqs: &aws_sdk_sqs::Client, config: &AwsConfig) -> Result<()> {
    let dlq_url = create_queue(sqs, &config.dlq_name).await?;
    set_attributes(
        sqs,
        &dlq_url,
        &[(
            QueueAttributeName::MessageRetentionPeriod,
            DLQ_RETENTION_SECS.to_string(),
        )],
    )
    .await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sdk_error("SQS GetQueueAttributes", e))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| Error::backend("SQS did not return the dead-letter queue's ARN"))?;
    let queue_url = create_queue(sqs, &config.queue_name).await?;
    let policy = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": config.max_receive_count,
    });
    set_attributes(
        sqs,
        &queue_url,
        &[
            (QueueAttributeName::RedrivePolicy, policy.to_string()),
            (
                QueueAttributeName::VisibilityTimeout,
                config.visibility_timeout.as_secs().to_string(),
            ),
            (
                QueueAttributeName::ReceiveMessageWaitTimeSeconds,
                "20".into(),
            ),
            (
                QueueAttributeName::MessageRetentionPeriod,
                RETENTION_SECS.to_string(),
            ),
        ],
    )
    .await
}

/// CreateQueue without attributes is idempotent; with attributes it fails when they differ.
async fn create_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<String> {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("SQS CreateQueue `{name}`"), e))?
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| Error::backend(format!("SQS CreateQueue `{name}` returned no URL")))
}

async fn set_attributes(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Result<()> {
    let mut req = sqs.set_queue_attributes().queue_url(url);
    for (k, v) in attributes {
        req = req.attributes(k.clone(), v);
    }
    req.send()
        .await
        .map(|_| ())
        .map_err(|e| sdk_error("SQS SetQueueAttributes", e))
}

/// The executions table: executions, idempotency records, outbox events, callbacks, leases and
/// buckets, with the listing, outbox and callback indexes (infra/template.yaml has the same).
pub(crate) fn executions_table_spec() -> TableSpec {
    let index = |name, partition, sort, projected| IndexSpec {
        name,
        partition,
        sort,
        projected,
    };
    TableSpec {
        partition: "PK",
        sort: Some("SK"),
        indexes: vec![
            index(
                EXECUTIONS_BY_TENANT,
                TENANT_SHARD,
                CREATED_KEY,
                Some(LISTED_ATTRIBUTES),
            ),
            index(
                EXECUTIONS_BY_CONNECTION,
                CONNECTION_SHARD,
                CREATED_KEY,
                Some(LISTED_ATTRIBUTES),
            ),
            index(PENDING_EVENTS, "outboxShard", "outboxKey", None),
            index(PROVIDER_EVENTS_BY_TENANT, "eventShard", "receivedKey", None),
            index(DUE_CALLBACKS, "cbShard", "cbDue", None),
        ],
    }
}

pub(crate) fn connections_table_spec() -> TableSpec {
    TableSpec {
        partition: "PK",
        sort: Some("SK"),
        indexes: vec![IndexSpec {
            name: CONNECTIONS_BY_INTEGRATION,
            partition: "integrationKey",
            sort: "createdKey",
            projected: None,
        }],
    }
}

pub(crate) fn api_keys_table_spec() -> TableSpec {
    TableSpec {
        partition: "PK",
        sort: None,
        indexes: Vec::new(),
    }
}

/// Every table of `config` with its keys and indexes, for the capacity model.
pub(crate) fn table_specs(config: &AwsConfig) -> HashMap<String, TableSpec> {
    HashMap::from([
        (config.executions_table.clone(), executions_table_spec()),
        (config.connections_table.clone(), connections_table_spec()),
        (config.api_keys_table.clone(), api_keys_table_spec()),
    ])
}

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement> {
    built(
        "DynamoDB KeySchemaElement",
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build(),
    )
}

fn attribute(name: &str) -> Result<AttributeDefinition> {
    built(
        "DynamoDB AttributeDefinition",
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

fn index_keys(index: &IndexSpec) -> Result<Vec<KeySchemaElement>> {
    Ok(vec![
        key_element(index.partition, KeyType::Hash)?,
        key_element(index.sort, KeyType::Range)?,
    ])
}

fn projection(index: &IndexSpec) -> Projection {
    match index.projected {
        Some(attributes) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.iter().map(|a| a.to_string()).collect())),
        None => Projection::builder().projection_type(ProjectionType::All),
    }
    .build()
}

async fn create_table(d: &aws_sdk_dynamodb::Client, name: &str, spec: &TableSpec) -> Result<()> {
    let mut attributes = vec![spec.partition];
    attributes.extend(spec.sort);
    for index in &spec.indexes {
        attributes.extend([index.partition, index.sort]);
    }
    attributes.sort_unstable();
    attributes.dedup();
    let mut req = d
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(spec.partition, KeyType::Hash)?);
    if let Some(sk) = spec.sort {
        req = req.key_schema(key_element(sk, KeyType::Range)?);
    }
    for a in attributes {
        req = req.attribute_definitions(attribute(a)?);
    }
    for index in &spec.indexes {
        req = req.global_secondary_indexes(built(
            "DynamoDB GlobalSecondaryIndex",
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(index_keys(index)?))
                .projection(projection(index))
                .build(),
        )?);
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
        Err(e) => Err(sdk_error(&format!("DynamoDB CreateTable `{name}`"), e)),
    }
}

async fn describe(d: &aws_sdk_dynamodb::Client, name: &str) -> Result<TableDescription> {
    let out = d
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("DynamoDB DescribeTable `{name}`"), e))?;
    out.table()
        .cloned()
        .ok_or_else(|| Error::backend(format!("DynamoDB DescribeTable `{name}`: no table")))
}

/// Poll the table's description until `ready` holds, for at most `timeout`; returns it.
async fn wait_for(
    d: &aws_sdk_dynamodb::Client,
    name: &str,
    what: &str,
    timeout: Duration,
    ready: impl Fn(&TableDescription) -> bool,
) -> Result<TableDescription> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let table = describe(d, name).await?;
        if ready(&table) {
            return Ok(table);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::backend(format!(
                "table `{name}`: {what} not reached within {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

fn table_active(t: &TableDescription) -> bool {
    t.table_status() == Some(&TableStatus::Active)
}

async fn wait_active(d: &aws_sdk_dynamodb::Client, name: &str) -> Result<TableDescription> {
    wait_for(d, name, "ACTIVE", TABLE_ACTIVE_TIMEOUT, table_active).await
}

/// Create the indexes of `spec` that a table made by an older version lacks, one at a time
/// (DynamoDB builds one per UpdateTable), each waited for until ACTIVE: the service queries
/// them as soon as it starts.
async fn add_missing_indexes(
    d: &aws_sdk_dynamodb::Client,
    name: &str,
    table: &TableDescription,
    spec: &TableSpec,
) -> Result<()> {
    let existing: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    for index in spec.indexes.iter().filter(|i| !existing.contains(&i.name)) {
        tracing::info!(table = name, index = index.name, "adding a missing index");
        let create = built(
            "DynamoDB CreateGlobalSecondaryIndexAction",
            CreateGlobalSecondaryIndexAction::builder()
                .index_name(index.name)
                .set_key_schema(Some(index_keys(index)?))
                .projection(projection(index))
                .build(),
        )?;
        d.update_table()
            .table_name(name)
            .attribute_definitions(attribute(index.partition)?)
            .attribute_definitions(attribute(index.sort)?)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            )
            .send()
            .await
            .map_err(|e| {
                let what = format!("DynamoDB UpdateTable `{name}` (add index {})", index.name);
                sdk_error(&what, e)
            })?;
        let index_active = |t: &TableDescription| {
            table_active(t)
                && t.global_secondary_indexes().iter().any(|i| {
                    i.index_name() == Some(index.name)
                        && i.index_status() == Some(&IndexStatus::Active)
                })
        };
        let what = format!("index {} ACTIVE", index.name);
        wait_for(d, name, &what, INDEX_ACTIVE_TIMEOUT, index_active).await?;
    }
    Ok(())
}

async fn enable_ttl(d: &aws_sdk_dynamodb::Client, table: &str) -> Result<()> {
    let spec = built(
        "DynamoDB TimeToLiveSpecification",
        TimeToLiveSpecification::builder()
            .attribute_name(TTL_ATTRIBUTE)
            .enabled(true)
            .build(),
    )?;
    match d
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // "TimeToLive is already enabled": nothing to do.
        Err(e) if e.code() == Some("ValidationException") => Ok(()),
        Err(e) => Err(sdk_error(
            &format!("DynamoDB UpdateTimeToLive `{table}`"),
            e,
        )),
    }
}

async fn create_bus(eb: &aws_sdk_eventbridge::Client, name: &str) -> Result<()> {
    match eb.create_event_bus().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        Err(e) => Err(sdk_error(
            &format!("EventBridge CreateEventBus `{name}`"),
            e,
        )),
    }
}
