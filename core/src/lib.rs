//! The integrations service core: domain model, errors, backend traits, catalog and engine.
//! No infrastructure types (AWS, SQLite) appear here.

pub mod backend;
pub mod cache;
pub mod catalog;
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
pub mod sanitize;
pub mod trace;

pub use error::{Error, ErrorBody, ErrorKind, Result};
