//! The OpenAPI 3.1 document, generated from the handlers' declarations (`dispatcher::app`,
//! `dispatcher/src/openapi/`) and served at `GET /openapi.json`: it is the document of the
//! router that serves it, with exactly its routes and methods; it is a well-formed OpenAPI 3.1
//! document whose schemas are valid JSON Schemas; and schemathesis (PyPI, from the venv that
//! scripts/test.sh makes, named by INTEGRATIONS_TEST_SCHEMATHESIS) finds no 5xx and no response
//! off the document when it runs against the live service. With the variable unset (a
//! developer's plain `cargo nextest run`) the schemathesis test prints a note and passes; with
//! it set, any finding fails it.

use std::collections::BTreeSet;
use std::time::Duration;

use integration_tests::{fee_input, Harness};
use integrations_core::catalog::{schema_files, Catalog};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SCHEMATHESIS_VAR: &str = "INTEGRATIONS_TEST_SCHEMATHESIS";
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
/// Routes served without an API key.
const PUBLIC: [&str; 5] = [
    "/healthz",
    "/metrics",
    "/openapi.json",
    "/oauth/callback",
    "/webhooks/{integrationId}/{connectionId}",
];

/// The API's routes. The router and the document are built from the same declarations, so
/// this list is what a reviewer reads: a route added, renamed or lost shows here.
const ROUTES: [&str; 25] = [
    "/healthz",
    "/metrics",
    "/openapi.json",
    "/catalog",
    "/catalog/{integrationId}",
    "/catalog/{integrationId}/actions/{actionId}",
    "/connections",
    "/connections/{connectionId}",
    "/connections/{connectionId}/test",
    "/connections/{connectionId}/webhook",
    "/connections/{connectionId}/webhook-token/rotate",
    "/connections/oauth/start",
    "/oauth/callback",
    "/execute",
    "/executions",
    "/executions/{executionId}",
    "/executions/{executionId}/callback",
    "/events",
    "/events/{eventId}",
    "/tools",
    "/tools/call",
    "/mcp",
    "/webhooks/{integrationId}/{connectionId}",
    "/triggers",
    "/triggers/{triggerId}",
];

fn doc() -> Value {
    dispatcher::app::openapi()
}

/// `/catalog/{integrationId}` → `/catalog/no-such-id`.
fn concrete(path: &str) -> String {
    path.split('{')
        .enumerate()
        .map(|(i, s)| match (i, s.split_once('}')) {
            (0, _) | (_, None) => s.to_string(),
            (_, Some((_, rest))) => format!("no-such-id{rest}"),
        })
        .collect()
}

