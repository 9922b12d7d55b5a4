//! The integrations service core: domain model, errors, backend traits, catalog and engine.
//! No infrastructure types (AWS, SQLite) appear here.

pub mod backend;
pub mod batch;
pub mod cache;
pub mod callbacks;
pub mod caller_secrets;
pub mod catalog;
pub mod completion;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod connector;
pub mod dead_letters;
pub mod engine;
pub mod error;
pub mod limits;
pub mod model;
pub mod outbound;
pub mod outbox;
pub mod renewal;
pub mod resolve;
pub mod sanitize;
pub mod signing;
pub mod trace;
pub mod triggers;
pub mod webhooks;

pub use error::{Error, ErrorBody, ErrorKind, Result};
