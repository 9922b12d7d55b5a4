//! JSON Schema helpers shared by the converters and the argument mapper: inlining local `$ref`s
//! (so every walker sees one self-contained tree), and questions about one schema node.

use serde_json::{Map, Value};

/// Keywords whose value is a map of subschemas.
pub(crate) const SCHEMA_MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];
/// Keywords whose value is an array of subschemas.
pub(crate) const SCHEMA_ARRAYS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is one subschema (`items` may also be an array in old drafts).
pub(crate) const SCHEMA_SINGLE: &[&str] = &[
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
];

/// Refs nested deeper than this are treated as recursive.
const MAX_REF_DEPTH: usize = 32;

/// `schema` with every local `$ref` (`#` or `#/json/pointer`) replaced by its target, and the
/// definitions, `$schema`, `$id` and `$comment` removed. Keywords next to a `$ref` override the
/// target's (in practice they are annotations such as `description`). Remote and recursive refs
/// are errors: the tool formats need a finite, self-contained tree.
pub fn inline_refs(schema: &Value) -> Result<Value, String> {
    inline(schema, schema, &mut Vec::new())
}

fn inline(node: &Value, root: &Value, stack: &mut Vec<String>) -> Result<Value, String> {
    let Value::Object(obj) = node else {
        return Ok(node.clone());
    };
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "$ref" | "$defs" | "definitions" | "$schema" | "$id" | "$comment" | "$anchor" => {}
            _ => {
                out.insert(k.clone(), inline_keyword(k, v, root, stack)?);
            }
        }
    }
    let Some(reference) = obj.get("$ref") else {
        return Ok(Value::Object(out));
    };
    let reference = reference
        .as_str()
        .ok_or_else(|| "$ref: must be a string".to_string())?;
    let pointer = reference
        .strip_prefix('#')
        .ok_or_else(|| format!("$ref '{reference}': only local refs (#/...) are supported"))?;
    if stack.iter().any(|r| r == reference) || stack.len() >= MAX_REF_DEPTH {
        return Err(format!(
            "$ref '{reference}': recursive schemas are not supported"
        ));
    }
    let target = root
        .pointer(pointer)
        .ok_or_else(|| format!("$ref '{reference}': no such definition"))?;
    stack.push(reference.to_string());
    let resolved = inline(target, root, stack);
    stack.pop();
    match resolved? {
        Value::Object(mut merged) => {
            merged.extend(out);
            Ok(Value::Object(merged))
        }
        // A boolean target: siblings, if any, are the only constraints left.
        other if out.is_empty() => Ok(other),
        _ => Ok(Value::Object(out)),
    }
}

fn inline_keyword(
    keyword: &str,
    value: &Value,
    root: &Value,
    stack: &mut Vec<String>,
) -> Result<Value, String> {
    if SCHEMA_MAPS.contains(&keyword) {
        if let Value::Object(map) = value {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), inline(v, root, stack)?);
            }
            return Ok(Value::Object(out));
        }
    } else if SCHEMA_ARRAYS.contains(&keyword) || keyword == "items" {
        if let Value::Array(items) = value {
            return items
                .iter()
                .map(|v| inline(v, root, stack))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array);
        }
    }
    if SCHEMA_SINGLE.contains(&keyword) {
        return inline(value, root, stack);
    }
    Ok(value.clone())
}

/// The node's `type` as a list (`"string"` → `["string"]`); empty when absent.
pub fn types(node: &Value) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Keywords that restrict which JSON values a node accepts (at the shape level).
const SHAPE_KEYWORDS: &[&str] = &[
    "type",
    "enum",
    "const",
    "properties",
    "patternProperties",
    "additionalProperties",
    "required",
    "items",
    "prefixItems",
    "anyOf",
    "oneOf",
    "allOf",
];

