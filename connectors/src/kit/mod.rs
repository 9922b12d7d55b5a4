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

/// A connector's struct and constructor, the same for every provider built on the kit: the
/// shared HTTP client, the operator's base-URL override, the action table, and `api(ctx)` to
/// build the provider's per-call API (`$api::new(http, base_url_override, ctx)`).
#[macro_export]
macro_rules! kit_connector {
    ($connector:ident, $api:ty, $integration_id:expr, $table:expr) => {
        pub struct $connector {
            http: reqwest::Client,
            base_url_override: Option<String>,
            actions: $crate::kit::Actions<$api>,
        }

        impl $connector {
            pub fn new(settings: &$crate::http::ConnectorSettings) -> Self {
                Self {
                    http: settings.client.clone(),
                    base_url_override: settings.base_url($integration_id).map(str::to_string),
                    actions: $crate::kit::Actions::new($integration_id, $table),
                }
            }

            #[cfg(test)]
            pub(crate) fn actions(&self) -> &$crate::kit::Actions<$api> {
                &self.actions
            }

            fn api(
                &self,
                ctx: &integrations_core::connector::CallContext<'_>,
            ) -> integrations_core::Result<$api> {
                <$api>::new(&self.http, self.base_url_override.as_deref(), ctx)
            }
        }
    };
}
