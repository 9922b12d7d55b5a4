//! Helpers for the tools tests: connections, catalogs with hand-made actions, and a JSON Schema
//! validator to check converted schemas and mapped-back inputs independently of the converters.

#![allow(dead_code)]

use integrations_core::catalog::{schema_files, Catalog};
use integrations_core::model::{now, Connection, ConnectionStatus};
use serde_json::{json, Value};

pub fn connection(id: &str, integration: &str, name: &str) -> Connection {
    Connection {
        tenant_id: "t1".into(),
        connection_id: id.into(),
        integration_id: integration.into(),
        name: name.into(),
        config: json!({}),
        credentials_ref: format!("/integrations/t1/{id}"),
        status: ConnectionStatus::Active,
        last_tested_at: None,
        last_error_at: None,
        last_error: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// A catalog with one integration, `hostile-test`, whose actions have the given input schemas.
pub fn catalog_with(actions: &[(&str, Value)]) -> Catalog {
    let actions: Vec<Value> = actions
        .iter()
        .map(|(id, input)| {
            json!({
                "actionId": id, "name": format!("Action {id}"),
                "description": format!("Does {id}."), "category": "write",
                "inputSchema": input, "outputSchema": {"type": "object"},
                "timeoutMs": 1000, "idempotency": {"strategy": "none"}
            })
        })
        .collect();
    let doc = json!({
        "integrationId": "crm-hostile", "category": "crm", "name": "Hostile CRM",
        "description": "Schemas that break naive converters.", "provider": "Test",
        "version": "1.0.0", "authType": "api_key", "status": "beta",
        "configSchema": {"type": "object", "properties": {}}, "actions": actions
    })
    .to_string();
    let meta = schema_files()
        .iter()
        .find(|(p, _)| *p == "integration.schema.json")
        .map(|(_, s)| *s)
        .expect("meta schema");
    Catalog::from_files([
        ("integration.schema.json", meta),
        ("integrations/crm-hostile.json", doc.as_str()),
    ])
    .expect("catalog")
}

/// Problems of `instance` against `schema` (draft 2020-12), empty when valid.
pub fn invalid(schema: &Value, instance: &Value) -> Vec<String> {
    let v = jsonschema::draft202012::new(schema).expect("schema compiles");
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}
