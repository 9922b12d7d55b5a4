//! The portable form of an input schema, for Anthropic and MCP: the catalog's JSON Schema with an
//! object root (root combinators merged, [`crate::schema::flatten_root`]) and every property key
//! valid for Anthropic (`^[a-zA-Z0-9_.-]{1,64}$`; others renamed by
//! [`crate::naming::property_renames`], and mapped back by [`crate::args`]). MCP gets the same
//! schema because MCP clients hand it on to their model's API as it is.

use serde_json::{Map, Value};

use crate::naming::property_renames;
use crate::schema::{flatten_root, SCHEMA_ARRAYS, SCHEMA_MAPS, SCHEMA_SINGLE};

/// The portable form of an inlined input schema (see [`crate::schema::inline_refs`]).
pub fn to_portable(schema: &Value) -> Value {
    rename(&flatten_root(schema))
}

fn rename(node: &Value) -> Value {
    let Value::Object(obj) = node else {
        return node.clone();
    };
    let renames: Vec<(String, String)> = match obj.get("properties") {
        Some(Value::Object(p)) => property_renames(p.keys().map(String::as_str)),
        _ => Vec::new(),
    };
    let renamed = |k: &str| -> String {
        renames
            .iter()
            .find(|(from, _)| from == k)
            .map_or_else(|| k.to_string(), |(_, to)| to.clone())
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let v = match (k.as_str(), v) {
            ("properties", Value::Object(p)) => Value::Object(
                p.iter()
                    .map(|(name, sub)| (renamed(name), rename(sub)))
                    .collect(),
            ),
            ("required", Value::Array(r)) => Value::Array(
                r.iter()
                    .map(|x| {
                        x.as_str()
                            .map_or_else(|| x.clone(), |s| Value::String(renamed(s)))
                    })
                    .collect(),
            ),
            // Keyed by property names we may have renamed; the service checks them anyway.
            ("dependentRequired" | "dependentSchemas", _) => continue,
            (k, Value::Object(m)) if SCHEMA_MAPS.contains(&k) => {
                Value::Object(m.iter().map(|(n, s)| (n.clone(), rename(s))).collect())
            }
            (k, Value::Array(a)) if SCHEMA_ARRAYS.contains(&k) || k == "items" => {
                Value::Array(a.iter().map(rename).collect())
            }
            (k, v) if SCHEMA_SINGLE.contains(&k) => rename(v),
            (_, v) => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}
