//! Provider keys with a format of their own: a connector declares, per action, how the value
//! the catalog's `providerField` carries is built from the execution id ([`KeyFormat`]), and
//! the kit renders and places it ([`super::ActionCall::keyed_with`]). The rendering depends
//! only on the execution id (and connection parameters), so every attempt sends the same key.

use chrono::{DateTime, Duration, TimeZone, Utc};
use integrations_core::{Error, Result};

/// One piece of a key, concatenated in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    Text(&'static str),
    ExecutionId,
    /// The execution's creation time (from its ULID, see [`execution_time`]) as `format`
    /// (strftime) at a fixed UTC offset: a key carrying a date keeps it across midnight.
    CreatedOn {
        format: &'static str,
        utc_offset_hours: i64,
    },
    /// A connection value the connector passes in (ZaloPay's app_id).
    Param(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFormat(pub &'static [KeyPart]);

impl KeyFormat {
    pub fn render(&self, execution_id: &str, params: &[(&str, &str)]) -> Result<String> {
        let mut out = String::new();
        for part in self.0 {
            match part {
                KeyPart::Text(t) => out.push_str(t),
                KeyPart::ExecutionId => out.push_str(execution_id),
                KeyPart::CreatedOn {
                    format,
                    utc_offset_hours,
                } => {
                    let local = execution_time(execution_id) + Duration::hours(*utc_offset_hours);
                    out.push_str(&local.format(format).to_string());
                }
                KeyPart::Param(name) => {
                    let (_, v) = params.iter().find(|(n, _)| n == name).ok_or_else(|| {
                        Error::internal(format!("provider key: parameter '{name}' not given"))
                    })?;
                    out.push_str(v);
                }
            }
        }
        Ok(out)
    }
}

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The creation time of a ULID execution id (its first 48 bits); now for ids that are not
/// ULIDs (tests, producers with their own ids), which only loses the cross-midnight stability.
pub fn execution_time(execution_id: &str) -> DateTime<Utc> {
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

/// The 10-character Crockford time prefix of a ULID for `ms` (tests build dated ids with it).
#[cfg(test)]
pub(crate) fn ulid_prefix(ms: i64) -> String {
    (0..10)
        .rev()
        .map(|i| CROCKFORD[usize::try_from((ms >> (5 * i)) & 31).unwrap_or(0)] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATED: KeyFormat = KeyFormat(&[
        KeyPart::CreatedOn {
            format: "%y%m%d",
            utc_offset_hours: 7,
        },
        KeyPart::Text("_"),
        KeyPart::Param("shop"),
        KeyPart::Text("_"),
        KeyPart::ExecutionId,
    ]);

    #[test]
    fn a_format_renders_the_ids_own_date_and_parameters() {
        // 2024-01-01T18:30:00Z is already 2 January at UTC+7.
        let id = format!("{}ABCDEFGHJKMNPQRS", ulid_prefix(1_704_133_800_000));
        let key = DATED.render(&id, &[("shop", "885")]).expect("renders");
        assert_eq!(key, format!("240102_885_{id}"));
        assert_eq!(DATED.render(&id, &[("shop", "885")]).ok(), Some(key));
        let e = DATED.render(&id, &[]).expect_err("no shop");
        assert!(e.message.contains("'shop'"), "{e}");
    }
}
