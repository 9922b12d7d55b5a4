//! Hand-made schemas that break naive converters: keys no format accepts, nested optional
//! objects, enums, free-form maps, union roots, unsupported keywords, refs and the limits. Each
//! converted schema is checked by the format's checker and by an independent JSON Schema
//! validator: the model-shaped arguments must be valid for the converted schema, and the mapped
//! back input valid for the catalog's.

mod common;

use agent_tools::{check, portable, schema::inline_refs, strict, Format, Toolbox};
use common::{catalog_with, connection, invalid};
use serde_json::{json, Value};

/// Convert, check, and round-trip `model_args` (strict shape) and `portable_args` (renamed
/// keys) back to an input the original schema accepts; returns (strict, portable, input).
fn round_trip(schema: &Value, model_args: Value, portable_args: Value) -> (Value, Value, Value) {
    let inlined = inline_refs(schema).expect("inline");
    let s = strict::to_strict(&inlined).expect("strict");
    assert_eq!(check::openai_strict(&s), Vec::<String>::new(), "{s:#}");
    assert_eq!(
        invalid(&s, &model_args),
        Vec::<String>::new(),
        "strict rejects {model_args}: {s:#}"
    );
    let p = portable::to_portable(&inlined);
    let tool = json!({"name": "t", "description": "d", "input_schema": p});
    assert_eq!(check::anthropic_tool(&tool), Vec::<String>::new(), "{p:#}");
    assert_eq!(
        invalid(&p, &portable_args),
        Vec::<String>::new(),
        "portable rejects {portable_args}"
    );
    let from_strict = agent_tools::args::to_input(&inlined, model_args).expect("args");
    let from_portable = agent_tools::args::to_input(&inlined, portable_args).expect("args");
    assert_eq!(
        invalid(schema, &from_strict),
        Vec::<String>::new(),
        "{from_strict}"
    );
    assert_eq!(from_strict, from_portable);
    (s, p, from_strict)
}

#[test]
fn keys_no_format_accepts_are_renamed_and_mapped_back() {
    let schema = json!({
        "type": "object", "additionalProperties": false, "required": ["rule_name[]"],
        "properties": {
            "rule_name[]": {"type": "array", "items": {"type": "string"}},
            "rule_name": {"type": "string"},
            "giá trị": {"type": "integer"},
            "nested": {"type": "object", "properties": {"a b": {"type": "boolean"}}}
        }
    });
    let renames =
        agent_tools::naming::property_renames(["rule_name[]", "rule_name", "giá trị", "nested"]);
    let brackets = &renames
        .iter()
        .find(|(from, _)| from == "rule_name[]")
        .expect("renamed")
        .1;
    let mut portable_args = json!({"gia_tri": 3, "nested": {"a_b": true}});
    portable_args[brackets.as_str()] = json!(["x"]);
    let (_, p, input) = round_trip(
        &schema,
        json!({"rule_name[]": ["x"], "rule_name": null, "giá trị": 3, "nested": {"a b": true}}),
        portable_args,
    );
    let renamed = p["properties"].as_object().expect("properties");
    assert!(renamed.keys().any(|k| k.starts_with("rule_name_")), "{p:#}");
    assert!(renamed.contains_key("rule_name") && renamed.contains_key("gia_tri"));
    assert!(p["required"][0]
        .as_str()
        .expect("required")
        .starts_with("rule_name_"));
    assert_eq!(
        input,
        json!({"rule_name[]": ["x"], "giá trị": 3, "nested": {"a b": true}})
    );
}

