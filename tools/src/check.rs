//! Rule checkers for rendered tools, one per format: each returns the problems found (empty when
//! the tool is acceptable). [`crate::Toolbox`] runs them on every tool it renders and skips a tool
//! that fails, with a warning; the tests run them over every action of the catalog.

use serde_json::Value;

use crate::naming::{valid_property_key, valid_tool_name};
use crate::strict::SUPPORTED_FORMATS;

/// OpenAI strict-mode limits.
pub const MAX_PROPERTIES: usize = 5_000;
pub const MAX_DEPTH: usize = 10;
pub const MAX_SCHEMA_CHARS: usize = 120_000;
pub const MAX_ENUM_VALUES: usize = 1_000;
/// A string enum longer than this may hold at most [`MAX_LARGE_ENUM_CHARS`] characters.
pub const LARGE_ENUM: usize = 250;
pub const MAX_LARGE_ENUM_CHARS: usize = 15_000;

/// Keywords strict mode accepts.
const STRICT_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "enum",
    "anyOf",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "$defs",
    "$ref",
];
const TYPE_NAMES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

pub fn tool_name(name: &str) -> Vec<String> {
    if valid_tool_name(name) {
        Vec::new()
    } else {
        vec![format!(
            "name '{name}' does not match ^[a-zA-Z0-9_-]{{1,64}}$"
        )]
    }
}

#[derive(Default)]
struct Totals {
    properties: usize,
    enum_values: usize,
    chars: usize,
}

/// The strict-mode structural rules and limits for a `parameters` schema.
pub fn openai_strict(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if schema.get("type") != Some(&Value::String("object".into())) {
        problems.push("root: must have type \"object\"".into());
    }
    if schema.get("anyOf").is_some() {
        problems.push("root: must not be anyOf".into());
    }
    let mut totals = Totals::default();
    strict_node(schema, "root", 1, &mut totals, &mut problems);
    if totals.properties > MAX_PROPERTIES {
        problems.push(format!(
            "{} properties, more than {MAX_PROPERTIES}",
            totals.properties
        ));
    }
    if totals.enum_values > MAX_ENUM_VALUES {
        problems.push(format!(
            "{} enum values, more than {MAX_ENUM_VALUES}",
            totals.enum_values
        ));
    }
    if totals.chars > MAX_SCHEMA_CHARS {
        problems.push(format!(
            "{} characters of property names and enum values, more than {MAX_SCHEMA_CHARS}",
            totals.chars
        ));
    }
    problems
}

fn value_chars(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        other => other.to_string().len(),
    }
}

fn strict_node(node: &Value, path: &str, depth: usize, t: &mut Totals, problems: &mut Vec<String>) {
    let Value::Object(obj) = node else {
        problems.push(format!("{path}: must be a schema object"));
        return;
    };
    for k in obj.keys() {
        if !STRICT_KEYWORDS.contains(&k.as_str()) {
            problems.push(format!(
                "{path}: keyword '{k}' is not supported in strict mode"
            ));
        }
    }
    let ts: Vec<&str> = match obj.get("type") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(other) => {
            problems.push(format!("{path}: type {other} is not a type name"));
            Vec::new()
        }
        None => Vec::new(),
    };
    for ty in &ts {
        if !TYPE_NAMES.contains(ty) {
            problems.push(format!("{path}: type '{ty}' is not a type name"));
        }
    }
    if ts.is_empty()
        && obj.get("enum").is_none()
        && obj.get("anyOf").is_none()
        && obj.get("$ref").is_none()
    {
        problems.push(format!("{path}: needs a type, an enum or anyOf"));
    }
    if let Some(f) = obj.get("format").and_then(Value::as_str) {
        if !SUPPORTED_FORMATS.contains(&f) {
            problems.push(format!("{path}: format '{f}' is not supported"));
        }
    }
    if let Some(values) = obj.get("enum") {
        match values.as_array() {
            Some(vs) if !vs.is_empty() => {
                t.enum_values += vs.len();
                let chars: usize = vs.iter().map(value_chars).sum();
                t.chars += chars;
                if vs.len() > LARGE_ENUM
                    && vs.iter().all(Value::is_string)
                    && chars > MAX_LARGE_ENUM_CHARS
                {
                    problems.push(format!(
                        "{path}: a string enum of {} values has {chars} characters, more than {MAX_LARGE_ENUM_CHARS}",
                        vs.len()
                    ));
                }
            }
            _ => problems.push(format!("{path}: enum must be a non-empty array")),
        }
    }
    if let Some(branches) = obj.get("anyOf") {
        match branches.as_array() {
            Some(bs) if !bs.is_empty() => {
                for (i, b) in bs.iter().enumerate() {
                    strict_node(b, &format!("{path}/anyOf/{i}"), depth, t, problems);
                }
            }
            _ => problems.push(format!("{path}: anyOf must be a non-empty array")),
        }
    }
    if ts.contains(&"object") || obj.contains_key("properties") {
        if depth > MAX_DEPTH {
            problems.push(format!("{path}: nested deeper than {MAX_DEPTH} levels"));
        }
        if obj.get("additionalProperties") != Some(&Value::Bool(false)) {
            problems.push(format!("{path}: additionalProperties must be false"));
        }
        let props = obj.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match props {
            None => problems.push(format!("{path}: an object needs properties")),
            Some(p) => {
                t.properties += p.len();
                for (k, sub) in p {
                    t.chars += k.chars().count();
                    if !required.contains(&k.as_str()) {
                        problems.push(format!("{path}: property '{k}' is not in required"));
                    }
                    strict_node(sub, &format!("{path}/{k}"), depth + 1, t, problems);
                }
                for r in &required {
                    if !p.contains_key(*r) {
                        problems.push(format!("{path}: required '{r}' is not a property"));
                    }
                }
            }
        }
    }
    if ts.contains(&"array") {
        match obj.get("items") {
            Some(items) => strict_node(items, &format!("{path}/items"), depth, t, problems),
            None => problems.push(format!("{path}: an array needs items")),
        }
    }
}

