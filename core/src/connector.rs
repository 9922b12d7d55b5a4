//! The connector boundary: what the engine asks of a provider integration.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::model::Credentials;
use crate::renewal::Renewer;

/// Everything a connector needs for one call. Borrowed: connectors keep no per-tenant state.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// Used by write actions as the provider-side idempotency key (e.g. GHN client_order_code).
    pub execution_id: &'a str,
    pub tenant_id: &'a str,
    /// The connection's non-secret config (validated against the integration's configSchema).
    pub config: &'a Value,
    pub credentials: &'a Credentials,
    /// The action's time budget; the engine enforces it too, this lets a connector set its
    /// HTTP timeout to match.
    pub timeout: Duration,
    /// Where `credentials` live in the secret store, and who renews them when the provider
    /// rejects or expires a token (login-then-token, OAuth2): one caller at a time across the
    /// fleet, the result written back there ([`Renewer::renew`]). None where nothing may be
    /// renewed (unit tests).
    pub renewal: Option<Renewal<'a>>,
}

/// A connection's secret and its renewer, for [`CallContext::renewal`].
#[derive(Clone, Copy)]
pub struct Renewal<'a> {
    pub secret_name: &'a str,
    pub renewer: &'a Renewer,
}

impl std::fmt::Debug for Renewal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewal")
            .field("secret_name", &self.secret_name)
            .finish()
    }
}

/// A provider integration. Implementations map validated inputs to provider calls and classify
/// every failure into an [`Error`] (retryable or not, request sent or not).
#[async_trait]
pub trait Connector: Send + Sync + 'static {
    fn integration_id(&self) -> &'static str;

    /// A cheap authenticated call proving the credentials and config work; returns a message
    /// for the caller.
    async fn test_connection(&self, ctx: CallContext<'_>) -> Result<String>;

    /// Run an action. `input` has been validated against the action's inputSchema.
    async fn execute(&self, action_id: &str, input: &Value, ctx: CallContext<'_>) -> Result<Value>;
}

/// The explicit registry of connectors, by integration id.
#[derive(Clone, Default)]
pub struct Connectors {
    by_id: BTreeMap<&'static str, Arc<dyn Connector>>,
}

impl Connectors {
    pub fn new(list: Vec<Arc<dyn Connector>>) -> Self {
        Self {
            by_id: list.into_iter().map(|c| (c.integration_id(), c)).collect(),
        }
    }

    pub fn get(&self, integration_id: &str) -> Result<&Arc<dyn Connector>> {
        self.by_id.get(integration_id).ok_or_else(|| {
            Error::new(
                ErrorKind::IntegrationNotFound,
                format!(
                    "no connector for integration '{integration_id}'; known: {}",
                    self.ids().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    pub fn ids(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.by_id.keys().copied()
    }
}
