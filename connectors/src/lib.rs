//! Provider connectors, one folder each, built on the connector kit ([`kit`]) and its HTTP
//! transport ([`http`]). How to add one: `connectors/README.md`.

pub mod crm;
pub mod ecommerce;
mod fields;
pub mod ghn;
pub mod http;
pub mod kit;
pub mod payment;
pub mod shipping;
#[cfg(test)]
mod testing;
pub mod webhook;

use std::sync::Arc;

use integrations_core::catalog::Catalog;
use integrations_core::connector::{Connector, Connectors};
use integrations_core::{Error, Result};

pub use http::ConnectorSettings;

/// A connector checked against the catalog when the registry is built: its action table, its
/// provider keys, and that its auth strategy is the catalog's authType.
pub trait Checked: Connector {
    fn check(&self, catalog: &Catalog) -> Result<()>;
}

fn checked(connector: impl Checked, catalog: &Catalog) -> Result<Arc<dyn Connector>> {
    connector.check(catalog)?;
    Ok(Arc::new(connector))
}

/// Every connector this build ships, explicitly listed, each checked against `catalog`: a
/// connector that disagrees with it (an action, a provider key, its auth strategy) fails the
/// start-up instead of failing calls.
pub fn try_registry(settings: &ConnectorSettings, catalog: &Catalog) -> Result<Connectors> {
    Ok(Connectors::new(vec![
        checked(ghn::GhnConnector::new(settings), catalog)?,
        checked(shipping::ghtk::GhtkConnector::new(settings), catalog)?,
        checked(
            shipping::viettelpost::ViettelPostConnector::new(settings),
            catalog,
        )?,
        checked(payment::momo::MomoConnector::new(settings), catalog)?,
        checked(payment::zalopay::ZaloPayConnector::new(settings), catalog)?,
        checked(payment::vnpay::VnpayConnector::new(settings), catalog)?,
        checked(payment::stripe::StripeConnector::new(settings), catalog)?,
        checked(
            ecommerce::woocommerce::WooCommerceConnector::new(settings),
            catalog,
        )?,
        checked(ecommerce::sapo::SapoConnector::new(settings), catalog)?,
        checked(ecommerce::haravan::HaravanConnector::new(settings), catalog)?,
        checked(
            ecommerce::prestashop::PrestaShopConnector::new(settings),
            catalog,
        )?,
        checked(ecommerce::shopify::ShopifyConnector::new(settings), catalog)?,
        checked(crm::hubspot::HubSpotConnector::new(settings), catalog)?,
    ]))
}

/// [`try_registry`] against the catalog embedded in this build. Both are compiled into the
/// binary, so a disagreement is a build defect: it stops the process at start-up with the
/// check's message (callers that can report an error use [`try_registry`]).
pub fn registry(settings: &ConnectorSettings) -> Connectors {
    Catalog::embedded()
        .and_then(|catalog| try_registry(settings, &catalog))
        .unwrap_or_else(|e: Error| panic!("the connector registry cannot start: {e}"))
}

#[cfg(test)]
mod tests {
    use integrations_core::catalog::{schema_files, Catalog};

    use super::*;

    /// The registry checks every connector against the catalog: action tables list exactly
    /// the catalog's actions with its provider keys loaded, auth strategies are the catalog's
    /// authTypes; every registered connector has a catalog entry and every catalog integration
    /// a connector.
    #[test]
    fn action_tables_and_the_catalog_agree() {
        let catalog = Catalog::embedded().expect("embedded catalog");
        let settings = ConnectorSettings::new().expect("HTTP client");
        let connectors = try_registry(&settings, &catalog).expect("every connector agrees");
        let registered: Vec<&str> = connectors.ids().collect();
        for id in &registered {
            assert!(
                catalog.integration(id).is_ok(),
                "{id} is not in the catalog"
            );
        }
        // And the other way: the catalog promises nothing the service cannot run.
        for integration in catalog.integrations() {
            assert!(
                registered.contains(&integration.integration_id.as_str()),
                "{} is in the catalog but has no connector",
                integration.integration_id
            );
        }
        assert_eq!(
            registered.len(),
            13,
            "GHN, GHTK, Viettel Post, MoMo, ZaloPay, VNPay, Stripe, WooCommerce, Sapo, Haravan, \
             PrestaShop, Shopify, HubSpot"
        );
        assert_eq!(registry(&settings).ids().count(), 13);
    }

    /// The embedded catalog with `integration_id`'s authType replaced.
    fn catalog_with_auth_type(integration_id: &str, auth_type: &str) -> Catalog {
        let files: Vec<(String, String)> = schema_files()
            .iter()
            .map(|(path, text)| {
                let mut doc: serde_json::Value = serde_json::from_str(text).expect("json");
                if doc["integrationId"] == integration_id {
                    doc["authType"] = auth_type.into();
                }
                (path.to_string(), doc.to_string())
            })
            .collect();
        Catalog::from_files(files.iter().map(|(p, t)| (p.as_str(), t.as_str())))
            .expect("still a valid catalog")
    }

    /// A connector whose declared strategy is not its catalog authType stops the registry,
    /// naming both; for a token_exchange connector as for the others.
    #[test]
    fn a_strategy_other_than_the_catalog_auth_type_fails_the_registry() {
        let settings = ConnectorSettings::new().expect("HTTP client");
        for (id, authtype, declared) in [
            ("shipping-ghn", "basic", "api_key"),
            ("shipping-viettelpost", "api_key", "token_exchange"),
            ("payment-momo", "token_exchange", "hmac"),
        ] {
            let catalog = catalog_with_auth_type(id, authtype);
            let e = try_registry(&settings, &catalog)
                .err()
                .unwrap_or_else(|| panic!("{id} with authType {authtype} must not start"));
            assert_eq!(
                e.message,
                format!(
                    "connector {id} declares the '{declared}' auth strategy but its catalog \
                     authType is '{authtype}'"
                ),
            );
        }
    }
}
