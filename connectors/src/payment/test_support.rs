//! What the payment connectors' tests share: the in-process fake, connections as owned config
//! and credentials, and input/output checks against the embedded catalog.

use std::collections::BTreeMap;
use std::time::Duration;

use fake_provider::{FakeConfig, FakeProvider};
use integrations_core::catalog::Catalog;
use integrations_core::connector::{CallContext, Connector};
use integrations_core::model::Credentials;
use integrations_core::{Error, Result};
use serde_json::Value;

use crate::http::ConnectorSettings;

pub(crate) async fn fake() -> FakeProvider {
    fake_provider::start(FakeConfig::default())
        .await
        .expect("start the fake provider")
}

/// Connector settings pointing `integration_id` at `prefix` of the fake.
pub(crate) fn settings(
    fake: &FakeProvider,
    integration_id: &str,
    prefix: &str,
) -> ConnectorSettings {
    ConnectorSettings::new()
        .expect("HTTP client")
        .with_base_url(integration_id, &format!("{}{prefix}", fake.url()))
}

/// A connection: its config and credentials, owned so contexts can borrow them.
pub(crate) struct Conn {
    pub integration_id: &'static str,
    pub config: Value,
    pub credentials: Credentials,
}

impl Conn {
    pub(crate) fn new(integration_id: &'static str, config: Value, creds: &[(&str, &str)]) -> Self {
        let credentials = Credentials(
            creds
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        );
        Self {
            integration_id,
            config,
            credentials,
        }
    }

    pub(crate) fn ctx<'a>(&'a self, execution_id: &'a str) -> CallContext<'a> {
        CallContext {
            execution_id,
            tenant_id: "tenant-1",
            config: &self.config,
            credentials: &self.credentials,
            timeout: Duration::from_secs(5),
            renewal: None,
        }
    }

    /// Run an action whose input the catalog accepts; a success must match the outputSchema,
    /// and no error may carry a credential.
    pub(crate) async fn run(
        &self,
        connector: &dyn Connector,
        exec: &str,
        action: &str,
        input: Value,
    ) -> Result<Value> {
        let catalog = catalog();
        let a = catalog
            .action(self.integration_id, action)
            .expect("action in the catalog");
        a.validate_input(&input)
            .unwrap_or_else(|e| panic!("{action} input rejected by the catalog: {e}"));
        let out = connector.execute(action, &input, self.ctx(exec)).await;
        match &out {
            Ok(v) => a
                .validate_output(v)
                .unwrap_or_else(|e| panic!("{action} output breaks its outputSchema: {e}: {v}")),
            Err(e) => self.assert_clean(e),
        }
        out
    }

    pub(crate) fn assert_clean(&self, e: &Error) {
        for secret in self.credentials.values() {
            assert!(
                !e.message.contains(secret),
                "a credential leaked: {}",
                e.message
            );
        }
    }
}

pub(crate) fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog")
}

/// A fresh ULID execution id.
pub(crate) fn exec() -> String {
    integrations_core::model::new_id()
}
