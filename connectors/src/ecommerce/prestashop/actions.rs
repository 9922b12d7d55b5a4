//! PrestaShop actions: `display=full` lists with `filter[field]=[value]`, `limit=offset,count`
//! and `sort=[id_DESC]`; values (ids and flags included) arrive as strings and are typed here.
//! An order's state changes by adding an order history, sent as XML (the webservice's input
//! format), after reading the order so a repeat adds nothing.

use integrations_core::{Error, ErrorKind, Result};
use serde_json::{json, Map, Value};

use super::client::{PrestaApi, PROVIDER};
use crate::fields::{as_int, int, required_int, rows, string};
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<PrestaApi>] = &[
    Action {
        id: "list_orders",
        run: |api, call| Box::pin(list(api, call.input, &ORDERS)),
    },
    Action {
        id: "get_order",
        run: |api, call| Box::pin(get(api, call.input, &ORDERS)),
    },
    Action {
        id: "list_products",
        run: |api, call| Box::pin(list(api, call.input, &PRODUCTS)),
    },
    Action {
        id: "get_product",
        run: |api, call| Box::pin(get(api, call.input, &PRODUCTS)),
    },
    Action {
        id: "list_customers",
        run: |api, call| Box::pin(list(api, call.input, &CUSTOMERS)),
    },
    Action {
        id: "get_customer",
        run: |api, call| Box::pin(get(api, call.input, &CUSTOMERS)),
    },
    Action {
        id: "change_order_state",
        run: |api, call| Box::pin(change_order_state(api, call)),
    },
];

/// A webservice resource: its path, its list and item keys, the input naming an item, the
/// filters the catalog offers (ours → PrestaShop's field), and its mapping.
struct Resource {
    path: &'static str,
    list_key: &'static str,
    item_key: &'static str,
    id_input: &'static str,
    filters: &'static [(&'static str, &'static str)],
    map: fn(&Value, &Value) -> Result<Value>,
}

const ORDERS: Resource = Resource {
    path: "/orders",
    list_key: "orders",
    item_key: "order",
    id_input: "orderId",
    filters: &[
        ("customerId", "id_customer"),
        ("stateId", "current_state"),
        ("reference", "reference"),
    ],
    map: |o, _| order(o),
};

const PRODUCTS: Resource = Resource {
    path: "/products",
    list_key: "products",
    item_key: "product",
    id_input: "productId",
    filters: &[("reference", "reference"), ("active", "active")],
    map: product,
};

const CUSTOMERS: Resource = Resource {
    path: "/customers",
    list_key: "customers",
    item_key: "customer",
    id_input: "customerId",
    filters: &[("email", "email"), ("lastname", "lastname")],
    map: |c, _| customer(c),
};

fn bad_response(what: &str) -> Error {
    crate::ecommerce::admin_api::bad_response(PROVIDER, what)
}

/// PrestaShop's `"1"`/`"0"` flags (or real booleans).
fn flag(v: &Value, key: &str) -> bool {
    match v.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(other) => as_int(other) == Some(1),
        None => false,
    }
}

fn text(v: &Value, key: &str) -> Value {
    json!(v.get(key).and_then(Value::as_str).unwrap_or_default())
}

/// Copy `(theirs, ours)` as integers, `0` when absent (PrestaShop's "none").
fn ints(from: &Value, to: &mut Map<String, Value>, pairs: &[(&str, &str)]) {
    for (theirs, ours) in pairs {
        to.insert((*ours).into(), json!(int(from, theirs).unwrap_or(0)));
    }
}

fn texts(from: &Value, to: &mut Map<String, Value>, pairs: &[(&str, &str)]) {
    for (theirs, ours) in pairs {
        to.insert((*ours).into(), text(from, theirs));
    }
}

