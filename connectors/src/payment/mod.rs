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

use chrono::{DateTime, Duration, Utc};
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

pub(crate) use crate::kit::key::execution_time;

/// `format` of `t` in Vietnam time (GMT+7, no daylight saving), as Vietnamese providers date
/// things.
pub(crate) fn vietnam(t: DateTime<Utc>, format: &str) -> String {
    (t + Duration::hours(7)).format(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) use crate::kit::key::ulid_prefix;

    /// Each payment connector's action table lists exactly its catalog actions, with the
    /// catalog's provider keys loaded, and its auth strategy is its catalog authType.
    #[test]
    fn action_tables_match_the_catalog() {
        use crate::Checked;
        let catalog = crate::testing::catalog();
        let settings = crate::ConnectorSettings::new().expect("HTTP client");
        momo::MomoConnector::new(&settings)
            .check(catalog)
            .expect("MoMo");
        zalopay::ZaloPayConnector::new(&settings)
            .check(catalog)
            .expect("ZaloPay");
        vnpay::VnpayConnector::new(&settings)
            .check(catalog)
            .expect("VNPay");
        stripe::StripeConnector::new(&settings)
            .check(catalog)
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

/// Building webhook requests in the verifiers' tests.
#[cfg(test)]
pub(crate) mod webhook_tests {
    use integrations_core::model::Credentials;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    pub(crate) fn credentials(pairs: &[(&str, &str)]) -> Credentials {
        Credentials(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    pub(crate) fn request(headers: &[(&str, &str)]) -> HeaderMap {
        headers
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                    HeaderValue::from_str(v).expect("header value"),
                )
            })
            .collect()
    }
}
