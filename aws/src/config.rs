//! Configuration of the AWS backend: resource names and client settings.
//!
//! Region, credentials and endpoints come from the standard AWS configuration chain (environment,
//! profile, container/instance roles, `AWS_ENDPOINT_URL*`); the fields here only override it.

use std::fmt;
use std::time::Duration;

/// Names of the stack's resources and the client settings.
#[derive(Clone, PartialEq)]
pub struct AwsConfig {
    /// None: the configuration chain decides (`AWS_REGION`, profile, IMDS).
    pub region: Option<String>,
    /// An emulator such as moto. None: the chain decides (`AWS_ENDPOINT_URL`, or AWS itself).
    pub endpoint_url: Option<String>,
    /// Fixed credentials for emulators and tests (skips the instance-metadata lookup).
    /// None in production: the chain provides them.
    pub static_credentials: Option<StaticCredentials>,
    /// The work queue, found by name with GetQueueUrl at start-up unless `queue_url` is set.
    pub queue_name: String,
    pub queue_url: Option<String>,
    /// The dead-letter queue, used when the work queue has no RedrivePolicy naming one.
    pub dlq_name: String,
    pub connections_table: String,
    /// Executions, idempotency records and the result-event outbox.
    pub executions_table: String,
    pub api_keys_table: String,
    pub event_bus_name: String,
    /// How long a secret read from Secrets Manager is reused: another process's rotation is
    /// seen at most this late.
    pub secret_cache_ttl: Duration,
    /// The RedrivePolicy's maxReceiveCount that `provision` sets.
    pub max_receive_count: u32,
    /// The work queue's default visibility timeout that `provision` sets.
    pub visibility_timeout: Duration,
    /// Partitions of the pending-events index: spreads the outbox's index writes so that no
    /// single index partition takes every completion of the fleet.
    pub outbox_shards: u16,
    /// Partitions of each listing index per tenant (`ExecutionsByTenantShard`,
    /// `ExecutionsByConnectionShard`): a tenant's creations, claims and completions spread over
    /// this many index partitions, and a listing queries them all. Raise it for a tenant that
    /// writes more than ~300 executions/s; never lower it (items keep the shard they were
    /// written with, and readers query shards `0..listing_shards`).
    pub listing_shards: u16,
    /// Compute DynamoDB capacity from item sizes instead of reading what DynamoDB reports
    /// (emulators report none that is real); keeps every written item's image in memory, so
    /// for emulators only. Set by [`AwsConfig::for_emulator`].
    pub capacity_from_item_sizes: bool,
    /// The KMS key (id, ARN or alias) that new connection and callback secrets are encrypted
    /// with. None: Secrets Manager's default key (`aws/secretsmanager`).
    pub secrets_kms_key_id: Option<String>,
}

/// An access key for emulators; Debug never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl StaticCredentials {
    /// The dummy key pair emulators accept.
    pub fn test() -> Self {
        Self {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        }
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsConfig")
            .field("region", &self.region)
            .field("endpoint_url", &self.endpoint_url)
            .field("static_credentials", &self.static_credentials)
            .field("queue_name", &self.queue_name)
            .field("queue_url", &self.queue_url)
            .field("dlq_name", &self.dlq_name)
            .field("connections_table", &self.connections_table)
            .field("executions_table", &self.executions_table)
            .field("api_keys_table", &self.api_keys_table)
            .field("event_bus_name", &self.event_bus_name)
            .field("secret_cache_ttl", &self.secret_cache_ttl)
            .field("max_receive_count", &self.max_receive_count)
            .field("visibility_timeout", &self.visibility_timeout)
            .field("outbox_shards", &self.outbox_shards)
            .field("listing_shards", &self.listing_shards)
            .field("capacity_from_item_sizes", &self.capacity_from_item_sizes)
            .field("secrets_kms_key_id", &self.secrets_kms_key_id)
            .finish()
    }
}

/// The environment variables that name the stack's resources. infra/template.yaml's task
/// definitions set them from the stack's resources (its outputs carry the same values, for a
/// service run elsewhere); the `integrations` command parses them (with flags of the same
/// meaning) into [`ResourceNames`]. Each one set replaces the name derived from the prefix.
pub mod env {
    /// The work queue's URL (`WorkQueueUrl`); unset: GetQueueUrl of `<prefix>-work`.
    pub const QUEUE_URL: &str = "INTEGRATIONS_AWS_QUEUE_URL";
    /// The dead-letter queue's name (`DeadLetterQueueName`), used when the work queue has no
    /// RedrivePolicy naming one.
    pub const DLQ_NAME: &str = "INTEGRATIONS_AWS_DLQ_NAME";
    pub const CONNECTIONS_TABLE: &str = "INTEGRATIONS_AWS_CONNECTIONS_TABLE";
    pub const EXECUTIONS_TABLE: &str = "INTEGRATIONS_AWS_EXECUTIONS_TABLE";
    pub const API_KEYS_TABLE: &str = "INTEGRATIONS_AWS_API_KEYS_TABLE";
    pub const EVENT_BUS: &str = "INTEGRATIONS_AWS_EVENT_BUS";
    /// The KMS key new secrets are encrypted with (`KeyArn`).
    pub const SECRETS_KMS_KEY: &str = "INTEGRATIONS_AWS_SECRETS_KMS_KEY";
    /// Every variable above.
    pub const ALL: [&str; 7] = [
        QUEUE_URL,
        DLQ_NAME,
        CONNECTIONS_TABLE,
        EXECUTIONS_TABLE,
        API_KEYS_TABLE,
        EVENT_BUS,
        SECRETS_KMS_KEY,
    ];
}

