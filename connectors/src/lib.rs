//! Provider connectors, one folder each, built on the connector kit ([`kit`]) and its HTTP
//! transport ([`http`]). How to add one: `connectors/README.md`.

mod fields;
pub mod ghn;
pub mod http;
pub mod kit;
pub mod payment;
pub mod shipping;

use std::sync::Arc;

use integrations_core::connector::Connectors;

pub use http::ConnectorSettings;

/// Every connector this build ships, explicitly listed.
pub fn registry(settings: &ConnectorSettings) -> Connectors {
    Connectors::new(vec![
        Arc::new(ghn::GhnConnector::new(settings)),
        Arc::new(shipping::ghtk::GhtkConnector::new(settings)),
        Arc::new(shipping::viettelpost::ViettelPostConnector::new(settings)),
        Arc::new(payment::momo::MomoConnector::new(settings)),
        Arc::new(payment::zalopay::ZaloPayConnector::new(settings)),
        Arc::new(payment::vnpay::VnpayConnector::new(settings)),
        Arc::new(payment::stripe::StripeConnector::new(settings)),
    ])
}

#[cfg(test)]
mod tests {
    use integrations_core::catalog::Catalog;

    use super::*;

    /// Every connector's action table lists exactly the catalog's actions, with the catalog's
    /// provider keys loaded; every registered connector has a catalog entry and every catalog
    /// integration a connector.
    #[test]
    fn action_tables_and_the_catalog_agree() {
        let catalog = Catalog::embedded().expect("embedded catalog");
        let settings = ConnectorSettings::new().expect("HTTP client");
        ghn::GhnConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("GHN table matches the catalog");
        shipping::ghtk::GhtkConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("GHTK table matches the catalog");
        shipping::viettelpost::ViettelPostConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("Viettel Post table matches the catalog");
        let registered: Vec<&str> = registry(&settings).ids().collect();
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
            7,
            "GHN, GHTK, Viettel Post, MoMo, ZaloPay, VNPay, Stripe"
        );
    }
}