/// `GET /openapi.json`, without an API key.
async fn served(h: &Harness) -> Value {
    let resp = h
        .http
        .get(format!("{}/openapi.json", h.base))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/json");
    resp.json().await.expect("JSON")
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(m) {
                out.push((path.clone(), m.to_string(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_lists_exactly_the_routers_paths() {
    let h = Harness::start().await;
    // The live router serves the document built with it.
    let served = served(&h).await;
    assert_eq!(served, doc());
    let documented: BTreeSet<&str> = served["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(documented, BTreeSet::from(ROUTES));
    // Every route is routed, and paths beside them are not.
    for path in ROUTES {
        let (status, body) = h.call(Method::GET, &concrete(path), "t1", None).await;
        let unrouted = status == StatusCode::NOT_FOUND && body["error"]["code"] == "NOT_FOUND";
        assert!(
            !unrouted,
            "GET {path}: documented but unrouted: {status} {body}"
        );
    }
    for path in ["/", "/catalogs", "/executions/x/y/z", "/tools/call/x"] {
        let (status, body) = h.call(Method::GET, path, "t1", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}: {body}");
        assert_eq!(body["error"]["code"], "NOT_FOUND", "GET {path}: {body}");
    }
}

/// `integrations openapi` prints the document for readers, without a service or a store.
#[test]
fn the_command_prints_the_served_document() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_integrations-under-test"))
        .arg("openapi")
        .output()
        .expect("the command runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(printed, doc());
}

/// Checks the structure of an OpenAPI 3.1 document (the parts this API uses), compiled by the
/// catalog's JSON Schema validator.
fn openapi_rules() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["openapi", "info", "paths", "components"],
        "properties": {
            "openapi": {"type": "string", "pattern": "^3\\.1\\.[0-9]+$"},
            "info": {"type": "object", "required": ["title", "version"],
                     "properties": {"title": {"type": "string"}, "version": {"type": "string"}}},
            "security": {"$ref": "#/$defs/security"},
            "paths": {"type": "object",
                      "propertyNames": {"pattern": "^/"},
                      "additionalProperties": {"$ref": "#/$defs/pathItem"}},
            "components": {"type": "object", "properties": {
                "schemas": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}},
                "responses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/response"}},
                "securitySchemes": {"type": "object", "additionalProperties": {
                    "type": "object", "required": ["type"],
                    "properties": {"type": {"enum": ["apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"]}}}}
            }}
        },
        "patternProperties": {"^x-": {}},
        "$defs": {
            "security": {"type": "array", "items": {"type": "object",
                         "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
            "parameter": {"type": "object", "required": ["name", "in"],
                "properties": {"name": {"type": "string"}, "in": {"enum": ["query", "header", "path", "cookie"]},
                               "required": {"type": "boolean"}, "schema": {"type": ["object", "boolean"]}},
                "if": {"properties": {"in": {"const": "path"}}},
                "then": {"required": ["required"], "properties": {"required": {"const": true}}}},
            "ref": {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}},
            "response": {"type": "object", "required": ["description"],
                "properties": {"content": {"type": "object"}, "headers": {"type": "object"}}},
            "operation": {"type": "object", "required": ["responses", "operationId"],
                "properties": {
                    "operationId": {"type": "string"},
                    "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameter"}},
                    "requestBody": {"type": "object", "required": ["content"]},
                    "responses": {"type": "object", "minProperties": 1,
                        "propertyNames": {"pattern": "^([1-5][0-9]{2}|default)$"},
                        "additionalProperties": {"oneOf": [{"$ref": "#/$defs/ref"}, {"$ref": "#/$defs/response"}]}},
                    "security": {"$ref": "#/$defs/security"}
                }},
            "pathItem": {"type": "object",
                "propertyNames": {"enum": ["summary", "description", "parameters", "get", "put", "post",
                                           "delete", "options", "head", "patch", "trace", "servers"]},
                "properties": {
                    "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameter"}},
                    "get": {"$ref": "#/$defs/operation"}, "post": {"$ref": "#/$defs/operation"},
                    "put": {"$ref": "#/$defs/operation"}, "patch": {"$ref": "#/$defs/operation"},
                    "delete": {"$ref": "#/$defs/operation"}
                }}
        }
    })
}

/// Compile `schema` with the catalog's JSON Schema validator (which refuses invalid schemas)
/// and validate `instance` against it.
fn check(name: &str, schema: &Value, instance: &Value) -> Result<(), String> {
    let meta = schema_files()
        .iter()
        .find(|(p, _)| *p == "integration.schema.json")
        .expect("meta-schema")
        .1;
    let path = format!("messages/{name}.schema.json");
    let text = schema.to_string();
    let catalog = Catalog::from_files([("integration.schema.json", meta), (path.as_str(), &text)])
        .map_err(|e| format!("{name} is not a valid JSON Schema: {}", e.message))?;
    let validator = catalog.message_schema(name).map_err(|e| e.message)?;
    integrations_core::catalog::validate(validator, instance, name).map_err(|e| e.message)
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_a_valid_openapi_3_1_document() {
    let doc = doc();
    check("openapi-rules", &openapi_rules(), &doc).expect("OpenAPI 3.1 structure");

    // Every reference resolves inside the document.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20);
    for r in &refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r}: only local references"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }

    // The component schemas are valid JSON Schemas (2020-12, the OpenAPI 3.1 dialect), with
    // their references rewritten to where they are compiled.
    let schemas = doc["components"]["schemas"].clone();
    let text = schemas
        .to_string()
        .replace("#/components/schemas/", "#/$defs/");
    let defs: Value = serde_json::from_str(&text).expect("JSON");
    let every: Vec<Value> = defs
        .as_object()
        .expect("schemas")
        .keys()
        .map(|name| json!({"$ref": format!("#/$defs/{name}")}))
        .collect();
    let schema = json!({"$defs": defs, "anyOf": every});
    if let Err(e) = check("components", &schema, &json!({})) {
        assert!(!e.contains("not a valid JSON Schema"), "{e}");
    }

    // The error envelope reuses the published message schema.
    let mut published: Value = serde_json::from_str(
        schema_files()
            .iter()
            .find(|(p, _)| *p == "messages/error.schema.json")
            .expect("error schema")
            .1,
    )
    .expect("JSON");
    for k in ["$schema", "$id", "title"] {
        published.as_object_mut().expect("object").remove(k);
    }
    assert_eq!(doc["components"]["schemas"]["Error"], published);

    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let what = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].to_string()),
            "{what}: duplicate operationId"
        );
        // Every template parameter is declared as a path parameter.
        let declared: BTreeSet<String> = doc["paths"][&path]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(op["parameters"].as_array().into_iter().flatten())
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect();
        let in_template: BTreeSet<String> = path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next().map(String::from))
            .collect();
        assert_eq!(declared, in_template, "{what}: path parameters");
        // Public routes say so; every other route documents its authentication errors.
        let public = PUBLIC.contains(&path.as_str());
        assert_eq!(op["security"] == json!([]), public, "{what}: security");
        if !public && path != "/mcp" {
            for code in ["400", "401", "403", "500", "503"] {
                assert!(op["responses"].get(code).is_some(), "{what}: no {code}");
            }
        }
    }
}

