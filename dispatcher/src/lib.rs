//! The dispatcher: the HTTP API (catalog, connections, execute, executions, health, metrics)
//! and the `integrations` command that runs the API, the workers, or both.

pub mod admission;
pub mod app;
pub mod auth;
pub mod callback_secret;
pub mod cli;
pub mod config;
pub mod dead_letters;
pub mod enqueue;
pub mod error;
pub mod extract;
pub mod keys;
pub mod mcp;
pub mod migrate_layout;
pub mod oauth;
pub mod openapi;
pub mod routes;
pub mod service;
pub mod submit;
pub mod telemetry;
pub mod triggers;
pub mod waiters;
