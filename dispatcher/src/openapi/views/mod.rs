//! The JSON bodies the handlers answer with. Connections, executions, tool listings and
//! `/healthz` answer with these types, serialized, so their answers and their schemas cannot
//! disagree. Tool answers and catalog documents are assembled with serde_json where they are built (and
//! shared with the MCP server); [`described`] only describes them, and schemathesis holds the
//! live service's answers to those descriptions (tests/tests/openapi.rs), `deny_unknown_fields`
//! making it refuse a field they do not list.

mod connections;
mod described;
mod events;
mod executions;
mod tools;
mod triggers;

pub use connections::*;
pub use described::*;
pub use events::*;
pub use executions::*;
pub use tools::*;
pub use triggers::*;

use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

/// A date-time as the records serialize it (RFC 3339).
type Timestamp = chrono::DateTime<chrono::Utc>;

fn always(value: Value, of: Type) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(of)
        .enum_values(Some([value]))
        .into()
}

fn always_ok() -> RefOr<Schema> {
    always("ok".into(), Type::String)
}

fn always_true() -> RefOr<Schema> {
    always(true.into(), Type::Boolean)
}
