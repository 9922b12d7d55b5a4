//! The action table: dispatch, provider keys from the catalog, and the catalog check.

use serde_json::json;

use super::*;

/// Stands in for a connector's API.
struct Api {
    prefix: &'static str,
}

async fn echo_keyed(api: &Api, call: &ActionCall<'_>) -> Result<Value> {
    let request = call.keyed(Request::post("/orders").json(call.input.clone()))?;
    match request.body {
        Body::Json(body) => Ok(json!({ "api": api.prefix, "body": body })),
        _ => Err(Error::internal("not json")),
    }
}

async fn fail(_api: &Api, _call: &ActionCall<'_>) -> Result<Value> {
    Err(Error::new(ErrorKind::ProviderRejected, "no"))
}

const TABLE: &[Action<Api>] = &[
    Action {
        id: "create_order",
        run: |api, call| Box::pin(echo_keyed(api, call)),
    },
    Action {
        id: "track_order",
        run: |api, call| Box::pin(fail(api, call)),
    },
];

#[tokio::test]
async fn runs_by_id_and_applies_the_catalogs_provider_field() {
    // shipping-ghn's catalog entry: create_order has providerField client_order_code.
    let actions = Actions::new("shipping-ghn", TABLE);
    let api = Api { prefix: "p" };
    let out = actions
        .run(&api, "create_order", &json!({"weight": 1}), "exec-1")
        .await
        .expect("runs");
    assert_eq!(
        out,
        json!({"api": "p", "body": {"weight": 1, "client_order_code": "exec-1"}})
    );
    let e = actions
        .run(&api, "track_order", &json!({}), "exec-1")
        .await
        .expect_err("handler error");
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    let e = actions
        .run(&api, "teleport", &json!({}), "exec-1")
        .await
        .expect_err("unknown");
    assert_eq!(e.kind, ErrorKind::ActionNotFound);
    assert!(
        e.message.contains("create_order, track_order"),
        "{}",
        e.message
    );
}

#[test]
fn a_derived_key_goes_where_the_catalog_says() {
    let key = ProviderKey::parse("app_trans_id").expect("parses");
    let input = json!({});
    let call = ActionCall::new(&input, "01JEXEC", Some(&key));
    let request = call
        .keyed_as(
            Request::post("/create").form([("amount", "1")]),
            "260101_01JEXEC",
        )
        .expect("applies");
    assert_eq!(
        request.body,
        Body::Form(vec![
            ("amount".into(), "1".into()),
            ("app_trans_id".into(), "260101_01JEXEC".into())
        ])
    );
    let unkeyed = ActionCall::new(&input, "01JEXEC", None);
    let request = unkeyed.keyed(Request::post("/x")).expect("unchanged");
    assert_eq!(request, Request::post("/x"));
}

#[tokio::test]
async fn without_a_catalog_entry_nothing_runs() {
    let actions = Actions::new("shipping-nope", TABLE);
    let e = actions
        .run(&Api { prefix: "p" }, "create_order", &json!({}), "e")
        .await
        .expect_err("fails closed");
    assert_eq!(e.kind, ErrorKind::Internal);
}

#[test]
fn a_table_that_disagrees_with_the_catalog_fails_the_check() {
    let catalog = Catalog::embedded().expect("catalog");
    let e = Actions::new("shipping-ghn", TABLE)
        .check_catalog(&catalog)
        .expect_err("missing actions");
    assert!(e.message.contains("get_wards"), "{}", e.message);
    assert!(Actions::new("shipping-nope", TABLE)
        .check_catalog(&catalog)
        .is_err());
}

#[test]
fn provider_keys_parse_and_apply_to_every_body_shape() {
    let key = |f: &str| ProviderKey::parse(f).expect("parses");
    assert_eq!(
        key("header:Idempotency-Key"),
        ProviderKey::Header("Idempotency-Key".into())
    );
    assert_eq!(key("query:ref"), ProviderKey::Query("ref".into()));
    for bad in ["", "a..b", "header:", "query:", ".a"] {
        assert!(ProviderKey::parse(bad).is_err(), "{bad}");
    }

    let nested = key("order.id")
        .apply(
            Request::post("/o").json(json!({"order": {"name": "x"}, "id": 1})),
            "E",
        )
        .expect("applies");
    assert_eq!(
        nested.body,
        Body::Json(json!({"order": {"name": "x", "id": "E"}, "id": 1}))
    );
    let created = key("order.id")
        .apply(Request::post("/o"), "E")
        .expect("applies");
    assert_eq!(created.body, Body::Json(json!({"order": {"id": "E"}})));
    let form = key("ref")
        .apply(Request::post("/o").form([("ref", "mine"), ("a", "1")]), "E")
        .expect("applies");
    assert_eq!(
        form.body,
        Body::Form(vec![("a".into(), "1".into()), ("ref".into(), "E".into())])
    );
    let header = key("header:Idempotency-Key")
        .apply(Request::post("/o").header("idempotency-key", "old"), "E")
        .expect("applies");
    assert_eq!(header.headers, [("Idempotency-Key".into(), "E".into())]);
    let query = key("query:ref")
        .apply(Request::get("/o").query("ref", "old"), "E")
        .expect("applies");
    assert_eq!(query.query, [("ref".into(), "E".into())]);
    let read = key("ref")
        .apply(Request::get("/o").query("ref", "old"), "E")
        .expect("applies");
    assert_eq!(read.query, [("ref".into(), "E".into())]);
    assert_eq!(read.body, Body::Empty);
    assert!(key("a.b").apply(Request::delete("/o"), "E").is_err());
    assert!(key("a")
        .apply(Request::post("/o").raw("text/plain", b"x".to_vec()), "E")
        .is_err());
    assert!(key("a.b")
        .apply(Request::post("/o").json(json!({"a": 1})), "E")
        .is_err());
}

/// A declared format builds the key's value; the kit places it and hands the same value to a
/// connector that signs it. Without a providerField there is no key to build.
#[test]
fn a_declared_key_format_is_rendered_and_placed() {
    use crate::kit::{KeyFormat, KeyPart};
    const FORMAT: KeyFormat = KeyFormat(&[
        KeyPart::Text("R"),
        KeyPart::Param("app"),
        KeyPart::Text("-"),
        KeyPart::ExecutionId,
    ]);
    let key = ProviderKey::parse("m_refund_id").expect("parses");
    let input = json!({});
    let call = ActionCall::new(&input, "01JEXEC", Some(&key)).with_format(Some(&FORMAT));
    let params = [("app", "7")];
    assert_eq!(call.key(&params).ok().as_deref(), Some("R7-01JEXEC"));
    let request = call
        .keyed_with(Request::post("/refund").form([("amount", "1")]), &params)
        .expect("applies");
    assert_eq!(
        request.body,
        Body::Form(vec![
            ("amount".into(), "1".into()),
            ("m_refund_id".into(), "R7-01JEXEC".into())
        ])
    );
    assert!(call.keyed(Request::post("/refund")).is_err(), "app missing");
    let unkeyed = ActionCall::new(&input, "01JEXEC", None).with_format(Some(&FORMAT));
    assert!(unkeyed.key(&params).is_err());
    let plain = ActionCall::new(&input, "01JEXEC", Some(&key));
    assert_eq!(plain.key(&[]).ok().as_deref(), Some("01JEXEC"));
}
