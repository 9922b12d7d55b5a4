//! E-commerce platforms, one folder each, on the connector kit.

pub mod shopify;
