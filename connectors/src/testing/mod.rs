//! What every connector test shares, so no provider folder grows its own: the catalog
//! embedded in this build (schemas, documents), connections and call contexts, one harness
//! running a connector against its in-process fake (`fake-provider`, one fake per provider),
//! the fakes' control endpoints, a raw TCP server for exact wire shapes ([`tcp`]) and
//! in-memory secret and lease stores for the fleet-wide renewal ([`stores`]).

pub(crate) mod stores;
pub(crate) mod tcp;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fake_provider::{FakeConfig, FakeProvider};
use integrations_core::catalog::{schema_files, Catalog};
use integrations_core::connector::{CallContext, Connector};
use integrations_core::model::Credentials;
use integrations_core::outbound::SystemLookup;
use integrations_core::{Error, Result};
use serde_json::Value;

use crate::http::ConnectorSettings;

/// Settings with the operator's switch on for tenant-chosen hosts (as tests and on-premises
/// setups run): shop tests reach their fake at a loopback store URL.
pub(crate) fn private_hosts_allowed() -> ConnectorSettings {
    ConnectorSettings::new()
        .and_then(|s| s.with_tenant_hosts(true, Arc::new(SystemLookup)))
        .expect("HTTP clients")
}

/// The catalog embedded in this build, loaded once.
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("embedded catalog"))
}

/// An integration's document as embedded.
pub(crate) fn document(integration: &str) -> &'static Value {
    &catalog().integration(integration).expect("integration").doc
}

/// An embedded file under `schemas/` (e.g. `integration.schema.json`), parsed.
pub(crate) fn schema_file(path: &str) -> Value {
    let (_, text) = schema_files()
        .iter()
        .find(|(p, _)| *p == path)
        .unwrap_or_else(|| panic!("{path} is not embedded"));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An action's input or output schema.
pub(crate) fn schema(integration: &str, action: &str, which: &str) -> Value {
    let action = catalog().action(integration, action).expect("action");
    action.doc[which].clone()
}

pub(crate) fn assert_valid(schema: &Value, instance: &Value) {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{instance} is invalid: {errors:?}");
}

pub(crate) fn credentials(pairs: &[(&str, &str)]) -> Credentials {
    Credentials(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    )
}

pub(crate) fn ctx<'a>(
    execution_id: &'a str,
    config: &'a Value,
    credentials: &'a Credentials,
) -> CallContext<'a> {
    CallContext {
        execution_id,
        tenant_id: "tenant-1",
        config,
        credentials,
        timeout: Duration::from_secs(5),
        renewal: None,
    }
}

/// A fresh ULID execution id.
pub(crate) fn exec() -> String {
    integrations_core::model::new_id()
}

pub(crate) async fn fake() -> FakeProvider {
    fake_provider::start(FakeConfig::default())
        .await
        .expect("start the fake provider")
}

/// Connector settings pointing `integration_id` at `base_url` (a fake's).
pub(crate) fn settings_at(integration_id: &str, base_url: &str) -> ConnectorSettings {
    ConnectorSettings::new()
        .expect("HTTP client")
        .with_base_url(integration_id, base_url)
}

/// Connector settings pointing `integration_id` at `prefix` of the fake.
pub(crate) fn settings(
    fake: &FakeProvider,
    integration_id: &str,
    prefix: &str,
) -> ConnectorSettings {
    settings_at(integration_id, &format!("{}{prefix}", fake.url()))
}

/// A connection: its config and credentials, owned so contexts can borrow them.
pub(crate) struct Conn {
    pub integration_id: &'static str,
    pub config: Value,
    pub credentials: Credentials,
}

impl Conn {
    pub(crate) fn new(integration_id: &'static str, config: Value, creds: &[(&str, &str)]) -> Self {
        Self {
            integration_id,
            config,
            credentials: credentials(creds),
        }
    }

    pub(crate) fn ctx<'a>(&'a self, execution_id: &'a str) -> CallContext<'a> {
        ctx(execution_id, &self.config, &self.credentials)
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
        let a = catalog()
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

    /// [`Conn::run`] of a happy path.
    pub(crate) async fn ok(
        &self,
        connector: &dyn Connector,
        exec: &str,
        action: &str,
        input: Value,
    ) -> Value {
        self.run(connector, exec, action, input)
            .await
            .unwrap_or_else(|e| panic!("{action} failed: {e}"))
    }

    /// The error of a call that must fail (inputs the catalog would refuse included), without
    /// any credential in it.
    pub(crate) async fn err(
        &self,
        connector: &dyn Connector,
        exec: &str,
        action: &str,
        input: Value,
    ) -> Error {
        let e = connector
            .execute(action, &input, self.ctx(exec))
            .await
            .expect_err("an error");
        self.assert_clean(&e);
        e
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

/// A connector against its fake, with one connection: the harness every provider's tests
/// build on (adding their fake's own controls in an `impl Harness<TheirConnector>`).
pub(crate) struct Harness<C> {
    pub fake: FakeProvider,
    pub connector: C,
    pub conn: Conn,
}

impl<C: Connector> Harness<C> {
    pub(crate) fn ctx<'a>(&'a self, execution_id: &'a str) -> CallContext<'a> {
        self.conn.ctx(execution_id)
    }

    /// The call as it is, unchecked.
    pub(crate) async fn run_as(&self, exec: &str, action: &str, input: Value) -> Result<Value> {
        self.connector.execute(action, &input, self.ctx(exec)).await
    }

    /// [`Harness::run_as`] under another time budget than the default 5 s.
    pub(crate) async fn run_within(
        &self,
        exec: &str,
        action: &str,
        input: Value,
        timeout: Duration,
    ) -> Result<Value> {
        let mut ctx = self.ctx(exec);
        ctx.timeout = timeout;
        self.connector.execute(action, &input, ctx).await
    }

    /// A happy path, input and output checked against the catalog.
    pub(crate) async fn ok(&self, exec: &str, action: &str, input: Value) -> Value {
        self.conn.ok(&self.connector, exec, action, input).await
    }

    /// A failure, without any credential in its message.
    pub(crate) async fn fails(&self, exec: &str, action: &str, input: Value) -> Error {
        self.conn.err(&self.connector, exec, action, input).await
    }
}

/// POST to one of the fake's control endpoints (outside the fault injection).
pub(crate) async fn control(url: String, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("control call");
    resp.json().await.expect("control answer")
}

pub(crate) async fn get_json(url: String) -> Value {
    reqwest::get(url)
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}
