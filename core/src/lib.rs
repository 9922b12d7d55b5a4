//! The integrations service core: domain model, errors, backend traits, catalog and engine.
//! No infrastructure types (AWS, SQLite) appear here.

pub mod backend;
pub mod connector;
pub mod error;
pub mod model;

pub use error::{Error, ErrorBody, ErrorKind, Result};