#[tokio::test]
async fn the_router_answers_exactly_the_documented_methods() {
    let h = Harness::start().await;
    let doc = doc();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = concrete(path);
        for m in METHODS {
            let documented = item.get(m).is_some();
            if path == "/mcp" && !(documented && m == "post") {
                continue; // rmcp's own transport: only check that it is there
            }
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).expect("method");
            let (status, body) = h.call(method, &concrete, "t1", None).await;
            let unrouted = status == StatusCode::NOT_FOUND && body["error"]["code"] == "NOT_FOUND";
            if documented {
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && !unrouted,
                    "{m} {concrete}: documented but answers {status} {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{m} {concrete}: not documented but answers {body}"
                );
            }
        }
    }
    assert_eq!(served(&h).await, doc);
}

fn schemathesis() -> Option<String> {
    match std::env::var(SCHEMATHESIS_VAR) {
        Ok(p) if !p.trim().is_empty() => Some(p),
        _ => {
            eprintln!("note: {SCHEMATHESIS_VAR} is unset, so schemathesis is not run (scripts/test.sh sets it)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_response_off_the_document() {
    let Some(schemathesis) = schemathesis() else {
        return;
    };
    let h = Harness::start().await;
    // Real data behind the listings: a connection, a finished execution and one with a
    // callback, so that their answers are checked against the document too.
    let connection = h.create_connection("t1").await;
    let body = json!({"connectionId": connection, "actionId": "calculate_fee",
                      "input": fee_input(), "waitMs": 10000,
                      "callbackUrl": "https://callbacks.invalid/hook"});
    let (status, done) = h.execute("t1", body).await;
    assert_eq!(status, StatusCode::OK, "{done}");

    let url = format!("{}/openapi.json", h.base);
    let auth = format!("Authorization: Bearer {}", h.key);
    let run = tokio::process::Command::new(&schemathesis)
        .args(["run", &url, "-H", &auth, "-H", "X-Tenant-Id: t1"])
        .args([
            // Every check (no 5xx; status codes, content types, headers and bodies as
            // documented; invalid requests refused; 401 without the key; 405 with Allow for
            // other methods; a deleted connection is gone) but positive_data_acceptance: a
            // schema cannot say which ids exist, which secret fields an integration takes, or
            // that a cursor came from this API.
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--max-examples",
            "30",
            "--exclude-path",
            "/mcp",
            "--request-timeout",
            "35",
            // One worker: CPython 3.11's ast.parse is not thread-safe (gh-106905), and
            // hypothesis parses sources while describing strategies.
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
        ])
        .current_dir(h.dir.path())
        .kill_on_drop(true)
        .output();
    // Within nextest's limit (5 × 60 s), so that a hang fails here with this message; a run
    // takes ~10 s.
    let out = tokio::time::timeout(Duration::from_secs(240), run)
        .await
        .expect("schemathesis finishes within 240 s")
        .expect("schemathesis starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{stderr}",
        out.status
    );
    eprintln!("{stdout}");
}
