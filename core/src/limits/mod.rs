//! Rate limits and circuit breakers. Both answer "wait this long" rather than "fail": the engine
//! delays the execution, and a delay is not an attempt.
//!
//! Rate limits are fleet-wide ([`fleet`]: token buckets in the store, [`bucket`] their
//! arithmetic); providers' 429s (with Retry-After) are honoured by the retry path regardless.
//!
//! Breakers are fleet-wide too ([`breakers`]: one per integration, over named leases), and so
//! are tenants' in-flight caps ([`in_flight`]: each cap cut into blocks held as named leases).

pub mod breakers;
pub mod bucket;
pub mod fleet;
pub mod in_flight;

pub use breakers::{BreakerConfig, Breakers};
pub use bucket::{Bucket, BucketLimit, Grant};
pub use fleet::FleetLimits;
pub use in_flight::{InFlightSlot, InFlightSlots};