fn order(o: &Value) -> Result<Value> {
    if int(o, "id").is_none() {
        return Err(bad_response("the order's id"));
    }
    let mut out = Map::new();
    ints(
        o,
        &mut out,
        &[
            ("id", "id"),
            ("id_customer", "customerId"),
            ("current_state", "currentState"),
            ("id_currency", "currencyId"),
            ("id_carrier", "carrierId"),
            ("id_address_delivery", "deliveryAddressId"),
            ("id_address_invoice", "invoiceAddressId"),
        ],
    );
    texts(
        o,
        &mut out,
        &[
            ("reference", "reference"),
            ("payment", "payment"),
            ("module", "module"),
            ("total_paid", "totalPaid"),
            ("total_paid_tax_excl", "totalPaidTaxExcl"),
            ("total_paid_real", "totalPaidReal"),
            ("total_products", "totalProducts"),
            ("total_shipping", "totalShipping"),
            ("shipping_number", "shippingNumber"),
            ("date_add", "dateAdd"),
            ("date_upd", "dateUpd"),
        ],
    );
    out.insert("valid".into(), json!(flag(o, "valid")));
    let lines: Vec<Value> = rows(
        o.pointer("/associations/order_rows")
            .unwrap_or(&Value::Null),
    )
    .map(|r| {
        let mut row = Map::new();
        ints(
            r,
            &mut row,
            &[
                ("id", "id"),
                ("product_id", "productId"),
                ("product_attribute_id", "productAttributeId"),
                ("product_quantity", "quantity"),
            ],
        );
        texts(
            r,
            &mut row,
            &[
                ("product_name", "name"),
                ("product_reference", "reference"),
                ("unit_price_tax_incl", "unitPriceTaxIncl"),
                ("unit_price_tax_excl", "unitPriceTaxExcl"),
            ],
        );
        Value::Object(row)
    })
    .collect();
    out.insert("rows".into(), json!(lines));
    Ok(Value::Object(out))
}

/// A multilingual field (`[{"id": "1", "value": "…"}]`) in `language`, else the first; a plain
/// string as it is.
fn multilang(v: &Value, language: Option<i64>) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(values) => values
            .iter()
            .find(|l| language.is_some() && int(l, "id") == language)
            .or_else(|| values.first())
            .and_then(|l| string(l, "value"))
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

fn product(p: &Value, input: &Value) -> Result<Value> {
    if int(p, "id").is_none() {
        return Err(bad_response("the product's id"));
    }
    let mut out = Map::new();
    ints(
        p,
        &mut out,
        &[
            ("id", "id"),
            ("id_category_default", "categoryId"),
            ("id_manufacturer", "manufacturerId"),
        ],
    );
    texts(
        p,
        &mut out,
        &[
            ("reference", "reference"),
            ("ean13", "ean13"),
            ("price", "price"),
            ("date_add", "dateAdd"),
            ("date_upd", "dateUpd"),
        ],
    );
    out.insert(
        "name".into(),
        json!(multilang(&p["name"], int(input, "languageId"))),
    );
    out.insert("active".into(), json!(flag(p, "active")));
    Ok(Value::Object(out))
}

fn customer(c: &Value) -> Result<Value> {
    if int(c, "id").is_none() {
        return Err(bad_response("the customer's id"));
    }
    let mut out = Map::new();
    ints(
        c,
        &mut out,
        &[("id", "id"), ("id_default_group", "groupId")],
    );
    texts(
        c,
        &mut out,
        &[
            ("firstname", "firstname"),
            ("lastname", "lastname"),
            ("email", "email"),
            ("date_add", "dateAdd"),
            ("date_upd", "dateUpd"),
        ],
    );
    out.insert("active".into(), json!(flag(c, "active")));
    out.insert("newsletter".into(), json!(flag(c, "newsletter")));
    Ok(Value::Object(out))
}

