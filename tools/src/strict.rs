//! The OpenAI strict-mode (structured outputs) form of an input schema.
//!
//! Rules (docs/agents.md): an object root; every object `additionalProperties: false` with every
//! property in `required`; an optional property becomes nullable — `type: [T, "null"]` for a
//! string, number, integer or boolean, `anyOf: [{…}, {"type": "null"}]` for objects, arrays, enums
//! and unions; `oneOf` becomes `anyOf`, `const` a one-value `enum`, `allOf` is merged; keywords
//! strict mode does not list are dropped (`format` is kept for the supported set); free-form
//! objects (maps) and schemas accepting any value become a string holding JSON, which
//! [`crate::args`] decodes again. The limits are checked afterwards by [`crate::check`].

use serde_json::{json, Map, Value};

use crate::schema::{flatten_root, is_any, is_free_form_object, required, types};

/// `format` values strict mode supports.
pub const SUPPORTED_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];
const NUMBER_KEYWORDS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const PRIMITIVES: &[&str] = &["string", "number", "integer", "boolean"];

/// The strict form of an inlined input schema (see [`crate::schema::inline_refs`]).
pub fn to_strict(schema: &Value) -> Result<Value, String> {
    let root = flatten_root(schema);
    // A root without properties or additionalProperties takes no input (an empty object); an
    // explicit map at the root has no strict form.
    if is_free_form_object(&root) && root.get("additionalProperties").is_some() {
        return Err("the input is a free-form object, which strict mode cannot express".into());
    }
    let mut out = object(&root)?;
    // The tool's description says what the input is; a root description would repeat it.
    if let Value::Object(o) = &mut out {
        o.remove("description");
    }
    Ok(out)
}

