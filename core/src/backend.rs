//! The boundaries between the service and its infrastructure: queue, stores, event bus and secret
//! store. The embedded (SQLite) and AWS backends implement these traits; the conformance suites in
//! [`crate::conformance`] hold both to the same contract. No backend type leaks past them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::callbacks::{AttemptOutcome, Callback, CallbackAttempt};
use crate::completion::Completion;
use crate::error::{ErrorBody, Result};
use crate::limits::{BucketLimit, Grant};
use crate::model::{
    ApiKey, Connection, ConnectionStatus, Credentials, Execution, ExecutionStatus, ResultEvent,
    Timestamp,
};
use crate::outbox::OutboxEvent;

// ---------------------------------------------------------------------------------------------
// Queue

/// A message to put on the work queue.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// The serialized [`crate::model::ExecutionRequest`] (or anything a producer sent).
    pub body: String,
    /// Travels as a message attribute so that tooling can find the execution without parsing.
    pub execution_id: String,
    /// Deliver no earlier than this from now.
    pub delay: Duration,
    /// Travels as the `traceparent` message attribute: a W3C Trace Context value,
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>` (see [`crate::trace`]). None (or
    /// empty) sends no attribute. Backends carry it as given; consumers validate it.
    pub trace_parent: Option<String>,
    /// The tenant the message is queued fairly under: a receive serves a group that sent little
    /// before the backlog of one that flooded the queue (the embedded queue orders by it; SQS
    /// carries it as the `MessageGroupId` of a standard queue, its fair-queue key). None: the
    /// message has no group (producers that set none share one).
    pub fair_group: Option<String>,
}

/// A message received from a queue. The receipt is valid until the visibility timeout expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub message_id: String,
    pub receipt: String,
    pub body: String,
    /// How many times this message has been received, this time included (1 on first delivery).
    pub receive_count: u32,
    /// From the message attribute; None when the producer set none.
    pub execution_id: Option<String>,
    /// The W3C `traceparent` value from the message attribute,
    /// `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`, exactly as the producer sent it
    /// (not validated: see [`crate::trace::parse_trace_parent`]); None when the producer sent
    /// none.
    pub trace_parent: Option<String>,
    /// As sent ([`OutgoingMessage::fair_group`]); kept when the message is sent again.
    pub fair_group: Option<String>,
}

/// What [`Queue::depth`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    /// Messages ready to be received now or later (delayed ones included), not in flight.
    pub waiting: Option<u64>,
    /// Messages received and not yet deleted (in flight, or waiting out a visibility timeout).
    pub in_flight: Option<u64>,
    /// Age of the oldest message, from its send.
    pub oldest_age: Option<Duration>,
}

/// An at-least-once work queue with visibility timeouts and a dead-letter queue: a message
/// received more than the queue's maximum receive count times moves to the dead-letter queue
/// instead of being delivered again.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Send messages; backends batch where they can. All or nothing is not promised: an error
    /// means some may have been sent (receivers are idempotent).
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<()>;

    /// Receive up to `max` messages, waiting up to `wait` for the first one. Received messages
    /// stay invisible to other receivers for `visibility`.
    async fn receive(
        &self,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>>;

    /// Delete (acknowledge) received messages.
    async fn delete(&self, receipts: &[String]) -> Result<()>;

    /// Make a received message visible again after `timeout` from now: a backoff when the work
    /// is retried later, a heartbeat while long work runs.
    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> Result<()>;

    /// Receive messages from the dead-letter queue, hidden for `visibility` so that the caller
    /// may redrive or delete them.
    async fn receive_dead_letters(&self, max: usize, visibility: Duration)
        -> Result<Vec<Delivery>>;

    /// Move a received dead letter back to the work queue, optionally with a corrected body. Its
    /// `execution_id` and `trace_parent` attributes go with it.
    async fn redrive(&self, dead_letter: &Delivery, body: Option<&str>) -> Result<()>;

    /// Delete a received dead letter for good.
    async fn delete_dead_letter(&self, receipt: &str) -> Result<()>;

    /// How much waits in the queue, for metrics and autoscaling; fields are None where the
    /// backend cannot tell (SQS counts approximately and does not say how old messages are).
    async fn depth(&self) -> Result<QueueDepth> {
        Ok(QueueDepth::default())
    }

    /// Wakes in-process receivers at once when a message is sent (embedded backend); None where
    /// receivers long-poll a remote queue.
    fn wake_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Connections

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectionFilter {
    pub integration_id: Option<String>,
    pub status: Option<ConnectionStatus>,
}

#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    /// Create; fails if the id exists.
    async fn create_connection(&self, connection: &Connection) -> Result<()>;
    async fn get_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<Connection>>;
    /// Replace an existing connection; returns false if it does not exist.
    async fn update_connection(&self, connection: &Connection) -> Result<bool>;
    /// Returns false if it did not exist.
    async fn delete_connection(&self, tenant_id: &str, connection_id: &str) -> Result<bool>;
    /// A tenant's connections, oldest first.
    async fn list_connections(
        &self,
        tenant_id: &str,
        filter: &ConnectionFilter,
    ) -> Result<Vec<Connection>>;
}

// ---------------------------------------------------------------------------------------------
// Executions

/// An idempotency key reserved with an execution: (tenant, key) maps to one execution and the
/// hash of the request that created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CreateOutcome {
    Created,
    /// The idempotency key (or the execution id) was taken: the existing execution and the
    /// request hash recorded with the key (None when the id, not a key, collided).
    Existing {
        execution: Box<Execution>,
        request_hash: Option<String>,
    },
}

/// A worker's exclusive, expiring right to run an execution (or deliver a callback).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// Now `running` under the lease, with `attempts` incremented. `recovered` is true when the
    /// execution was `running` under an expired lease: a worker died mid-attempt, so that
    /// attempt's outcome is unknown.
    Claimed {
        execution: Box<Execution>,
        recovered: bool,
    },
    /// Already terminal: the message is a duplicate.
    Terminal(Box<Execution>),
    /// Another worker holds an unexpired lease.
    Leased {
        until: Timestamp,
    },
    NotFound,
}

/// How a running execution goes back to `queued`.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub next_attempt_at: Timestamp,
    /// The failure of the attempt, kept as the execution's last error.
    pub error: Option<ErrorBody>,
    /// True when the attempt never reached the provider (rate limit, open breaker): it is not
    /// counted, so `attempts` goes back down by one.
    pub refund_attempt: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub connection_id: Option<String>,
    pub integration_id: Option<String>,
    pub status: Option<ExecutionStatus>,
    /// Created at or after.
    pub start: Option<Timestamp>,
    /// Created before.
    pub end: Option<Timestamp>,
    pub limit: usize,
    /// Opaque, from a previous page of the same tenant.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[async_trait]
pub trait ExecutionStore: Send + Sync + 'static {
    /// Record a new execution (normally `queued`). With an idempotency claim the key is reserved
    /// atomically with the insert.
    async fn create_execution(
        &self,
        execution: &Execution,
        idempotency: Option<&IdempotencyClaim>,
    ) -> Result<CreateOutcome>;

    async fn get_execution(&self, tenant_id: &str, execution_id: &str)
        -> Result<Option<Execution>>;

    /// Newest first.
    async fn list_executions(
        &self,
        tenant_id: &str,
        filter: &ExecutionFilter,
    ) -> Result<Page<Execution>>;

    /// Move `queued` (or `running` with an expired lease) to `running` under `lease`,
    /// incrementing `attempts`.
    async fn claim_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<ClaimOutcome>;

    /// Extend a lease held by `lease.owner`; false if it is no longer held.
    async fn extend_lease(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<bool>;

    /// `running` → `queued`, if `owner` still holds the lease.
    async fn release_execution(
        &self,
        tenant_id: &str,
        execution_id: &str,
        owner: &str,
        release: &Release,
    ) -> Result<bool>;

    /// Store the terminal state of `completion.execution` and, in the same atomic write, its
    /// result event in the outbox and its callback (if any). With `owner`, only if that worker
    /// still holds the lease; without, only if the execution is not terminal yet
    /// (dead-lettering, sweeping). False when the condition fails: nothing is written.
    async fn complete_execution(
        &self,
        completion: &Completion,
        owner: Option<&str>,
    ) -> Result<bool>;

    /// `dead_lettered` → `queued` (error, output, finished_at and lease cleared; attempts kept),
    /// for a redriven dead letter. False if the execution is missing or not `dead_lettered`.
    async fn reopen_execution(&self, tenant_id: &str, execution_id: &str) -> Result<bool>;

    /// Outbox events not yet published, oldest first, claimed or not (a read: relays publish
    /// what [`ExecutionStore::outbox_claim`] gives them).
    async fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEvent>>;

    /// Claim for `lease.owner` until `lease.until` up to `limit` outbox events that nobody holds
    /// at `now` (never claimed, or under an expired claim), oldest first, and return them: one
    /// claimer wins each event, so relays of different processes never publish the same event
    /// at once. An event written with [`Completion::event_claim`] (or
    /// [`crate::webhooks::InboundWebhook::event_claim`]) is born held by that claim.
    /// Removed events are never returned, even where the outbox is read through a lagging index.
    async fn outbox_claim(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>>;

    /// Forget published outbox events (of either kind).
    async fn outbox_remove(&self, event_ids: &[String]) -> Result<()>;

    /// In-process notification of completed execution ids (embedded backend), so that waiting
    /// requests wake at once; None where waiters must poll.
    fn completions(&self) -> Option<broadcast::Receiver<String>> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// Callbacks

/// An attempt to record: the callback as its deliverer held it, what happened, what follows.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub callback: Callback,
    pub attempt: CallbackAttempt,
    pub outcome: AttemptOutcome,
    /// The `CallbackFailed` event, with [`AttemptOutcome::Failed`].
    pub failed_event: Option<ResultEvent>,
}

#[async_trait]
pub trait CallbackStore: Send + Sync + 'static {
    async fn get_callback(&self, tenant_id: &str, execution_id: &str) -> Result<Option<Callback>>;

    /// Lease up to `limit` pending callbacks that are due at `now` (next attempt reached, no
    /// unexpired lease) to `lease.owner`, soonest first. Each is returned with its new lease.
    async fn claim_due_callbacks(
        &self,
        now: Timestamp,
        lease: &Lease,
        limit: usize,
    ) -> Result<Vec<Callback>>;

    /// Record an attempt made under `callback`'s lease (as claimed, or as born) and what follows
    /// ([`Callback::apply_attempt`]: the lease ends). With [`AttemptOutcome::Failed`],
    /// `failed_event` (a `CallbackFailed` event) goes into the outbox in the same atomic write.
    /// False when that lease is no longer held (nothing written: whoever holds it now makes the
    /// next attempt).
    async fn record_callback_attempt(
        &self,
        callback: &Callback,
        attempt: &CallbackAttempt,
        outcome: &AttemptOutcome,
        failed_event: Option<&ResultEvent>,
    ) -> Result<bool>;

    /// [`CallbackStore::record_callback_attempt`] for several attempts at once (a deliverer
    /// records in batches); one answer per record, in order.
    async fn record_callback_attempts(&self, records: &[AttemptRecord]) -> Result<Vec<bool>> {
        let mut recorded = Vec::with_capacity(records.len());
        for r in records {
            recorded.push(
                self.record_callback_attempt(
                    &r.callback,
                    &r.attempt,
                    &r.outcome,
                    r.failed_event.as_ref(),
                )
                .await?,
            );
        }
        Ok(recorded)
    }

    /// Deliver again on demand ([`Callback::redeliver`]). Returns the updated callback, None if
    /// the execution has none.
    async fn redeliver_callback(
        &self,
        tenant_id: &str,
        execution_id: &str,
        now: Timestamp,
    ) -> Result<Option<Callback>>;
}

// ---------------------------------------------------------------------------------------------
// API keys

#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    async fn put_api_key(&self, key: &ApiKey) -> Result<()>;
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    /// Every key, oldest first: an operator's listing (`integrations keys list`), of which
    /// there are few.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>>;
    /// Deletes the key with this id; false when there is none. The key stops authenticating
    /// as soon as no process's key cache holds it any more (`dispatcher::auth::KEY_CACHE_TTL`).
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool>;
}

// ---------------------------------------------------------------------------------------------
// Event bus

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    /// Publish events (at least once): result events with their [`crate::model::EventType`] as
    /// detail-type, provider events with [`crate::outbox::PROVIDER_EVENT_DETAIL_TYPE`]. Returns
    /// the ids of the events that failed and should be retried; an Err means none can be assumed
    /// published.
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<String>>;
}

// ---------------------------------------------------------------------------------------------
// Secrets

#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Create or replace (rotation) the secret.
    async fn put_secret(&self, name: &str, value: &Credentials) -> Result<()>;
    /// Possibly through a per-process cache (another process's write may show late).
    async fn get_secret(&self, name: &str) -> Result<Option<Credentials>>;
    /// The stored value now, past any cache (and refreshing it): for a process waiting on
    /// another's renewal of the secret.
    async fn get_secret_fresh(&self, name: &str) -> Result<Option<Credentials>> {
        self.get_secret(name).await
    }
    /// The stored value now, past any cache, with its version: what a compare-and-set
    /// ([`SecretStore::put_secret_if`]) starts from.
    async fn get_secret_versioned(
        &self,
        name: &str,
    ) -> Result<Option<(Credentials, SecretVersion)>>;
    /// Replace the secret only if its stored version is still `expected`, atomically in the
    /// store: of concurrent writers with one expected version exactly one wins. False (nothing
    /// written) when another write came first or the secret is gone.
    async fn put_secret_if(
        &self,
        name: &str,
        value: &Credentials,
        expected: &SecretVersion,
    ) -> Result<bool>;
    /// Deleting a missing secret is not an error.
    async fn delete_secret(&self, name: &str) -> Result<()>;
}

/// One stored value of a secret, opaque to callers: every write makes a new one, never
/// reused for that name (a compare-and-set cannot mistake a later value for the one it read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretVersion(pub String);

// ---------------------------------------------------------------------------------------------
// Named leases

/// Fleet-wide mutual exclusion by name (e.g. one renewer of a connection's token at a time):
/// a lease is held by one owner until it expires or is released.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Take the lease `name` for `lease.owner` until `lease.until` when nobody else holds it
    /// unexpired at `now` (its owner may extend it). True when taken.
    async fn acquire_lease(&self, name: &str, lease: &Lease, now: Timestamp) -> Result<bool>;
    /// Give it up, if `owner` holds it (otherwise nothing happens).
    async fn release_lease(&self, name: &str, owner: &str) -> Result<()>;
    /// The lease as stored (possibly expired), None if nobody took it or it was released.
    async fn get_lease(&self, name: &str) -> Result<Option<Lease>>;
}

// ---------------------------------------------------------------------------------------------
// Rate limits

/// Token buckets shared by the fleet ([`crate::limits::fleet`] takes from them in batches).
#[async_trait]
pub trait RateLimitStore: Send + Sync + 'static {
    /// Take up to `want` tokens from the bucket `key` at `now` ([`crate::limits::Bucket::take`]: a bucket not
    /// seen before is full). Atomic across the fleet: concurrent takers never get more than the
    /// bucket held.
    async fn take_tokens(
        &self,
        key: &str,
        limit: &BucketLimit,
        want: u32,
        now: Timestamp,
    ) -> Result<Grant>;
}

/// One backend's implementations of every boundary.
#[derive(Clone)]
pub struct Backend {
    pub queue: Arc<dyn Queue>,
    pub connections: Arc<dyn ConnectionStore>,
    pub executions: Arc<dyn ExecutionStore>,
    pub api_keys: Arc<dyn ApiKeyStore>,
    pub events: Arc<dyn EventBus>,
    pub secrets: Arc<dyn SecretStore>,
    pub callbacks: Arc<dyn CallbackStore>,
    pub leases: Arc<dyn LeaseStore>,
    pub rate_limits: Arc<dyn RateLimitStore>,
    pub webhooks: Arc<dyn crate::webhooks::WebhookStore>,
    pub triggers: Arc<dyn crate::triggers::TriggerStore>,
}