#[test]
fn nested_optional_objects_become_nullable_and_nulls_are_dropped() {
    let schema = json!({
        "type": "object",
        "properties": {
            "address": {"type": "object", "required": ["city"], "properties": {
                "city": {"type": "string", "minLength": 1},
                "geo": {"type": "object", "properties": {"lat": {"type": "number"}, "lng": {"type": "number"}}}
            }},
            "note": {"type": "string", "maxLength": 10, "default": "x"}
        }
    });
    let (s, _, input) = round_trip(
        &schema,
        json!({"address": {"city": "Hue", "geo": {"lat": 1.5, "lng": null}}, "note": null}),
        json!({"address": {"city": "Hue", "geo": {"lat": 1.5}}}),
    );
    assert_eq!(s["properties"]["note"]["type"], json!(["string", "null"]));
    assert!(s["properties"]["note"].get("maxLength").is_none());
    assert!(s["properties"]["address"]["anyOf"].is_array());
    assert_eq!(
        input,
        json!({"address": {"city": "Hue", "geo": {"lat": 1.5}}})
    );
}

#[test]
fn enums_consts_and_explicit_nulls() {
    let schema = json!({
        "type": "object", "required": ["mode", "maybe"],
        "properties": {
            "mode": {"enum": ["a", "b"]},
            "level": {"enum": [1, 2, 3]},
            "kind": {"const": "fixed"},
            "maybe": {"type": ["string", "null"]}
        }
    });
    let (s, _, input) = round_trip(
        &schema,
        json!({"mode": "a", "level": null, "kind": "fixed", "maybe": null}),
        json!({"mode": "a", "kind": "fixed", "maybe": null}),
    );
    assert_eq!(s["properties"]["mode"], json!({"enum": ["a", "b"]}));
    assert_eq!(
        s["properties"]["level"]["anyOf"][1],
        json!({"type": "null"})
    );
    assert_eq!(
        s["properties"]["kind"]["anyOf"][0],
        json!({"enum": ["fixed"]})
    );
    // A null the catalog accepts is kept: it is a value, not an absence.
    assert_eq!(input, json!({"mode": "a", "kind": "fixed", "maybe": null}));
}

#[test]
fn free_form_maps_travel_as_json_strings_in_strict_mode() {
    let schema = json!({
        "type": "object", "required": ["metadata"],
        "properties": {
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "extra": {"description": "anything"},
            "tags": {"type": "array"}
        }
    });
    let (s, p, input) = round_trip(
        &schema,
        json!({"metadata": "{\"k\": \"v\"}", "extra": "[1, 2]", "tags": ["x", "{\"a\":1}"]}),
        json!({"metadata": {"k": "v"}, "extra": [1, 2], "tags": ["x", {"a": 1}]}),
    );
    assert_eq!(s["properties"]["metadata"]["type"], "string");
    assert!(s["properties"]["metadata"]["description"]
        .as_str()
        .expect("d")
        .contains("JSON object"));
    assert_eq!(
        p["properties"]["metadata"]["type"], "object",
        "portable keeps the map"
    );
    assert_eq!(
        input,
        json!({"metadata": {"k": "v"}, "extra": [1, 2], "tags": ["x", {"a": 1}]})
    );
}

#[test]
fn union_roots_are_flattened_and_one_of_becomes_any_of() {
    let schema = json!({
        "type": "object",
        "oneOf": [
            {"required": ["orderCode"], "properties": {"orderCode": {"type": "string"}}},
            {"required": ["clientOrderCode"], "properties": {"clientOrderCode": {"type": "string"}}}
        ],
        "properties": {
            "target": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        }
    });
    let (s, p, input) = round_trip(
        &schema,
        json!({"orderCode": "GF1", "clientOrderCode": null, "target": 5}),
        json!({"orderCode": "GF1", "target": 5}),
    );
    assert!(s.get("oneOf").is_none() && p.get("oneOf").is_none());
    assert!(s["properties"]["clientOrderCode"].is_object());
    assert_eq!(
        s["properties"]["target"]["anyOf"].as_array().map(Vec::len),
        Some(3)
    );
    assert_eq!(input, json!({"orderCode": "GF1", "target": 5}));
}

