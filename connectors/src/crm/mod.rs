//! CRMs, one folder each, on the connector kit.

pub mod hubspot;