/// Resource names given explicitly (from the stack's outputs), each overriding the name derived
/// from the prefix; see [`env`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceNames {
    pub queue_url: Option<String>,
    pub dlq_name: Option<String>,
    pub connections_table: Option<String>,
    pub executions_table: Option<String>,
    pub api_keys_table: Option<String>,
    pub event_bus_name: Option<String>,
    pub secrets_kms_key_id: Option<String>,
}

impl ResourceNames {
    /// From `(variable, value)` pairs named as in [`env`] (e.g. a task definition's
    /// environment); other variables and empty values are ignored.
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut names = Self::default();
        for (key, value) in vars {
            let value = value.as_ref().trim();
            if value.is_empty() {
                continue;
            }
            let slot = match key.as_ref() {
                env::QUEUE_URL => &mut names.queue_url,
                env::DLQ_NAME => &mut names.dlq_name,
                env::CONNECTIONS_TABLE => &mut names.connections_table,
                env::EXECUTIONS_TABLE => &mut names.executions_table,
                env::API_KEYS_TABLE => &mut names.api_keys_table,
                env::EVENT_BUS => &mut names.event_bus_name,
                env::SECRETS_KMS_KEY => &mut names.secrets_kms_key_id,
                _ => continue,
            };
            *slot = Some(value.to_string());
        }
        names
    }
}

/// The prefix of the default resource names (the CloudFormation template's default too).
pub const DEFAULT_PREFIX: &str = "integrations";

impl Default for AwsConfig {
    fn default() -> Self {
        Self::with_prefix(DEFAULT_PREFIX)
    }
}

impl AwsConfig {
    /// Every resource named `<prefix>-…`, as `infra/template.yaml` names them for its `Prefix`
    /// parameter: queue `<prefix>-work` and `<prefix>-work-dlq`, tables `<prefix>-connections`,
    /// `<prefix>-executions-v2`, `<prefix>-api-keys`, bus `<prefix>-events`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            region: None,
            endpoint_url: None,
            static_credentials: None,
            queue_name: format!("{prefix}-work"),
            queue_url: None,
            dlq_name: format!("{prefix}-work-dlq"),
            connections_table: format!("{prefix}-connections"),
            // `-v2`: the spread layout; `<prefix>-executions` held the one-partition-per-tenant one.
            executions_table: format!("{prefix}-executions-v2"),
            api_keys_table: format!("{prefix}-api-keys"),
            event_bus_name: format!("{prefix}-events"),
            secret_cache_ttl: Duration::from_secs(30),
            max_receive_count: 5,
            visibility_timeout: Duration::from_secs(60),
            outbox_shards: 4,
            listing_shards: 16,
            capacity_from_item_sizes: false,
            secrets_kms_key_id: None,
        }
    }

    /// Replaces the names derived from the prefix by those given (the stack's outputs).
    pub fn with_resource_names(mut self, names: &ResourceNames) -> Self {
        let set = |field: &mut String, value: &Option<String>| {
            if let Some(v) = value {
                field.clone_from(v);
            }
        };
        if names.queue_url.is_some() {
            self.queue_url.clone_from(&names.queue_url);
        }
        set(&mut self.dlq_name, &names.dlq_name);
        set(&mut self.connections_table, &names.connections_table);
        set(&mut self.executions_table, &names.executions_table);
        set(&mut self.api_keys_table, &names.api_keys_table);
        set(&mut self.event_bus_name, &names.event_bus_name);
        if names.secrets_kms_key_id.is_some() {
            self.secrets_kms_key_id
                .clone_from(&names.secrets_kms_key_id);
        }
        self
    }

    /// Points every client at an emulator with the dummy credentials.
    pub fn for_emulator(mut self, endpoint_url: &str) -> Self {
        self.endpoint_url = Some(endpoint_url.to_string());
        self.static_credentials = Some(StaticCredentials::test());
        self.capacity_from_item_sizes = true;
        self.region = Some(self.region.unwrap_or_else(|| "us-east-1".into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_names_every_resource() {
        let c = AwsConfig::with_prefix("acme");
        assert_eq!(c.queue_name, "acme-work");
        assert_eq!(c.dlq_name, "acme-work-dlq");
        assert_eq!(c.executions_table, "acme-executions-v2");
        assert_eq!(c.event_bus_name, "acme-events");
        assert_eq!(c.region, None);
    }

    #[test]
    fn explicit_names_replace_the_prefix() {
        let names = ResourceNames::from_vars([
            (env::QUEUE_URL, "https://sqs.example/1/q"),
            (env::EXECUTIONS_TABLE, "execs"),
            (env::EVENT_BUS, " bus "),
            (env::API_KEYS_TABLE, ""),
            ("UNRELATED", "x"),
        ]);
        let c = AwsConfig::with_prefix("acme").with_resource_names(&names);
        assert_eq!(c.queue_url.as_deref(), Some("https://sqs.example/1/q"));
        assert_eq!(c.executions_table, "execs");
        assert_eq!(c.event_bus_name, "bus");
        assert_eq!(c.api_keys_table, "acme-api-keys");
        assert_eq!(c.connections_table, "acme-connections");
        assert_eq!(c.secrets_kms_key_id, None);
    }

    #[test]
    fn debug_redacts_the_secret_key() {
        let c = AwsConfig::default().for_emulator("http://127.0.0.1:1");
        let shown = format!("{c:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("secret_access_key: \"testing\""));
    }
}