#[test]
fn unsupported_keywords_are_stripped_and_supported_formats_kept() {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$comment": "c",
        "type": "object", "title": "T",
        "dependentRequired": {"a": ["b"]},
        "properties": {
            "a": {"type": "string", "format": "uri", "writeOnly": true, "examples": ["x"]},
            "b": {"type": "string", "format": "date-time"},
            "c": {"allOf": [{"type": "integer"}, {"minimum": 1}], "not": {"const": 3}},
            "d": {"type": "array", "uniqueItems": true, "items": {"type": "string"}, "maxItems": 2},
            "e": {"if": {"type": "string"}, "then": {"minLength": 2}, "type": "string"}
        }
    });
    let (s, _, _) = round_trip(
        &schema,
        json!({"a": null, "b": "2026-01-01T00:00:00Z", "c": 2, "d": ["x"], "e": "yy"}),
        json!({"b": "2026-01-01T00:00:00Z", "c": 2, "d": ["x"], "e": "yy"}),
    );
    let p = &s["properties"];
    assert!(p["a"].get("format").is_none() && p["a"].get("writeOnly").is_none());
    assert_eq!(p["b"]["format"], "date-time");
    assert_eq!(p["c"]["type"], json!(["integer", "null"]));
    assert_eq!(p["c"]["minimum"], 1);
    assert!(p["e"].get("if").is_none());
}

#[test]
fn refs_are_inlined_and_recursive_ones_skip_the_tool_with_a_warning() {
    let catalog = catalog_with(&[
        (
            "with_ref",
            json!({
                "type": "object", "$defs": {"item": {"type": "object", "properties": {"sku": {"type": "string"}}}},
                "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/item"}}}
            }),
        ),
        (
            "recursive",
            json!({
                "type": "object", "$defs": {"node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}}},
                "properties": {"root": {"$ref": "#/$defs/node"}}
            }),
        ),
    ]);
    let conns = [connection("c1", "crm-hostile", "Main")];
    let toolbox = Toolbox::new(&catalog, &conns);
    for format in Format::ALL {
        let r = toolbox.render(format, &Default::default());
        assert_eq!(r.tools.len(), 1, "{format}");
        assert_eq!(r.skipped.len(), 1, "{format}");
        assert_eq!(r.skipped[0].name, "hostile_recursive_main");
        assert!(r.skipped[0].reason.contains("recursive"), "{:?}", r.skipped);
    }
    let t = toolbox.resolve("hostile_with_ref_main").expect("tool");
    let input = t
        .input_from_arguments(json!({"items": [{"sku": null}]}))
        .expect("input");
    assert_eq!(input, json!({"items": [{}]}));
}

fn wide(n: usize) -> Value {
    let props: serde_json::Map<String, Value> = (0..n)
        .map(|i| (format!("p{i}"), json!({"type": "string"})))
        .collect();
    json!({"type": "object", "properties": props})
}

#[test]
fn strict_limits_are_enforced() {
    let mut deep = json!({"type": "string"});
    for _ in 0..11 {
        deep = json!({"type": "object", "properties": {"x": deep}});
    }
    let enum_values: Vec<Value> = (0..1001).map(|i| json!(format!("v{i}"))).collect();
    let big_enum = json!({"type": "object", "properties": {"e": {"enum": enum_values}}});
    for (schema, needle) in [
        (deep, "nested deeper"),
        (big_enum, "enum values"),
        (wide(5001), "properties"),
    ] {
        let s = strict::to_strict(&schema).expect("converts");
        let problems = check::openai_strict(&s);
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "{needle}: {problems:?}"
        );
    }
    assert!(check::openai_strict(&strict::to_strict(&wide(100)).expect("converts")).is_empty());
}

#[test]
fn arguments_sent_as_a_json_string_are_parsed_and_non_objects_refused() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
    assert_eq!(
        agent_tools::args::to_input(&schema, json!("{\"a\": 1}")),
        Ok(json!({"a": 1}))
    );
    assert_eq!(
        agent_tools::args::to_input(&schema, Value::Null),
        Ok(json!({}))
    );
    assert!(agent_tools::args::to_input(&schema, json!([1])).is_err());
    assert!(agent_tools::args::to_input(&schema, json!("nope")).is_err());
}
