//! Configuration, parsed once from flags and environment variables into typed structs. Nothing
//! else in the service reads the environment.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use backend_aws::config::env as aws_env;
use clap::{Args, Parser, Subcommand, ValueEnum};

mod commands;
mod quotas;
pub use commands::{
    CallbackSecretAction, DeadLetterAction, KeysAction, MigrateLayoutArgs, OAuthAppAction,
};
pub use quotas::QuotaArgs;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "integrations",
    version,
    about = "Runs actions on third-party APIs for tenants: HTTP API, queue workers, or both."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// One SQLite file: queue, stores, event log, encrypted secrets.
    Embedded,
    /// SQS, DynamoDB, EventBridge and Secrets Manager.
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    #[arg(
        long,
        env = "INTEGRATIONS_BACKEND",
        value_enum,
        default_value = "embedded",
        global = true
    )]
    pub backend: BackendKind,

    /// Directory of the embedded backend's database and key files.
    #[arg(
        long,
        env = "INTEGRATIONS_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Base64 of the 32-byte key that encrypts embedded secrets; default: a key file in the
    /// data directory, created on first run (mode 0600).
    #[arg(
        long,
        env = "INTEGRATIONS_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<String>,

    /// Receives after which a message moves to the dead-letter queue.
    #[arg(
        long,
        env = "INTEGRATIONS_MAX_RECEIVE_COUNT",
        default_value_t = 10,
        global = true
    )]
    pub max_receive_count: u32,

    /// Provider base-URL overrides for self-hosted proxies and tests, `integrationId=url`,
    /// comma separated.
    #[arg(
        long = "provider-base-url",
        env = "INTEGRATIONS_PROVIDER_BASE_URLS",
        value_delimiter = ',',
        global = true
    )]
    pub provider_base_urls: Vec<String>,

    /// Let callback URLs point at private and loopback addresses (tests, on-premises).
    #[arg(long, env = "INTEGRATIONS_ALLOW_PRIVATE_URLS", global = true)]
    pub allow_private_urls: bool,

    /// How long a relay holds an event it publishes: the events of a process that died are
    /// taken over by another process's relay this long after they were written.
    #[arg(
        long,
        env = "INTEGRATIONS_OUTBOX_CLAIM_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub outbox_claim_ms: u64,

    #[arg(
        long,
        env = "INTEGRATIONS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub quotas: QuotaArgs,
}

/// The AWS backend's settings. Region and credentials otherwise come from the standard AWS
/// configuration chain (environment, profile, instance or task role).
#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// Every resource is named `<prefix>-…`, as infra/template.yaml's Prefix parameter names it.
    #[arg(
        long = "aws-prefix",
        env = "INTEGRATIONS_AWS_PREFIX",
        default_value = "integrations",
        global = true
    )]
    pub prefix: String,

    #[arg(long = "aws-region", env = "INTEGRATIONS_AWS_REGION", global = true)]
    pub region: Option<String>,

    /// The work queue's URL (stack output WorkQueueUrl; default: looked up by name).
    #[arg(long = "aws-queue-url", env = aws_env::QUEUE_URL, global = true)]
    pub queue_url: Option<String>,

    // The stack's other resource names (infra/template.yaml's task definitions set these from
    // the stack; each replaces the name derived from --aws-prefix).
    /// The dead-letter queue's name (stack output DeadLetterQueueName).
    #[arg(long = "aws-dlq-name", env = aws_env::DLQ_NAME, global = true)]
    pub dlq_name: Option<String>,
    /// Stack output ConnectionsTableName.
    #[arg(long = "aws-connections-table", env = aws_env::CONNECTIONS_TABLE, global = true)]
    pub connections_table: Option<String>,
    /// Stack output ExecutionsTableName.
    #[arg(long = "aws-executions-table", env = aws_env::EXECUTIONS_TABLE, global = true)]
    pub executions_table: Option<String>,
    /// Stack output ApiKeysTableName.
    #[arg(long = "aws-api-keys-table", env = aws_env::API_KEYS_TABLE, global = true)]
    pub api_keys_table: Option<String>,
    /// Stack output EventBusName.
    #[arg(long = "aws-event-bus", env = aws_env::EVENT_BUS, global = true)]
    pub event_bus: Option<String>,
    /// The KMS key new secrets are encrypted with (stack output KeyArn; default: Secrets
    /// Manager's own key).
    #[arg(long = "aws-secrets-kms-key", env = aws_env::SECRETS_KMS_KEY, global = true)]
    pub secrets_kms_key: Option<String>,

    /// An AWS-compatible emulator (moto) to use with dummy credentials, instead of AWS.
    #[arg(
        long = "aws-emulator-endpoint",
        env = "INTEGRATIONS_AWS_EMULATOR_ENDPOINT",
        global = true
    )]
    pub emulator_endpoint: Option<String>,

    /// Create the queues, tables and event bus if missing (development and emulators; in AWS
    /// deploy infra/template.yaml instead).
    #[arg(
        long = "aws-provision",
        env = "INTEGRATIONS_AWS_PROVISION",
        global = true
    )]
    pub provision: bool,

    /// How long a secret is reused before Secrets Manager is asked again: another process's
    /// rotation is seen at most this late.
    #[arg(
        long = "aws-secret-cache-ms",
        env = "INTEGRATIONS_AWS_SECRET_CACHE_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub secret_cache_ms: u64,

    /// How long a connection read is reused: another process's change (e.g. set inactive) is
    /// seen at most this late.
    #[arg(
        long = "aws-connection-cache-ms",
        env = "INTEGRATIONS_AWS_CONNECTION_CACHE_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub connection_cache_ms: u64,

    /// Listing shards per tenant of the executions table (aws/DESIGN.md, "Scale model"): raise
    /// it for tenants that write more than a few hundred executions per second; never lower it.
    #[arg(
        long = "aws-listing-shards",
        env = "INTEGRATIONS_AWS_LISTING_SHARDS",
        default_value_t = 16,
        value_parser = clap::value_parser!(u16).range(1..),
        global = true
    )]
    pub listing_shards: u16,

    /// Partitions of the pending-events and due-callbacks indexes, fleet-wide: about 2 index
    /// writes per execution each; 32 at 10,000 executions/s, 256 at 100,000/s. Every process
    /// of the fleet must use the same value or more; never lower it.
    #[arg(
        long = "aws-outbox-shards",
        env = "INTEGRATIONS_AWS_OUTBOX_SHARDS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u16).range(1..),
        global = true
    )]
    pub outbox_shards: u16,
}

