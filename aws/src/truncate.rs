//! Outputs too large for a DynamoDB item (400 KB) or an EventBridge entry (256 KB) are stored
//! truncated, with a flag, rather than refused: the action has already run, and failing to record
//! its result would only make the worker retry a completed action.

use integrations_core::model::ResultEvent;
use serde_json::{json, Value};

/// EventBridge accepts 256 KB per PutEvents request (and so per entry); an event this size
/// leaves room for the entry's other fields.
pub(crate) const EVENT_BUDGET: usize = 240 * 1024;

/// The key that marks a truncated output: `{"_truncated": true, "originalBytes": n,
/// "preview": "<the start of the JSON text>"}`.
pub const TRUNCATED_FLAG: &str = "_truncated";

/// The serialized length of a JSON value.
pub(crate) fn json_len(value: &Value) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.len())
}

/// `value` itself when its JSON text fits in `max_bytes`, else the truncation marker with as
/// much of the text as fits. The result's JSON text is at most `max_bytes` long (and at least
/// the marker with an empty preview).
pub(crate) fn fit(value: &Value, max_bytes: usize) -> (Value, bool) {
    let text = match serde_json::to_string(value) {
        Ok(t) if t.len() > max_bytes => t,
        _ => return (value.clone(), false),
    };
    let mut keep = max_bytes.saturating_sub(100);
    loop {
        let preview = prefix(&text, keep);
        let marker = json!({
            TRUNCATED_FLAG: true,
            "originalBytes": text.len(),
            "preview": preview,
        });
        let len = json_len(&marker);
        if len <= max_bytes || keep == 0 {
            return (marker, true);
        }
        // Escaping made the preview longer than its source: shrink by the excess.
        keep = keep.saturating_sub(len - max_bytes + 16);
    }
}

/// The event with its output truncated so that its JSON fits in [`EVENT_BUDGET`].
pub(crate) fn fit_event(event: &ResultEvent) -> ResultEvent {
    let mut event = event.clone();
    let Some(output) = &event.output else {
        return event;
    };
    let total = serde_json::to_string(&event).map_or(0, |t| t.len());
    if total <= EVENT_BUDGET {
        return event;
    }
    let rest = total.saturating_sub(json_len(output));
    let (cut, _) = fit(output, EVENT_BUDGET.saturating_sub(rest));
    event.output = Some(cut);
    event
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_kept_and_large_ones_fit_with_a_flag() {
        let small = json!({"a": 1});
        assert_eq!(fit(&small, 100), (small.clone(), false));

        let large = json!({"text": "é\"".repeat(50_000)});
        let (cut, truncated) = fit(&large, 10_000);
        assert!(truncated);
        assert!(json_len(&cut) <= 10_000);
        assert_eq!(cut[TRUNCATED_FLAG], json!(true));
        assert_eq!(cut["originalBytes"], json!(json_len(&large)));
        assert!(cut["preview"].as_str().is_some_and(|p| p.len() > 1_000));
    }
}
