//! Payment connectors: MoMo, ZaloPay, VNPay (Vietnam) and Stripe, one folder each on the kit.
//!
//! What they share: the sandbox/production switch, and time derived from the execution id.
//! Execution ids are ULIDs, whose first 48 bits are the creation time: keys that must carry a
//! date (ZaloPay's `yymmdd_…` ids, VNPay's creation date) take it from the id, so every
//! attempt of one execution sends the same key even across midnight.

pub mod momo;
pub mod stripe;
pub mod vnpay;
pub mod zalopay;

#[cfg(test)]
mod outputs_tests;
#[cfg(test)]
mod signing_proptests;
#[cfg(test)]
pub(crate) mod test_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Environment {
    #[default]
    Sandbox,
    Production,
}

impl Environment {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The creation time of a ULID execution id; now for ids that are not ULIDs (tests, producers
/// with their own ids), which only loses the cross-midnight stability.
pub(crate) fn execution_time(execution_id: &str) -> DateTime<Utc> {
    let head = execution_id.as_bytes().get(..10);
    let ms = head.and_then(|h| {
        h.iter().try_fold(0i64, |acc, c| {
            let d = CROCKFORD
                .iter()
                .position(|x| x == &c.to_ascii_uppercase())?;
            Some(acc * 32 + i64::try_from(d).ok()?)
        })
    });
    ms.and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        // A 10-character prefix of an arbitrary id can decode to a far-off date: keep only
        // plausible ones (after 2020, not in the future by more than a day).
        .filter(|t| t.timestamp() > 1_577_836_800 && *t < Utc::now() + Duration::days(1))
        .unwrap_or_else(Utc::now)
}

/// `format` of `t` in Vietnam time (GMT+7, no daylight saving), as Vietnamese providers date
/// things.
pub(crate) fn vietnam(t: DateTime<Utc>, format: &str) -> String {
    (t + Duration::hours(7)).format(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 10-character Crockford time prefix of a ULID for `ms`.
    pub(crate) fn ulid_prefix(ms: i64) -> String {
        (0..10)
            .rev()
            .map(|i| CROCKFORD[usize::try_from((ms >> (5 * i)) & 31).unwrap_or(0)] as char)
            .collect()
    }

    /// Each payment connector's action table lists exactly its catalog actions, with the
    /// catalog's provider keys loaded.
    #[test]
    fn action_tables_match_the_catalog() {
        let catalog = integrations_core::catalog::Catalog::embedded().expect("catalog");
        let settings = crate::ConnectorSettings::new().expect("HTTP client");
        momo::MomoConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("MoMo");
        zalopay::ZaloPayConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("ZaloPay");
        vnpay::VnpayConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("VNPay");
        stripe::StripeConnector::new(&settings)
            .actions()
            .check_catalog(&catalog)
            .expect("Stripe");
    }

    #[test]
    fn ulid_execution_ids_give_their_creation_time() {
        // 2024-01-01T16:30:00Z is 2024-01-01 23:30 in Vietnam.
        let ms = 1_704_126_600_000;
        let t = execution_time(&format!("{}ABCDEFGHJKMNPQRS", ulid_prefix(ms)));
        assert_eq!(t.timestamp_millis(), ms);
        assert_eq!(vietnam(t, "%y%m%d %H:%M"), "240101 23:30");
        let now = Utc::now();
        assert!(execution_time("not-a-ulid") >= now - Duration::seconds(5));
        let id = integrations_core::model::new_id();
        assert!((execution_time(&id) - now).num_seconds().abs() < 5);
    }
}
