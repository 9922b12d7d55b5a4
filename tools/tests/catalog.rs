//! Every action of the embedded catalog, in every format, against every format's rules. The
//! catalog grows: these tests iterate it rather than list actions.

mod common;

use std::collections::BTreeSet;

use agent_tools::{check, strict, Filter, Format, Toolbox};
use common::{connection, invalid};
use integrations_core::catalog::{ActionCategory, Catalog};
use integrations_core::model::{Connection, ConnectionStatus};
use serde_json::{json, Value};

/// Two active connections per integration (one with a Vietnamese name) and an inactive one.
fn connections(catalog: &Catalog) -> Vec<Connection> {
    let mut out = Vec::new();
    for i in catalog.integrations() {
        let id = &i.integration_id;
        out.push(connection(&format!("{id}-a"), id, "Cửa hàng Hà Nội"));
        out.push(connection(&format!("{id}-b"), id, "Warehouse South"));
        let mut off = connection(&format!("{id}-c"), id, "Old shop");
        off.status = ConnectionStatus::Inactive;
        out.push(off);
    }
    out
}

fn name_of(format: Format, tool: &Value) -> String {
    let v = match format {
        Format::OpenAi => &tool["function"]["name"],
        _ => &tool["name"],
    };
    v.as_str().expect("name").to_string()
}

#[test]
fn every_action_renders_in_every_format_and_passes_its_checks() {
    let catalog = Catalog::embedded().expect("catalog");
    let conns = connections(&catalog);
    let toolbox = Toolbox::new(&catalog, &conns);
    let actions: usize = catalog.integrations().map(|i| i.actions().count()).sum();
    assert!(actions > 0);
    assert_eq!(
        toolbox.all().len(),
        actions * 2,
        "one tool per active connection and action"
    );

    for format in Format::ALL {
        let rendered = toolbox.render(format, &Filter::default());
        assert!(
            rendered.skipped.is_empty(),
            "{format}: {:?}",
            rendered.skipped
        );
        assert_eq!(rendered.tools.len(), actions * 2, "{format}");
        let mut names = BTreeSet::new();
        for tool in &rendered.tools {
            let name = name_of(format, tool);
            let problems = match format {
                Format::OpenAi => check::openai_tool(tool, false),
                Format::OpenAiResponses => check::openai_tool(tool, true),
                Format::Anthropic => check::anthropic_tool(tool),
                Format::Mcp => check::mcp_tool(tool),
            };
            assert!(problems.is_empty(), "{format} {name}: {problems:?}");
            assert!(
                names.insert(name.clone()),
                "{format}: duplicate name {name}"
            );
            let resolved = toolbox.resolve(&name).expect("resolvable");
            assert_eq!(resolved.name, name);
        }
    }
}

#[test]
fn descriptions_name_the_connection_and_the_integration() {
    let catalog = Catalog::embedded().expect("catalog");
    let conns = connections(&catalog);
    let toolbox = Toolbox::new(&catalog, &conns);
    for tool in toolbox.all() {
        let d = tool.description();
        let integration = tool.integration.doc["name"].as_str().expect("name");
        assert!(d.contains(&tool.connection.name), "{d}");
        assert!(d.contains(integration), "{d}");
        assert!(
            d.contains(
                tool.action.doc["description"]
                    .as_str()
                    .expect("description")
            ),
            "{d}"
        );
        assert!(d.chars().count() <= 1024);
    }
}

#[test]
fn mcp_annotations_follow_the_catalog() {
    let catalog = Catalog::embedded().expect("catalog");
    let conns = connections(&catalog);
    let toolbox = Toolbox::new(&catalog, &conns);
    for tool in toolbox.all() {
        let mcp = tool.render(Format::Mcp).expect("mcp");
        let a = &mcp["annotations"];
        let read = tool.action.category == ActionCategory::Read;
        assert_eq!(a["readOnlyHint"], read, "{}", tool.name);
        assert_eq!(a["destructiveHint"], !read, "{}", tool.name);
        assert_eq!(a["openWorldHint"], true);
        let idempotent = tool.action.doc["idempotency"]["strategy"] != "none";
        assert_eq!(a["idempotentHint"], idempotent, "{}", tool.name);
        // The output schema compiles and describes a result object.
        jsonschema::draft202012::new(&mcp["outputSchema"]).expect("output schema compiles");
    }
}

