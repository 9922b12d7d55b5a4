//! Provider connectors, one folder each, built on the connector kit ([`kit`]) and its HTTP
//! transport ([`http`]). How to add one: `connectors/README.md`.

mod fields;
pub mod ghn;
pub mod http;
pub mod kit;

use std::sync::Arc;

use integrations_core::connector::Connectors;

pub use http::ConnectorSettings;

/// Every connector this build ships, explicitly listed.
pub fn registry(settings: &ConnectorSettings) -> Connectors {
    Connectors::new(vec![Arc::new(ghn::GhnConnector::new(settings))])
}

#[cfg(test)]
mod tests {
    use integrations_core::catalog::Catalog;

    use super::*;

    /// Every connector's action table lists exactly the catalog's actions, with the catalog's
    /// provider keys loaded; and every registered connector has a catalog entry.
    #[test]
    fn action_tables_and_the_catalog_agree() {
        let catalog = Catalog::embedded().expect("embedded catalog");
        let settings = ConnectorSettings::new();
        ghn::GhnConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("GHN table matches the catalog");
        for id in registry(&settings).ids() {
            assert!(
                catalog.integration(id).is_ok(),
                "{id} is not in the catalog"
            );
        }
    }
}