/// Accepts any JSON value: `true`, `{}`, or only annotations and value constraints.
pub fn is_any(node: &Value) -> bool {
    match node {
        Value::Bool(b) => *b,
        Value::Object(obj) => !SHAPE_KEYWORDS.iter().any(|k| obj.contains_key(*k)),
        _ => false,
    }
}

/// An object whose keys are not fixed (a map): an object type without properties, whose
/// `additionalProperties` is not `false`.
pub fn is_free_form_object(node: &Value) -> bool {
    let ts = types(node);
    let object_typed = ts == ["object"]
        || (ts.is_empty()
            && (node.get("additionalProperties").is_some()
                || node.get("patternProperties").is_some()));
    let no_properties = node
        .get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    object_typed && no_properties && node.get("additionalProperties") != Some(&Value::Bool(false))
}

/// The node and its union/intersection branches, flattened: the schemas a value must be
/// matched against to find its properties, items and renames.
pub fn candidates(node: &Value) -> Vec<&Value> {
    let mut out = vec![node];
    let mut i = 0;
    while i < out.len() {
        let n = out[i];
        for k in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = n.get(k) {
                out.extend(branches.iter());
            }
        }
        i += 1;
    }
    out
}

fn accepts_type(node: &Value, wanted: &str) -> bool {
    candidates(node).iter().any(|n| {
        if is_any(n) {
            return true;
        }
        let ts = types(n);
        if ts.contains(&wanted) || (wanted == "number" && ts.contains(&"integer")) {
            return true;
        }
        let matches_value = |v: &Value| match wanted {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "object" => v.is_object(),
            _ => false,
        };
        n.get("enum")
            .and_then(Value::as_array)
            .is_some_and(|vs| vs.iter().any(matches_value))
            || n.get("const").is_some_and(matches_value)
            || (ts.is_empty()
                && wanted == "object"
                && (n.get("properties").is_some() || n.get("additionalProperties").is_some()))
    })
}

/// Whether `null` is a valid value somewhere in the node (so a null from a model may be meant).
pub fn accepts_null(node: &Value) -> bool {
    accepts_type(node, "null")
}

pub fn accepts_string(node: &Value) -> bool {
    accepts_type(node, "string")
}

pub fn accepts_object(node: &Value) -> bool {
    accepts_type(node, "object")
}

/// The `required` list of a node, as a set of names.
pub fn required(node: &Value) -> Vec<&str> {
    node.get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A root made acceptable to every format: `type: "object"`, and the properties of root-level
/// `allOf`/`anyOf`/`oneOf` branches merged into the root's own (required only when the root or an
/// `allOf` branch requires them), the combinators dropped. The service still validates the input
/// against the catalog's full schema, so a choice the flattened root cannot express comes back
/// as a validation error naming the field.
pub fn flatten_root(schema: &Value) -> Value {
    let mut root = match schema {
        Value::Object(obj) => obj.clone(),
        _ => Map::new(),
    };
    let mut properties = root
        .remove("properties")
        .and_then(|p| match p {
            Value::Object(p) => Some(p),
            _ => None,
        })
        .unwrap_or_default();
    let mut required_keys: Vec<Value> = root
        .remove("required")
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    for k in ["allOf", "anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = root.remove(k) else {
            continue;
        };
        for branch in &branches {
            // Nested combinators inside a root branch are flattened too.
            let branch = flatten_root(branch);
            if let Some(Value::Object(p)) = branch.get("properties") {
                for (name, sub) in p {
                    properties
                        .entry(name.clone())
                        .or_insert_with(|| sub.clone());
                }
            }
            if k == "allOf" {
                for r in required(&branch) {
                    if !required_keys.iter().any(|x| x == r) {
                        required_keys.push(Value::String(r.to_string()));
                    }
                }
            }
        }
    }
    root.insert("type".into(), Value::String("object".into()));
    root.insert("properties".into(), Value::Object(properties));
    if !required_keys.is_empty() {
        root.insert("required".into(), Value::Array(required_keys));
    }
    Value::Object(root)
}
