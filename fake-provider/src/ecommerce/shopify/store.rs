//! The fake shop's data and the GraphQL operations the connector uses, answered with the
//! Admin API's field names and `userErrors`. Seeded with one order (gid …/Order/1001, its
//! fulfillment order …/FulfillmentOrder/4001), one product (…/Product/2001) with two variants
//! and their inventory items (…/InventoryItem/3001, 3002) at …/Location/1.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::faults::lock;

struct Order {
    id: u64,
    note: Option<String>,
    tags: Vec<String>,
    fulfilled: bool,
}

pub(crate) struct Shop {
    orders: Mutex<BTreeMap<u64, Order>>,
    /// Available quantity per inventory item at location 1.
    inventory: Mutex<BTreeMap<u64, i64>>,
    seq: Mutex<u64>,
}

impl Default for Shop {
    fn default() -> Self {
        let order = Order {
            id: 1001,
            note: None,
            tags: vec!["web".into()],
            fulfilled: false,
        };
        Self {
            orders: Mutex::new([(1001, order)].into()),
            inventory: Mutex::new([(3001, 10), (3002, 0)].into()),
            seq: Mutex::new(9000),
        }
    }
}

/// The numeric id of `gid://shopify/{kind}/{n}`.
pub(crate) fn gid(value: &Value, kind: &str) -> Option<u64> {
    value
        .as_str()?
        .strip_prefix("gid://shopify/")?
        .strip_prefix(kind)?
        .strip_prefix('/')?
        .parse()
        .ok()
}

fn user_error(field: &[&str], message: &str) -> Value {
    json!([{ "field": field, "message": message }])
}

impl Shop {
    fn next_id(&self) -> u64 {
        let mut seq = lock(&self.seq);
        *seq += 1;
        *seq
    }

    fn order_json(&self, o: &Order) -> Value {
        json!({
            "id": format!("gid://shopify/Order/{}", o.id),
            "name": format!("#{}", o.id),
            "createdAt": "2026-11-30T08:15:00Z",
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": if o.fulfilled { "FULFILLED" } else { "UNFULFILLED" },
            "email": "buyer@example.com",
            "note": o.note,
            "tags": o.tags,
            "totalPriceSet": {"shopMoney": {"amount": "259000.0", "currencyCode": "VND"}},
            "lineItems": {"nodes": [{
                "id": "gid://shopify/LineItem/5001", "title": "Áo thun", "quantity": 2,
                "sku": "TSHIRT-M", "variant": {"id": "gid://shopify/ProductVariant/2101"},
            }]},
        })
    }

    pub(crate) fn order(&self, vars: &Value) -> Value {
        let orders = lock(&self.orders);
        let found = gid(&vars["id"], "Order").and_then(|id| orders.get(&id));
        json!({ "order": found.map(|o| self.order_json(o)) })
    }

    /// `orders(first, after, query, reverse: true)`; `query` understands `tag:X`; cursors are
    /// positions.
    pub(crate) fn orders(&self, vars: &Value) -> Value {
        let orders = lock(&self.orders);
        let tag = vars["query"]
            .as_str()
            .and_then(|q| q.strip_prefix("tag:"))
            .map(str::to_string);
        let all: Vec<&Order> = orders
            .values()
            .rev()
            .filter(|o| tag.as_ref().is_none_or(|t| o.tags.contains(t)))
            .collect();
        let first = vars["first"].as_u64().unwrap_or(0) as usize;
        let start = vars["after"]
            .as_str()
            .and_then(|c| c.strip_prefix("cursor:")?.parse::<usize>().ok())
            .unwrap_or(0);
        let page: Vec<Value> = all
            .iter()
            .skip(start)
            .take(first)
            .map(|o| self.order_json(o))
            .collect();
        let end = start + page.len();
        json!({"orders": {
            "nodes": page,
            "pageInfo": {
                "hasNextPage": end < all.len(),
                "endCursor": (end > start).then(|| format!("cursor:{end}")),
            },
        }})
    }

    pub(crate) fn product(&self, vars: &Value) -> Value {
        if gid(&vars["id"], "Product") != Some(2001) {
            return json!({ "product": null });
        }
        let inventory = lock(&self.inventory);
        let variant = |id: u64, title: &str, sku: &str, item: u64| {
            json!({
                "id": format!("gid://shopify/ProductVariant/{id}"), "title": title, "sku": sku,
                "price": "129500.00", "inventoryQuantity": inventory.get(&item),
                "inventoryItem": {"id": format!("gid://shopify/InventoryItem/{item}")},
            })
        };
        json!({"product": {
            "id": "gid://shopify/Product/2001", "title": "Áo thun", "handle": "ao-thun",
            "status": "ACTIVE",
            "variants": {"nodes": [
                variant(2101, "M", "TSHIRT-M", 3001),
                variant(2102, "L", "TSHIRT-L", 3002),
            ]},
        }})
    }

