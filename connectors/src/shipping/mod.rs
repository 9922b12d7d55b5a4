//! Shipping carriers besides GHN, one folder each, on the connector kit.

pub mod ghtk;
pub mod viettelpost;
