//! JSON field helpers shared by connectors: camelCase inputs to a provider's snake_case, and
//! tolerant reads of provider answers.

use integrations_core::{Error, Result};
use serde_json::{Map, Value};

/// Copy the listed camelCase fields of `input` under snake_case names (nested objects are
/// copied as they are).
pub(crate) fn to_snake_fields(input: &Value, fields: &[&str]) -> Value {
    let mut out = Map::new();
    for field in fields {
        if let Some(v) = input.get(*field).filter(|v| !v.is_null()) {
            out.insert(snake(field), v.clone());
        }
    }
    Value::Object(out)
}

pub(crate) fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Providers send some amounts as strings (GHN's `total_fee: "33000"`): accept integers in
/// either form.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(as_int)
}

pub(crate) fn string<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Copy the listed fields present in `from` (provider name → ours), nulls included: the
/// answer's own shape, renamed.
pub(crate) fn pick(from: &Value, pairs: &[(&str, &str)]) -> Value {
    let mut out = Map::new();
    for (theirs, ours) in pairs {
        if let Some(v) = from.get(*theirs) {
            out.insert((*ours).to_string(), v.clone());
        }
    }
    Value::Object(out)
}

pub(crate) fn copy_string(from: &Value, key: &str, to: &mut Value, as_key: &str) {
    if let Some(s) = string(from, key) {
        to[as_key] = Value::String(s.to_string());
    }
}

/// The elements of an array; `null` (how some providers say "empty") has none.
pub(crate) fn rows(data: &Value) -> impl Iterator<Item = &Value> {
    data.as_array().into_iter().flatten()
}

pub(crate) fn required_str<'v>(input: &'v Value, key: &str) -> Result<&'v str> {
    string(input, key).ok_or_else(|| Error::validation(format!("input needs {key}")))
}

pub(crate) fn required_int(input: &Value, key: &str) -> Result<i64> {
    int(input, key).ok_or_else(|| Error::validation(format!("input needs {key} (an integer)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_names_map_both_ways() {
        assert_eq!(snake("toDistrictId"), "to_district_id");
        assert_eq!(snake("weight"), "weight");
        assert_eq!(camel("pick_remote_areas_fee"), "pickRemoteAreasFee");
        let body = to_snake_fields(
            &json!({"toDistrictId": 1461, "codValue": 5, "ignored": 1, "coupon": null}),
            &["toDistrictId", "codValue", "coupon"],
        );
        assert_eq!(body, json!({"to_district_id": 1461, "cod_value": 5}));
    }

    #[test]
    fn integers_are_read_from_numbers_or_strings() {
        assert_eq!(as_int(&json!(7)), Some(7));
        assert_eq!(as_int(&json!(" 7 ")), Some(7));
        assert_eq!(as_int(&json!(7.5)), None);
        assert_eq!(as_int(&json!(true)), None);
    }
}
