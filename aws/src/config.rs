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
    pub outbox_shards: u8,
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
            .finish()
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
    /// `<prefix>-executions`, `<prefix>-api-keys`, bus `<prefix>-events`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            region: None,
            endpoint_url: None,
            static_credentials: None,
            queue_name: format!("{prefix}-work"),
            queue_url: None,
            dlq_name: format!("{prefix}-work-dlq"),
            connections_table: format!("{prefix}-connections"),
            executions_table: format!("{prefix}-executions"),
            api_keys_table: format!("{prefix}-api-keys"),
            event_bus_name: format!("{prefix}-events"),
            secret_cache_ttl: Duration::from_secs(30),
            max_receive_count: 5,
            visibility_timeout: Duration::from_secs(60),
            outbox_shards: 4,
        }
    }

    /// Points every client at an emulator with the dummy credentials.
    pub fn for_emulator(mut self, endpoint_url: &str) -> Self {
        self.endpoint_url = Some(endpoint_url.to_string());
        self.static_credentials = Some(StaticCredentials::test());
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
        assert_eq!(c.executions_table, "acme-executions");
        assert_eq!(c.event_bus_name, "acme-events");
        assert_eq!(c.region, None);
    }

    #[test]
    fn debug_redacts_the_secret_key() {
        let c = AwsConfig::default().for_emulator("http://127.0.0.1:1");
        let shown = format!("{c:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("secret_access_key: \"testing\""));
    }
}
