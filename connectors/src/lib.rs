//! Provider connectors, one folder each, and the shared HTTP kit they are built on.

mod fields;
pub mod ghn;
pub mod http;

use std::sync::Arc;

use integrations_core::connector::Connectors;

pub use http::ConnectorSettings;

/// Every connector this build ships, explicitly listed.
pub fn registry(settings: &ConnectorSettings) -> Connectors {
    Connectors::new(vec![Arc::new(ghn::GhnConnector::new(settings))])
}
