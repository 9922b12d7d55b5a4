//! Conversions between model values and column values: timestamps as integer milliseconds,
//! structured values as JSON text.

use chrono::DateTime;
use integrations_core::model::Timestamp;
use integrations_core::Error;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::DbResult;

pub(crate) fn ms(t: Timestamp) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

pub(crate) fn ts(ms: i64) -> DbResult<Timestamp> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::internal(format!("stored timestamp {ms} is out of range")).into())
}

pub(crate) fn opt_ts(ms: Option<i64>) -> DbResult<Option<Timestamp>> {
    ms.map(ts).transpose()
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> DbResult<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::internal(format!("cannot serialize a stored value: {e}")).into())
}

pub(crate) fn opt_json<T: Serialize>(value: Option<&T>) -> DbResult<Option<String>> {
    value.map(to_json).transpose()
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str) -> DbResult<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::internal(format!("a stored value is not valid: {e}")).into())
}

pub(crate) fn opt_from_json<T: DeserializeOwned>(text: Option<String>) -> DbResult<Option<T>> {
    text.as_deref().map(from_json).transpose()
}

/// Durations as milliseconds, saturating (a visibility of years is as good as forever).
pub(crate) fn duration_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}
