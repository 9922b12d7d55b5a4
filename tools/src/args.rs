//! Model arguments back to the catalog's input shape, whatever format the tool was listed in:
//!
//! - `null` for an optional property whose schema does not accept `null` means "absent"
//!   (OpenAI strict mode makes every property required and nullable): dropped;
//! - a renamed property key (Anthropic, MCP) is mapped back to the catalog's key;
//! - a string where the catalog expects a free-form object (strict mode sends maps as JSON
//!   text) is decoded; so is a string holding a JSON object or array where any value goes;
//! - arguments sent as one JSON string (OpenAI's `function.arguments` as received) are parsed.
//!
//! Nothing else changes: the result is validated against the catalog's schema afterwards, so a
//! wrong value comes back as a validation error naming the field.

use serde_json::{Map, Value};

use crate::naming::property_renames;
use crate::schema::{accepts_null, accepts_object, accepts_string, candidates, is_any, required};

/// The action input for `arguments`, given the inlined catalog input schema.
pub fn to_input(schema: &Value, arguments: Value) -> Result<Value, String> {
    let arguments = match arguments {
        Value::Null => Value::Object(Map::new()),
        Value::String(s) => serde_json::from_str(&s)
            .map_err(|e| format!("arguments: a JSON object, or a string holding one ({e})"))?,
        other => other,
    };
    if !arguments.is_object() {
        return Err("arguments: must be a JSON object".into());
    }
    Ok(value(schema, arguments))
}

fn decode(schema: &Value, v: Value) -> Value {
    let Value::String(s) = &v else { return v };
    if is_any(schema) {
        return match serde_json::from_str::<Value>(s) {
            Ok(parsed @ (Value::Object(_) | Value::Array(_))) => parsed,
            _ => v,
        };
    }
    if !accepts_string(schema) && accepts_object(schema) {
        if let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(s) {
            return parsed;
        }
    }
    v
}

/// The items schema of an array without one: anything goes.
static ANY: Value = Value::Bool(true);

fn value(schema: &Value, v: Value) -> Value {
    let v = decode(schema, v);
    match v {
        Value::Object(obj) => Value::Object(object(schema, obj)),
        Value::Array(items) => {
            let item_schema = candidates(schema)
                .into_iter()
                .find_map(|c| c.get("items").filter(|i| i.is_object()));
            let s = item_schema.unwrap_or(&ANY);
            Value::Array(items.into_iter().map(|i| value(s, i)).collect())
        }
        other => other,
    }
}

/// Whether `key` is required whichever branch a value takes: by the node or an `allOf` branch
/// (a requirement inside one `anyOf`/`oneOf` branch holds only for that branch).
fn always_required(schema: &Value, key: &str) -> bool {
    required(schema).contains(&key)
        || schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|bs| bs.iter().any(|b| always_required(b, key)))
}

fn declared<'a>(nodes: &[&'a Value], key: &str) -> Option<&'a Value> {
    nodes
        .iter()
        .find_map(|n| n.get("properties").and_then(|p| p.get(key)))
}

fn object(schema: &Value, obj: Map<String, Value>) -> Map<String, Value> {
    let nodes = candidates(schema);
    // Renamed key → catalog key, over every branch that declares properties.
    let mut back: Vec<(String, String)> = Vec::new();
    for n in &nodes {
        if let Some(Value::Object(p)) = n.get("properties") {
            for (from, to) in property_renames(p.keys().map(String::as_str)) {
                back.push((to, from));
            }
        }
    }
    let mut out = Map::new();
    for (key, v) in obj {
        let original = if declared(&nodes, &key).is_some() {
            key
        } else {
            back.iter()
                .find(|(to, _)| *to == key)
                .map_or(key, |(_, from)| from.clone())
        };
        match declared(&nodes, &original) {
            Some(d) if v.is_null() && !always_required(schema, &original) && !accepts_null(d) => {}
            Some(d) => {
                let mapped = value(d, v);
                out.insert(original, mapped);
            }
            // Undeclared: kept, so that validation names it.
            None => {
                out.insert(original, v);
            }
        }
    }
    out
}