fn description(node: &Value) -> Option<String> {
    node.get("description")
        .or_else(|| node.get("title"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn with_description(mut v: Value, desc: Option<String>) -> Value {
    if let (Value::Object(o), Some(d)) = (&mut v, desc) {
        o.insert("description".into(), Value::String(d));
    }
    v
}

/// `allOf` merged into its node: properties and required lists united, other keywords taken
/// from the first place that has them.
fn merge_all_of(node: &Value) -> Value {
    let Some(Value::Array(branches)) = node.get("allOf") else {
        return node.clone();
    };
    let mut out = node.as_object().cloned().unwrap_or_default();
    out.remove("allOf");
    for branch in branches {
        let branch = merge_all_of(branch);
        let Value::Object(b) = branch else { continue };
        for (k, v) in b {
            match (k.as_str(), out.get_mut(&k), v) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    for (name, sub) in theirs {
                        mine.entry(name).or_insert(sub);
                    }
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for r in theirs {
                        if !mine.contains(&r) {
                            mine.push(r);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, v) => {
                    out.insert(k, v);
                }
            }
        }
    }
    Value::Object(out)
}

fn nullable(v: Value) -> Value {
    json!({"anyOf": [v, {"type": "null"}]})
}

/// A schema node; `optional` makes it accept `null` (standing for "absent").
fn node(raw: &Value, optional: bool) -> Result<Value, String> {
    let n = merge_all_of(raw);
    let desc = description(&n);
    if is_any(&n) {
        let d = join(desc, "Any JSON value, encoded as a JSON string.");
        // Nullable whether optional or not: null is one of the values it accepts.
        return Ok(primitive("string", Map::new(), true, Some(d)));
    }
    let declared = types(&n);
    let mut nullable_orig = declared.contains(&"null");
    if let Some(c) = n.get("const") {
        return enumeration(&n, vec![c.clone()], optional, desc);
    }
    if let Some(Value::Array(values)) = n.get("enum") {
        return enumeration(&n, values.clone(), optional, desc);
    }
    let mut ts: Vec<&str> = declared.into_iter().filter(|t| *t != "null").collect();
    if ts.is_empty() {
        if [
            "properties",
            "additionalProperties",
            "patternProperties",
            "required",
        ]
        .iter()
        .any(|k| n.get(*k).is_some())
        {
            ts.push("object");
        } else if n.get("items").is_some() {
            ts.push("array");
        }
    }
    let union = n.get("anyOf").or_else(|| n.get("oneOf"));
    if let (true, Some(Value::Array(branches))) = (ts.is_empty(), union) {
        // A pure union. (Next to a type, anyOf/oneOf only constrain it: dropped, the service
        // validates the real schema.)
        let mut out = Vec::new();
        for b in branches {
            if types(b) == ["null"] {
                nullable_orig = true;
            } else {
                out.push(node(b, false)?);
            }
        }
        if optional || nullable_orig {
            out.push(json!({"type": "null"}));
        }
        return Ok(with_description(json!({ "anyOf": out }), desc));
    }
    let optional = optional || nullable_orig;
    match ts.as_slice() {
        [] => Ok(primitive(
            "string",
            Map::new(),
            true,
            join(desc, "Any JSON value, encoded as a JSON string.").into(),
        )),
        [t] => typed(&n, t, optional, desc),
        many => {
            let mut out = Vec::new();
            for t in many {
                out.push(typed(&n, t, false, None)?);
            }
            if optional {
                out.push(json!({"type": "null"}));
            }
            Ok(with_description(json!({ "anyOf": out }), desc))
        }
    }
}

fn join(desc: Option<String>, note: &str) -> String {
    match desc {
        Some(d) if !d.is_empty() => format!("{d} ({note})"),
        _ => note.to_string(),
    }
}

fn primitive(
    t: &str,
    mut keywords: Map<String, Value>,
    optional: bool,
    desc: Option<String>,
) -> Value {
    let ty = if optional {
        json!([t, "null"])
    } else {
        json!(t)
    };
    keywords.insert("type".into(), ty);
    with_description(Value::Object(keywords), desc)
}

fn enumeration(
    n: &Value,
    mut values: Vec<Value>,
    optional: bool,
    desc: Option<String>,
) -> Result<Value, String> {
    let had_null = values.iter().any(Value::is_null);
    values.retain(|v| !v.is_null());
    let mut e = Map::new();
    if let [t] = types(n)
        .iter()
        .filter(|t| **t != "null")
        .collect::<Vec<_>>()
        .as_slice()
    {
        e.insert("type".into(), json!(t));
    }
    e.insert("enum".into(), Value::Array(values));
    let e = Value::Object(e);
    Ok(with_description(
        if optional || had_null { nullable(e) } else { e },
        desc,
    ))
}

fn typed(n: &Value, t: &str, optional: bool, desc: Option<String>) -> Result<Value, String> {
    match t {
        "object" if is_map(n) => {
            let d = join(
                desc,
                "A JSON object, encoded as a string, e.g. \"{\\\"key\\\": \\\"value\\\"}\".",
            );
            Ok(primitive("string", Map::new(), optional, Some(d)))
        }
        "object" => {
            let o = object(n)?;
            Ok(with_description(
                if optional { nullable(o) } else { o },
                desc,
            ))
        }
        "array" => {
            let mut a = Map::new();
            a.insert("type".into(), json!("array"));
            let items = match n.get("items") {
                Some(items @ Value::Object(_)) => node(items, false)?,
                _ => node(&json!({}), false)?,
            };
            a.insert("items".into(), items);
            for k in ["minItems", "maxItems"] {
                if let Some(v) = n.get(k).filter(|v| v.is_u64()) {
                    a.insert(k.into(), v.clone());
                }
            }
            let a = Value::Object(a);
            Ok(with_description(
                if optional { nullable(a) } else { a },
                desc,
            ))
        }
        "string" => {
            let mut k = Map::new();
            if let Some(p) = n.get("pattern").filter(|p| p.is_string()) {
                k.insert("pattern".into(), p.clone());
            }
            if let Some(f) = n.get("format").and_then(Value::as_str) {
                if SUPPORTED_FORMATS.contains(&f) {
                    k.insert("format".into(), json!(f));
                }
            }
            Ok(primitive("string", k, optional, desc))
        }
        "number" | "integer" => {
            let mut k = Map::new();
            for kw in NUMBER_KEYWORDS {
                // Draft-4 boolean exclusiveMinimum/Maximum are not numbers: dropped.
                if let Some(v) = n.get(*kw).filter(|v| v.is_number()) {
                    k.insert((*kw).into(), v.clone());
                }
            }
            Ok(primitive(t, k, optional, desc))
        }
        "boolean" => Ok(primitive(t, Map::new(), optional, desc)),
        "null" => Ok(with_description(json!({"type": "null"}), desc)),
        other if PRIMITIVES.contains(&other) => Ok(primitive(other, Map::new(), optional, desc)),
        other => Err(format!("unknown type '{other}'")),
    }
}

/// An object without fixed properties whose keys are open: a map.
fn is_map(n: &Value) -> bool {
    is_free_form_object(n)
        || (n
            .get("properties")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
            && n.get("additionalProperties") != Some(&Value::Bool(false)))
}

/// An object with fixed properties: all required, optional ones nullable, no others allowed.
fn object(n: &Value) -> Result<Value, String> {
    let req = required(n);
    let mut props = Map::new();
    if let Some(Value::Object(p)) = n.get("properties") {
        for (k, sub) in p {
            // `false`: the property must be absent, so the model never needs to send it.
            if sub == &Value::Bool(false) {
                continue;
            }
            let converted =
                node(sub, !req.contains(&k.as_str())).map_err(|e| format!("{k}: {e}"))?;
            props.insert(k.clone(), converted);
        }
    }
    let required: Vec<Value> = props.keys().cloned().map(Value::String).collect();
    Ok(json!({
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": false,
    }))
}
