//! AWS backend.