#[test]
fn strict_schemas_are_valid_json_schema_and_accept_all_null_optionals() {
    let catalog = Catalog::embedded().expect("catalog");
    let conns = connections(&catalog);
    let toolbox = Toolbox::new(&catalog, &conns);
    for tool in toolbox.all() {
        let inlined = agent_tools::schema::inline_refs(tool.action.input_schema()).expect("inline");
        let strict = strict::to_strict(&inlined).expect("strict");
        jsonschema::draft202012::new(&strict).expect("strict schema compiles");
        // Every strict property is required: the empty object is refused unless nothing is.
        let required = strict["required"].as_array().expect("required");
        assert_eq!(
            required.is_empty(),
            invalid(&strict, &json!({})).is_empty(),
            "{}",
            tool.name
        );
    }
}

#[test]
fn filters_select_without_renaming() {
    let catalog = Catalog::embedded().expect("catalog");
    let conns = connections(&catalog);
    let toolbox = Toolbox::new(&catalog, &conns);
    let all: Vec<String> = toolbox.all().iter().map(|t| t.name.clone()).collect();
    let first = &conns[0];
    let filter = Filter {
        connection_id: Some(first.connection_id.clone()),
        category: Some(ActionCategory::Read),
        ..Filter::default()
    };
    let some: Vec<&str> = toolbox.select(&filter).map(|t| t.name.as_str()).collect();
    assert!(!some.is_empty());
    assert!(some.iter().all(|n| all.iter().any(|a| a == n)));
    for t in toolbox.select(&filter) {
        assert_eq!(t.connection.connection_id, first.connection_id);
        assert_eq!(t.action.category, ActionCategory::Read);
    }
    let none = Filter {
        integration_id: Some("no-such-integration".into()),
        ..Filter::default()
    };
    assert_eq!(toolbox.select(&none).count(), 0);
}

/// GHN's calculate_fee as an OpenAI strict-mode model sends it: every optional field null.
#[test]
fn strict_arguments_map_back_to_valid_ghn_inputs() {
    let catalog = Catalog::embedded().expect("catalog");
    let conns = [connection("c1", "shipping-ghn", "My shop")];
    let toolbox = Toolbox::new(&catalog, &conns);
    let fee = toolbox.resolve("ghn_calculate_fee_my_shop").expect("tool");
    let strict = fee.render(Format::OpenAi).expect("openai");
    let mut args = json!({});
    for k in strict["function"]["parameters"]["properties"]
        .as_object()
        .expect("props")
        .keys()
    {
        args[k] = Value::Null;
    }
    for (k, v) in [
        ("toDistrictId", json!(1485)),
        ("toWardCode", json!("1A0101")),
        ("weight", json!(500)),
    ] {
        args[k] = v;
    }
    assert_eq!(
        invalid(&strict["function"]["parameters"], &args),
        Vec::<String>::new()
    );
    let input = fee.input_from_arguments(args).expect("input");
    assert_eq!(
        input,
        json!({"toDistrictId": 1485, "toWardCode": "1A0101", "weight": 500})
    );
    fee.action.validate_input(&input).expect("valid input");

    // Items are objects inside an array: their optional nulls go too.
    let order = toolbox.resolve("ghn_create_order_my_shop").expect("tool");
    let input = order
        .input_from_arguments(json!({
            "toName": "A", "toPhone": "0912345678", "toAddress": "12 Ly Thuong Kiet",
            "toWardCode": "1A0101", "toDistrictId": 1485, "weight": 500,
            "requiredNote": "KHONGCHOXEMHANG", "paymentTypeId": 1, "codAmount": null,
            "items": [{"name": "T-shirt", "quantity": 1, "code": null, "category": null}]
        }))
        .expect("input");
    assert_eq!(input["items"], json!([{"name": "T-shirt", "quantity": 1}]));
    order.action.validate_input(&input).expect("valid input");
}