    pub(crate) fn adjust(&self, vars: &Value) -> Value {
        let input = &vars["input"];
        let payload = |group: Value, errors: Value| {
            json!({"inventoryAdjustQuantities": {
                "inventoryAdjustmentGroup": group, "userErrors": errors,
            }})
        };
        if input["name"] != "available" || !input["reason"].is_string() {
            return payload(
                Value::Null,
                user_error(&["input", "name"], "The quantity name must be 'available'."),
            );
        }
        let Some(change) = input["changes"].as_array().and_then(|c| c.first()) else {
            return payload(
                Value::Null,
                user_error(&["input", "changes"], "No changes."),
            );
        };
        let mut inventory = lock(&self.inventory);
        let item = gid(&change["inventoryItemId"], "InventoryItem");
        let Some(level) = item.and_then(|i| inventory.get_mut(&i)) else {
            return payload(
                Value::Null,
                user_error(
                    &["input", "changes", "0", "inventoryItemId"],
                    "The specified inventory item could not be found.",
                ),
            );
        };
        if gid(&change["locationId"], "Location") != Some(1) {
            return payload(
                Value::Null,
                user_error(
                    &["input", "changes", "0", "locationId"],
                    "The specified location could not be found.",
                ),
            );
        }
        let Some(delta) = change["delta"].as_i64() else {
            return payload(
                Value::Null,
                user_error(&["input", "changes", "0", "delta"], "Delta is required."),
            );
        };
        *level += delta;
        drop(inventory);
        let group = json!({
            "id": format!("gid://shopify/InventoryAdjustmentGroup/{}", self.next_id()),
            "changes": [{"name": "available", "delta": delta}],
        });
        payload(group, json!([]))
    }

    pub(crate) fn fulfill(&self, vars: &Value) -> Value {
        let f = &vars["fulfillment"];
        let payload = |fulfillment: Value, errors: Value| json!({"fulfillmentCreate": {"fulfillment": fulfillment, "userErrors": errors}});
        let fo = f["lineItemsByFulfillmentOrder"]
            .as_array()
            .and_then(|l| l.first())
            .and_then(|l| gid(&l["fulfillmentOrderId"], "FulfillmentOrder"));
        if fo != Some(4001) {
            return payload(
                Value::Null,
                user_error(
                    &[
                        "fulfillment",
                        "lineItemsByFulfillmentOrder",
                        "0",
                        "fulfillmentOrderId",
                    ],
                    "Fulfillment order does not exist.",
                ),
            );
        }
        let mut orders = lock(&self.orders);
        let Some(order) = orders.get_mut(&1001) else {
            return payload(Value::Null, user_error(&["fulfillment"], "Order is gone."));
        };
        if order.fulfilled {
            return payload(
                Value::Null,
                user_error(
                    &["fulfillment"],
                    "Fulfillment order 4001 has an unfulfillable status= closed.",
                ),
            );
        }
        order.fulfilled = true;
        drop(orders);
        let tracking = &f["trackingInfo"];
        let fulfillment = json!({
            "id": format!("gid://shopify/Fulfillment/{}", self.next_id()),
            "status": "SUCCESS",
            "trackingInfo": [{"number": tracking["number"], "company": tracking["company"]}],
        });
        payload(fulfillment, json!([]))
    }

    pub(crate) fn update(&self, vars: &Value) -> Value {
        let input = &vars["input"];
        let mut orders = lock(&self.orders);
        let Some(order) = gid(&input["id"], "Order").and_then(|id| orders.get_mut(&id)) else {
            return json!({"orderUpdate": {
                "order": null, "userErrors": user_error(&["id"], "Order does not exist"),
            }});
        };
        if let Some(tags) = input["tags"].as_array() {
            order.tags = tags
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        }
        if let Some(note) = input["note"].as_str() {
            order.note = Some(note.to_string());
        }
        json!({"orderUpdate": {
            "order": {
                "id": format!("gid://shopify/Order/{}", order.id),
                "tags": order.tags, "note": order.note,
            },
            "userErrors": [],
        }})
    }
}
