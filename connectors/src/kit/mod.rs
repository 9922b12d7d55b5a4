//! The connector kit: what every provider connector is built from, so that adding one is
//! mostly its definition (protocol table, auth, typed config, action table) and field mapping.
//!
//! - [`request`]: any method, path, query, and JSON, form or raw bodies, encoded to the exact
//!   bytes sent ([`request::Outgoing`]).
//! - [`auth`]: the closed set of auth strategies, chosen by the catalog's `authType` from the
//!   parameters a connector declares ([`auth::AuthSpec`]) and applied by the [`auth::Signer`]
//!   hook to the outgoing request; login-then-token with fleet-wide renewal
//!   ([`auth::TokenAuth`]); [`sign`] holds the HMAC/digest primitives and canonical helpers.
//! - [`protocol`]: the provider's envelope and result-code table; [`protocol::interpret`] turns
//!   any reply into data or a classified error.
//! - [`client`]: one provider for one call (base URL, auth, protocol, the action's deadline).
//! - [`config`]: typed connection config and [`config::Secret`].
//! - [`actions`]: the action table, checked against the catalog, applying its providerField;
//!   [`key`]: keys whose value has a provider format (a date prefix), declared per action.
//! - A connector's shell: [`kit_connector!`] for static credentials, [`token_connector`] for
//!   tokens from a login or an OAuth2 grant.

pub mod actions;
pub mod auth;
pub mod client;
pub mod config;
pub mod key;
pub mod protocol;
pub mod request;
pub mod sign;
pub mod token_connector;

pub use actions::{Action, ActionCall, ActionFuture, Actions, ProviderKey};
pub use auth::{
    Auth, AuthSpec, HmacAuth, KeyPlace, LoginInput, LoginStep, LoginTarget, SignaturePlace, Signer,
    TokenAuth, TokenLogin,
};
pub use client::ProviderClient;
pub use config::Secret;
pub use key::{KeyFormat, KeyPart};
pub use protocol::{Envelope, Match, Protocol, ResultCode};
pub use request::{Body, Outgoing, Request};
pub use token_connector::{TokenApi, TokenConnector};

/// A connector's struct and constructor, the same for every provider built on the kit: the
/// shared HTTP client, the operator's base-URL override, the action table (with the optional
/// last argument's key formats), the auth parameters, `check(catalog)` for the registry, and
/// `api(ctx)` to build the provider's per-call API (`$api::new(http, base_url_override, ctx,
/// auth)`, `auth` chosen by the catalog's authType).
#[macro_export]
macro_rules! kit_connector {
    ($connector:ident, $api:ty, $integration_id:expr, $table:expr, $auth:expr $(, $formats:expr)?) => {
        pub struct $connector {
            http: reqwest::Client,
            base_url_override: Option<String>,
            actions: $crate::kit::Actions<$api>,
            auth: $crate::kit::AuthSpec,
        }

        impl $connector {
            pub fn new(settings: &$crate::http::ConnectorSettings) -> Self {
                Self {
                    http: settings.client_for($integration_id).clone(),
                    base_url_override: settings.base_url($integration_id).map(str::to_string),
                    actions: $crate::kit::Actions::new($integration_id, $table)
                        $(.with_key_formats($formats))?,
                    auth: $auth,
                }
            }

            fn api(
                &self,
                ctx: &integrations_core::connector::CallContext<'_>,
            ) -> integrations_core::Result<$api> {
                let auth = self.auth.select($integration_id, ctx)?;
                <$api>::new(&self.http, self.base_url_override.as_deref(), ctx, auth)
            }
        }

        impl $crate::Checked for $connector {
            fn check(
                &self,
                catalog: &integrations_core::catalog::Catalog,
            ) -> integrations_core::Result<()> {
                self.actions.check_catalog(catalog)?;
                self.auth.check($integration_id, catalog)
            }
        }
    };
}
