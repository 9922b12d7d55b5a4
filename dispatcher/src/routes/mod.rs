//! Route handlers, one module per resource.

pub mod catalog;
pub mod connections;
pub mod events;
pub mod executions;
pub mod tools;
pub mod triggers;
pub mod webhooks;
