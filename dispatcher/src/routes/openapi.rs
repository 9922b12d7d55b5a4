//! `GET /openapi.json`: the OpenAPI 3.1 document of the HTTP API (`dispatcher/openapi.json`),
//! served unauthenticated. tests/tests/openapi.rs checks that it lists exactly the router's
//! routes and runs schemathesis against the live service with it.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as written in `dispatcher/openapi.json`.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
