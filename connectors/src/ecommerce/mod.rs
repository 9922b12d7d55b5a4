//! Shop platforms, one folder each, on the connector kit. Most are hosted on the shop's own
//! domain, which the tenant chooses: their base URL goes through
//! [`crate::kit::config::tenant_base_url`] (https only), and they are called with the settings’
//! tenant client, which refuses non-public addresses when connecting
//! ([`crate::http::ConnectorSettings::client_for`]).

mod admin_api;
pub mod haravan;
pub mod prestashop;
pub mod sapo;
pub mod shopify;
pub mod webhook;
pub mod woocommerce;

#[cfg(test)]
mod outputs_tests;
