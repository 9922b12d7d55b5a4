//! Shared by the shipping connectors' tests: schemas from the embedded catalog, a call
//! context, and the fake's control endpoints.

use std::collections::BTreeMap;
use std::time::Duration;

use integrations_core::catalog::Catalog;
use integrations_core::connector::CallContext;
use integrations_core::model::Credentials;
use serde_json::Value;

/// An action's input or output schema, from the catalog embedded in this build.
pub(crate) fn schema(integration: &str, action: &str, which: &str) -> Value {
    let catalog = Catalog::embedded().expect("embedded catalog");
    let action = catalog.action(integration, action).expect("action");
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
