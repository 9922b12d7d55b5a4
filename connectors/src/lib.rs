//! Provider connectors.
