//! The connector kit: what every provider connector is built from, so that adding one is
//! mostly its definition (protocol table, auth, typed config, action table) and field mapping.
//!
//! - [`request`]: any method, path, query, and JSON, form or raw bodies, encoded to the exact
//!   bytes sent ([`request::Outgoing`]).
//! - [`auth`]: the closed set of auth strategies, applied by the [`auth::Signer`] hook to the
//!   outgoing request; [`sign`] holds the HMAC/digest primitives and canonical-string helpers.
//! - [`protocol`]: the provider's envelope and result-code table; [`protocol::interpret`] turns
//!   any reply into data or a classified error.
//! - [`client`]: one provider for one call (base URL, auth, protocol, the action's deadline).
//! - [`config`]: typed connection config and [`config::Secret`].
//! - [`actions`]: the action table, checked against the catalog, applying its providerField.

pub mod actions;
pub mod auth;
pub mod client;
pub mod config;
pub mod protocol;
pub mod request;
pub mod sign;

pub use actions::{Action, ActionCall, ActionFuture, Actions, ProviderKey};
pub use auth::{Auth, HmacAuth, SignaturePlace, Signer};
pub use client::ProviderClient;
pub use config::Secret;
pub use protocol::{Envelope, Match, Protocol, ResultCode};
pub use request::{Body, Outgoing, Request};