fn description_problems(tool: &Value, key: &str) -> Vec<String> {
    match tool.get(key).and_then(Value::as_str) {
        Some(d) if !d.trim().is_empty() => Vec::new(),
        _ => vec![format!("{key}: missing")],
    }
}

/// An OpenAI tool: Chat Completions (`responses: false`) or Responses API shape.
pub fn openai_tool(tool: &Value, responses: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if tool.get("type").and_then(Value::as_str) != Some("function") {
        problems.push("type: must be \"function\"".into());
    }
    let f = if responses { tool } else { &tool["function"] };
    if !f.is_object() {
        problems.push("function: missing".into());
        return problems;
    }
    problems.extend(tool_name(f["name"].as_str().unwrap_or_default()));
    problems.extend(description_problems(f, "description"));
    if f.get("strict") != Some(&Value::Bool(true)) {
        problems.push("strict: must be true".into());
    }
    problems.extend(openai_strict(&f["parameters"]));
    problems
}

fn root_object(schema: &Value, key: &str, problems: &mut Vec<String>) {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        problems.push(format!("{key}: root must have type \"object\""));
    }
    for c in ["anyOf", "oneOf", "allOf"] {
        if schema.get(c).is_some() {
            problems.push(format!("{key}: no top-level {c}"));
        }
    }
}

fn property_keys(node: &Value, path: &str, problems: &mut Vec<String>) {
    match node {
        Value::Object(obj) => {
            for (k, v) in obj {
                if k == "properties" {
                    if let Value::Object(p) = v {
                        for (name, sub) in p {
                            if !valid_property_key(name) {
                                problems.push(format!(
                                    "{path}: property key '{name}' does not match ^[a-zA-Z0-9_.-]{{1,64}}$"
                                ));
                            }
                            property_keys(sub, &format!("{path}/{name}"), problems);
                        }
                    }
                } else if !matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                    property_keys(v, path, problems);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| property_keys(i, path, problems)),
        _ => {}
    }
}

/// An Anthropic Messages API tool `{name, description, input_schema}`.
pub fn anthropic_tool(tool: &Value) -> Vec<String> {
    let mut problems = tool_name(tool["name"].as_str().unwrap_or_default());
    problems.extend(description_problems(tool, "description"));
    root_object(&tool["input_schema"], "input_schema", &mut problems);
    property_keys(&tool["input_schema"], "input_schema", &mut problems);
    problems
}

/// An MCP tool `{name, title, description, inputSchema, outputSchema, annotations}`, with the
/// portable rules on its input schema (MCP clients hand it to their model's API).
pub fn mcp_tool(tool: &Value) -> Vec<String> {
    let mut problems = tool_name(tool["name"].as_str().unwrap_or_default());
    problems.extend(description_problems(tool, "description"));
    problems.extend(description_problems(tool, "title"));
    root_object(&tool["inputSchema"], "inputSchema", &mut problems);
    property_keys(&tool["inputSchema"], "inputSchema", &mut problems);
    if let Some(out) = tool.get("outputSchema") {
        root_object(out, "outputSchema", &mut problems);
    }
    match tool.get("annotations").and_then(Value::as_object) {
        Some(a) => {
            for hint in [
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            ] {
                if !a.get(hint).is_some_and(Value::is_boolean) {
                    problems.push(format!("annotations.{hint}: must be a boolean"));
                }
            }
        }
        None => problems.push("annotations: missing".into()),
    }
    problems
}