/// A filter value as PrestaShop writes it: `[value]`, flags as 1/0. Brackets, `|` and `%`
/// are its operators, so values holding them are refused rather than sent as a wider filter.
fn filter_value(v: &Value) -> Result<String> {
    let raw = match v {
        Value::Bool(b) => i64::from(*b).to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(Error::validation(
                "a filter must be text, a number or a flag",
            ))
        }
    };
    if raw.contains(['[', ']', '|', '%', ',']) {
        return Err(Error::validation(format!(
            "the filter value '{raw}' holds one of PrestaShop's filter operators ([ ] | % ,)"
        )));
    }
    Ok(format!("[{raw}]"))
}

async fn list(api: &PrestaApi, input: &Value, r: &Resource) -> Result<Value> {
    let offset = int(input, "offset").unwrap_or(0);
    let limit = int(input, "limit").unwrap_or(50);
    let mut request = api
        .get(r.path)
        .query("display", "full")
        .query("sort", "[id_DESC]")
        .query("limit", format!("{offset},{limit}"));
    for (ours, theirs) in r.filters {
        if let Some(v) = input.get(*ours) {
            request = request.query(format!("filter[{theirs}]"), filter_value(v)?);
        }
    }
    let (from, to) = (string(input, "dateFrom"), string(input, "dateTo"));
    if from.is_some() || to.is_some() {
        let range = format!(
            "[{},{}]",
            from.unwrap_or("0000-00-00 00:00:00"),
            to.unwrap_or("9999-12-31 23:59:59")
        );
        request = request.query("filter[date_add]", range).query("date", "1");
    }
    if let Some(lang) = int(input, "languageId") {
        request = request.query("language", lang.to_string());
    }
    let body = api.call(request).await?;
    // An empty list is a bare `[]`, not `{"orders": []}`.
    let items = match &body {
        Value::Array(a) if a.is_empty() => Vec::new(),
        _ => body
            .get(r.list_key)
            .and_then(Value::as_array)
            .ok_or_else(|| bad_response(r.list_key))?
            .iter()
            .map(|item| (r.map)(item, input))
            .collect::<Result<Vec<_>>>()?,
    };
    Ok(json!({ r.list_key: items, "offset": offset, "limit": limit }))
}

async fn get(api: &PrestaApi, input: &Value, r: &Resource) -> Result<Value> {
    let id = required_int(input, r.id_input)?;
    let mut request = api.get(&format!("{}/{id}", r.path));
    if let Some(lang) = int(input, "languageId") {
        request = request.query("language", lang.to_string());
    }
    let body = api.call(request).await?;
    let item = body
        .get(r.item_key)
        .ok_or_else(|| bad_response(r.item_key))?;
    (r.map)(item, input)
}

async fn change_order_state(api: &PrestaApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let order_id = required_int(input, "orderId")?;
    let state = required_int(input, "stateId")?;
    let current = get(api, &json!({ "orderId": order_id }), &ORDERS).await?;
    if current["currentState"] == state {
        return Ok(json!({
            "orderId": order_id, "stateId": state, "historyId": null,
            "alreadyInState": true, "dateAdd": null,
        }));
    }
    // The webservice takes XML input; both values are integers, so nothing needs escaping.
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><prestashop><order_history>\
         <id_order>{order_id}</id_order><id_order_state>{state}</id_order_state>\
         </order_history></prestashop>"
    );
    let send_email = input.get("sendEmail").and_then(Value::as_bool) == Some(true);
    let mut request = Request::post("/order_histories")
        .query("output_format", "JSON")
        .raw("application/xml", xml.into_bytes());
    if send_email {
        request = request.query("sendemail", "1");
    }
    let body = api.call(request).await?;
    let history = body
        .get("order_history")
        .ok_or_else(|| bad_response("order_history"))?;
    let id = int(history, "id").ok_or_else(|| {
        Error::new(
            ErrorKind::ProviderBadResponse,
            "PrestaShop's order history has no id",
        )
        .with_request_sent(true)
    })?;
    Ok(json!({
        "orderId": order_id, "stateId": int(history, "id_order_state").unwrap_or(state),
        "historyId": id, "alreadyInState": false, "dateAdd": string(history, "date_add"),
    }))
}