impl AwsArgs {
    /// The resource names given explicitly, replacing those derived from the prefix.
    pub fn resource_names(&self) -> backend_aws::ResourceNames {
        backend_aws::ResourceNames {
            queue_url: self.queue_url.clone(),
            dlq_name: self.dlq_name.clone(),
            connections_table: self.connections_table.clone(),
            executions_table: self.executions_table.clone(),
            api_keys_table: self.api_keys_table.clone(),
            event_bus_name: self.event_bus.clone(),
            secrets_kms_key_id: self.secrets_kms_key.clone(),
        }
    }
}

impl CommonArgs {
    pub fn base_url_overrides(&self) -> Result<BTreeMap<String, String>, String> {
        self.provider_base_urls
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| {
                s.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| format!("--provider-base-url '{s}': expected integrationId=url"))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// The HTTP API with in-process workers: everything on one machine.
    Serve {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// The HTTP API only (fleet mode).
    Api {
        #[command(flatten)]
        api: ApiArgs,
    },
    /// Queue workers only (fleet mode).
    Worker {
        #[command(flatten)]
        worker: WorkerArgs,
    },
    /// Create an API key for a caller service and print it once.
    CreateKey {
        /// The calling service, recorded on its executions (e.g. flows, ai-agents).
        #[arg(long)]
        caller_service: String,
        /// Tenants the key may act for, comma separated.
        #[arg(long, value_delimiter = ',', required_unless_present = "all_tenants")]
        tenants: Vec<String>,
        /// The key may act for every tenant.
        #[arg(long, conflicts_with = "tenants")]
        all_tenants: bool,
    },
    /// List or revoke API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Inspect and redrive dead-lettered messages.
    DeadLetters {
        #[command(subcommand)]
        action: DeadLetterAction,
    },
    /// Show or rotate a caller service's callback signing secret (Standard Webhooks `whsec_…`),
    /// the one its callbacks are signed with on every host.
    CallbackSecret {
        #[command(subcommand)]
        action: CallbackSecretAction,
    },
    /// Print the OpenAPI 3.1 document of the HTTP API (what `GET /openapi.json` serves).
    Openapi,
    /// Copy an executions table of the one-partition-per-tenant layout into the configured
    /// one (AWS backend; docs/upgrading.md). Idempotent; prints a JSON line per page with the
    /// counts and the position to --resume from.
    MigrateLayout {
        #[command(flatten)]
        args: MigrateLayoutArgs,
    },
    /// Register the operator's OAuth apps (client id and secret) for oauth2 integrations.
    OauthApp {
        #[command(subcommand)]
        action: OAuthAppAction,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    #[arg(long, env = "INTEGRATIONS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Upper bound of a request's waitMs.
    #[arg(long, env = "INTEGRATIONS_MAX_WAIT_MS", default_value_t = 30_000)]
    pub max_wait_ms: u64,

    /// `Host` values `/mcp` accepts (DNS-rebinding protection), comma separated; default
    /// loopback only. Set the public host name(s) for a public deployment.
    #[arg(
        long = "mcp-allowed-host",
        env = "INTEGRATIONS_MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub mcp_allowed_hosts: Vec<String>,

    /// Browser `Origin`s `/mcp` accepts (`scheme://host:port`, `:*` for any port), comma
    /// separated; default loopback only. Clients that send no Origin always pass.
    #[arg(
        long = "mcp-allowed-origin",
        env = "INTEGRATIONS_MCP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub mcp_allowed_origins: Vec<String>,

    /// Submissions being recorded and enqueued at once in this process; beyond it the API
    /// answers 503 OVERLOADED with Retry-After at once (a request waiting for its result with
    /// waitMs no longer counts once it is enqueued).
    #[arg(
        long,
        env = "INTEGRATIONS_MAX_SUBMISSIONS_IN_FLIGHT",
        default_value_t = 1024
    )]
    pub max_submissions_in_flight: usize,

    /// Messages waiting for the enqueue batcher; when it is full (the queue is not keeping up)
    /// the API answers 503 OVERLOADED with Retry-After before recording anything.
    #[arg(long, env = "INTEGRATIONS_MAX_ENQUEUE_BACKLOG", default_value_t = 1024)]
    pub max_enqueue_backlog: usize,

    /// The service's public origin (`https://integrations.example.com`): connections' webhook
    /// URLs are shown in full with it, else as paths.
    #[arg(long, env = "INTEGRATIONS_PUBLIC_URL")]
    pub public_url: Option<url::Url>,

    /// How long a rotated webhook URL token (GHN, GHTK, Haravan) keeps working beside the new
    /// one, for the tenant to update the provider's dashboard.
    #[arg(
        long,
        env = "INTEGRATIONS_WEBHOOK_TOKEN_GRACE_SECS",
        default_value_t = 86_400
    )]
    pub webhook_token_grace_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Executions in flight at once in this process.
    #[arg(long, env = "INTEGRATIONS_CONCURRENCY", default_value_t = 256)]
    pub concurrency: usize,

    /// Provider calls before a retryable failure becomes terminal.
    #[arg(long, env = "INTEGRATIONS_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: u32,

    #[arg(long, env = "INTEGRATIONS_BACKOFF_BASE_MS", default_value_t = 500)]
    pub backoff_base_ms: u64,

    #[arg(long, env = "INTEGRATIONS_BACKOFF_MAX_MS", default_value_t = 300_000)]
    pub backoff_max_ms: u64,

    /// Lease on a running execution (and its message's visibility), renewed while it runs.
    #[arg(long, env = "INTEGRATIONS_LEASE_MS", default_value_t = 30_000)]
    pub lease_ms: u64,

    /// Consecutive failures of an integration, counted in each process, that open its circuit
    /// breaker for the whole fleet.
    #[arg(long, env = "INTEGRATIONS_BREAKER_FAILURE_THRESHOLD", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker_failure_threshold: u32,

    /// How long an open breaker stays open before one probe is let through.
    #[arg(long, env = "INTEGRATIONS_BREAKER_OPEN_MS", default_value_t = 30_000)]
    pub breaker_open_ms: u64,

    /// Back-off of an unparseable message until the queue dead-letters it.
    #[arg(long, env = "INTEGRATIONS_POISON_DELAY_MS", default_value_t = 5_000)]
    pub poison_delay_ms: u64,

    /// Don't apply the catalog's per-connection rate limits (benchmarks against a fake, or a
    /// provider contract that allows more); providers' 429s are still honoured.
    #[arg(long, env = "INTEGRATIONS_NO_CATALOG_RATE_LIMITS")]
    pub no_catalog_rate_limits: bool,

    /// Cap on every action's catalog timeout (operators with slow networks lower nothing;
    /// tests and latency-sensitive fleets lower it).
    #[arg(long, env = "INTEGRATIONS_ACTION_TIMEOUT_CAP_MS")]
    pub action_timeout_cap_ms: Option<u64>,

    /// Serve /metrics and /healthz here when running workers without the API (fleet mode).
    #[arg(long, env = "INTEGRATIONS_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    #[arg(long, env = "INTEGRATIONS_SHUTDOWN_GRACE_MS", default_value_t = 30_000)]
    pub shutdown_grace_ms: u64,

    /// Callback deliveries in flight at once in this process (beside the executions).
    #[arg(long, env = "INTEGRATIONS_CALLBACK_CONCURRENCY", default_value_t = 256)]
    pub callback_concurrency: usize,

    /// Per callback attempt, connecting included; a deliverer's lease is twice this.
    #[arg(
        long,
        env = "INTEGRATIONS_CALLBACK_TIMEOUT_MS",
        default_value_t = 15_000
    )]
    pub callback_timeout_ms: u64,

    /// The waits before each attempt of a callback, comma separated, in milliseconds (the
    /// first is the first attempt's). Default: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    #[arg(long, env = "INTEGRATIONS_CALLBACK_SCHEDULE_MS", value_delimiter = ',')]
    pub callback_schedule_ms: Vec<u64>,

    /// How long a message whose tenant is at its in-flight cap waits in the queue before it is
    /// received again (plus up to as much jitter). Longer: fewer requeues while a tenant floods;
    /// shorter: its freed slots are refilled sooner.
    #[arg(
        long,
        env = "INTEGRATIONS_TENANT_REQUEUE_DELAY_MS",
        default_value_t = 200
    )]
    pub tenant_requeue_delay_ms: u64,
}
