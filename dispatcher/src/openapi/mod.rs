//! The OpenAPI 3.1 document of the HTTP API, generated from the code: every route is declared
//! once, in [`crate::app`], with its handler's `#[utoipa::path]` (parameters, body, answers and
//! errors) through utoipa-axum's `routes!`, so the router and the document cannot disagree. The
//! request types are the handlers' own (their `deny_unknown_fields` becomes
//! `additionalProperties: false`); the answers are described in [`views`], the errors in
//! [`errors`]. Built once when the router is built and served unauthenticated at
//! `GET /openapi.json`. tests/tests/openapi.rs checks the document and runs schemathesis against
//! the live service with it.

pub mod errors;
pub mod views;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use integrations_core::catalog::schema_files;
use serde_json::Value;
use utoipa::openapi::path::{Operation, OperationBuilder, PathItem, PathItemBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, OpenApi, RefOr, Required, ResponseBuilder, Schema,
};
use utoipa::OpenApi as _;

use errors::{E400, E401, E403, E404, E409, E413, E422, E429, E500, E502, E503, E504};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Integrations service",
        version = "1.0.0",
        description = "Runs actions on third-party APIs for tenants (README.md, ARCHITECTURE.md). \
            All routes but /healthz, /metrics, /openapi.json and /webhooks/… (verified by each \
            provider's own signature, docs/webhooks.md) need Authorization: Bearer <key> \
            and X-Tenant-Id. Errors are {\"error\": {\"code\", \"message\", \"retryable\"}} \
            (schemas/messages/error.schema.json). Request bodies reject unknown fields, and \
            queries unknown parameters (400). Generated from the code (dispatcher/src/openapi/)."
    ),
    servers((url = "/")),
    security(("bearer" = [], "tenant" = [])),
    tags(
        (name = "catalog"),
        (name = "connections"),
        (name = "executions"),
        (name = "events"),
        (name = "tools"),
        (name = "webhooks"),
        (name = "triggers"),
        (name = "operations")
    ),
    components(
        responses(E400, E401, E403, E404, E409, E413, E422, E429, E500, E502, E503, E504),
        // Named only by query parameters, whose schemas utoipa does not collect.
        schemas(integrations_core::catalog::ActionCategory)
    )
)]
struct ApiDoc;

/// The whole document as JSON: `public` (routes served without an API key, marked so),
/// `authed`, the MCP transport mounted at `mcp_path`, the security schemes and the error
/// schemas.
pub fn document(public: OpenApi, authed: OpenApi, mcp_path: &str) -> Value {
    let mut doc =
        serde_json::to_value(merged(public, authed, mcp_path)).expect("the document serializes");
    camel_case_links(&mut doc);
    // utoipa has no field for it: the default dialect, stated rather than left to be assumed.
    doc["jsonSchemaDialect"] = "https://spec.openapis.org/oas/3.1/dialect/base".into();
    doc
}

/// utoipa 5 serializes a Link's fields in snake_case (`operation_id`); OpenAPI names them in
/// camelCase, and schemathesis follows links by `operationId`.
fn camel_case_links(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response.get_mut("links").and_then(Value::as_object_mut);
        for link in links.into_iter().flat_map(|l| l.values_mut()) {
            let Some(link) = link.as_object_mut() else {
                continue;
            };
            for (snake, camel) in [
                ("operation_ref", "operationRef"),
                ("operation_id", "operationId"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(snake) {
                    link.insert(camel.into(), v);
                }
            }
        }
    }
}

fn merged(mut public: OpenApi, authed: OpenApi, mcp_path: &str) -> OpenApi {
    for item in public.paths.paths.values_mut() {
        for op in operations_mut(item) {
            // An empty list, not the global requirement: no key needed.
            op.security = Some(Vec::new());
        }
    }
    let mut doc = ApiDoc::openapi();
    doc.merge(public);
    doc.merge(authed);
    doc.paths.paths.insert(mcp_path.to_string(), mcp_item());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key from `integrations create-key`."))
                .build(),
        ),
    );
    components.add_security_scheme(
        "tenant",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Tenant-Id",
            "The tenant acted for; must be in the key's scope. 1-128 characters of \
             A-Z a-z 0-9 - _ . :",
        ))),
    );
    // The API shows callback attempts exactly as core serializes them; core's type cannot say
    // so itself (it reads its own stored records leniently).
    if let Some(RefOr::T(Schema::Object(attempt))) = components.schemas.get_mut("CallbackAttempt") {
        attempt.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
    }
    components
        .schemas
        .insert("Error".into(), published_error().into());
    components
        .schemas
        .insert("ErrorEnvelope".into(), errors::envelope().into());
    doc
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// `schemas/messages/error.schema.json` as a component: the schema of every error body.
fn published_error() -> Schema {
    let text = schema_files()
        .iter()
        .find(|(path, _)| *path == "messages/error.schema.json")
        .map(|(_, text)| *text)
        .expect("core embeds messages/error.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(text).expect("error.schema.json is JSON");
    if let Some(obj) = schema.as_object_mut() {
        // Identity of the file, not of the component.
        for k in ["$schema", "$id", "title"] {
            obj.remove(k);
        }
    }
    serde_json::from_value(schema).expect("error.schema.json is an OpenAPI 3.1 schema")
}

/// `/mcp` is rmcp's Streamable HTTP service, not a handler: described here, at the level the
/// MCP specification leaves to itself.
fn mcp_item() -> PathItem {
    const DESCRIPTION: &str = "The MCP server (Streamable HTTP, rmcp) with the same tools as \
        GET /tools (docs/agents.md). Its messages are JSON-RPC as the MCP specification defines \
        them, not described here.";
    let operation = |id: &str, method: &str| {
        OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(format!("MCP Streamable HTTP ({method})")))
            .tag("tools")
            .description(Some(DESCRIPTION))
            .response(
                "default",
                ResponseBuilder::new().description(
                    "As the MCP specification's Streamable HTTP transport defines (JSON, \
                     text/event-stream, or an error envelope for authentication).",
                ),
            )
    };
    let body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(SchemaType::AnyValue)))
                .build(),
        );
    PathItemBuilder::new()
        .operation(HttpMethod::Get, operation("mcpGet", "GET").build())
        .operation(
            HttpMethod::Post,
            operation("mcpPost", "POST")
                .request_body(Some(body.build()))
                .build(),
        )
        .operation(HttpMethod::Delete, operation("mcpDelete", "DELETE").build())
        .build()
}

/// The document as served: serialized once.
#[derive(Clone)]
pub struct Served(Bytes);

impl Served {
    pub fn new(doc: &Value) -> Self {
        Self(Bytes::from(
            serde_json::to_vec(doc).expect("the document serializes"),
        ))
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object,
         content_type = "application/json")
    )
)]
pub async fn served(Extension(doc): Extension<Served>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], doc.0)
}
