//! A Shopify-style shop's orders, products and fulfillments in the Admin API's own JSON shape
//! (snake_case, money as numbers as Sapo and Haravan send it).

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Why a fulfillment was refused: the Admin API's `errors` object.
pub(crate) struct Refused(pub Value);

pub(crate) struct Shop {
    pub orders: BTreeMap<i64, Value>,
    pub products: BTreeMap<i64, Value>,
    next_fulfillment: i64,
}

fn now() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7"))
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn line(
    id: i64,
    product: i64,
    variant: i64,
    title: &str,
    sku: &str,
    qty: i64,
    price: i64,
) -> Value {
    json!({
        "id": id, "product_id": product, "variant_id": variant, "title": title,
        "variant_title": "M", "sku": sku, "quantity": qty, "fulfillable_quantity": qty,
        "price": price, "requires_shipping": true, "fulfillment_status": null,
    })
}

fn seed_order(id: i64, number: i64, created: &str, financial: &str, cancelled: bool) -> Value {
    let lines = vec![
        line(id * 10 + 1, 501, 5011, "Áo thun", "AO-THUN-M", 2, 150_000),
        line(id * 10 + 2, 502, 5021, "Mũ lưỡi trai", "MU-LT", 1, 90_000),
    ];
    let mut order = json!({
        "id": id, "name": format!("#{number}"), "order_number": number,
        "email": "an@example.vn", "financial_status": financial, "fulfillment_status": null,
        "currency": "VND", "total_price": 420_000, "subtotal_price": 390_000, "total_tax": 0,
        "total_discounts": 0, "created_at": created, "updated_at": created,
        "cancelled_at": if cancelled { json!(created) } else { Value::Null },
        "closed_at": null, "note": null, "tags": "", "line_items": lines, "fulfillments": [],
    });
    order["customer"] = json!({
        "id": 9001, "email": "an@example.vn", "first_name": "An", "last_name": "Nguyễn",
        "phone": "0901234567",
    });
    order["shipping_address"] = json!({
        "name": "Nguyễn An", "address1": "12 Lê Lợi", "address2": null, "city": "Hồ Chí Minh",
        "district": "Quận 1", "ward": "Phường Bến Nghé", "province": "Hồ Chí Minh",
        "country": "Vietnam", "zip": null, "phone": "0901234567",
    });
    order
}

fn seed_product(id: i64, title: &str, kind: &str, sku: &str, price: i64, stock: i64) -> Value {
    json!({
        "id": id, "title": title, "handle": sku.to_lowercase(), "product_type": kind,
        "vendor": "Shop A", "tags": "mới", "created_at": "2026-01-05T09:00:00+07:00",
        "updated_at": "2026-01-05T09:00:00+07:00",
        "variants": [{
            "id": id * 10 + 1, "product_id": id, "title": "M", "sku": sku, "price": price,
            "inventory_quantity": stock, "barcode": null,
        }],
    })
}

impl Shop {
    pub(crate) fn seeded() -> Self {
        let orders = [
            seed_order(1001, 1001, "2026-03-01T10:00:00+07:00", "paid", false),
            seed_order(1002, 1002, "2026-03-02T11:00:00+07:00", "pending", false),
            seed_order(1003, 1003, "2026-03-03T12:00:00+07:00", "voided", true),
        ];
        let products = [
            seed_product(501, "Áo thun", "Áo", "AO-THUN-M", 150_000, 40),
            seed_product(502, "Mũ lưỡi trai", "Mũ", "MU-LT", 90_000, 0),
        ];
        Self {
            orders: orders
                .into_iter()
                .map(|o| (o["id"].as_i64().unwrap_or(0), o))
                .collect(),
            products: products
                .into_iter()
                .map(|p| (p["id"].as_i64().unwrap_or(0), p))
                .collect(),
            next_fulfillment: 7000,
        }
    }

    /// Replace the given fields (note, tags, email) of an order.
    pub(crate) fn update(
        &mut self,
        id: i64,
        fields: &serde_json::Map<String, Value>,
    ) -> Option<Value> {
        let order = self.orders.get_mut(&id)?;
        let mut changed = false;
        for key in ["note", "tags", "email"] {
            if let Some(v) = fields.get(key) {
                changed |= order[key] != *v;
                order[key] = v.clone();
            }
        }
        if changed {
            order["updated_at"] = json!(now());
        }
        Some(order.clone())
    }

    /// Fulfil the requested lines (all remaining units when none are named), refusing more
    /// units than remain, as the Admin API does.
    pub(crate) fn fulfil(&mut self, id: i64, req: &Value) -> Option<Result<Value, Refused>> {
        let order = self.orders.get_mut(&id)?;
        if !order["cancelled_at"].is_null() {
            return Some(Err(Refused(
                json!({"base": ["Cannot fulfill a cancelled order"]}),
            )));
        }
        let lines = order["line_items"].as_array().cloned().unwrap_or_default();
        let wanted: Vec<(i64, i64)> = match req.get("line_items").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .map(|l| {
                    (
                        l["id"].as_i64().unwrap_or(0),
                        l["quantity"].as_i64().unwrap_or(0),
                    )
                })
                .collect(),
            _ => lines
                .iter()
                .map(|l| {
                    (
                        l["id"].as_i64().unwrap_or(0),
                        l["fulfillable_quantity"].as_i64().unwrap_or(0),
                    )
                })
                .filter(|(_, q)| *q > 0)
                .collect(),
        };
        if wanted.is_empty() {
            return Some(Err(Refused(
                json!({"base": ["Line items are already fulfilled"]}),
            )));
        }
        for (line_id, qty) in &wanted {
            let Some(l) = lines.iter().find(|l| l["id"] == *line_id) else {
                return Some(Err(Refused(
                    json!({"line_items": [format!("{line_id} not found")]}),
                )));
            };
            if *qty < 1 || *qty > l["fulfillable_quantity"].as_i64().unwrap_or(0) {
                return Some(Err(Refused(
                    json!({"base": ["Line items are already fulfilled"]}),
                )));
            }
        }
        let items = order["line_items"].as_array_mut()?;
        for l in items.iter_mut() {
            if let Some((_, qty)) = wanted.iter().find(|(i, _)| l["id"] == *i) {
                let left = l["fulfillable_quantity"].as_i64().unwrap_or(0) - qty;
                l["fulfillable_quantity"] = json!(left);
                l["fulfillment_status"] = json!(if left == 0 { "fulfilled" } else { "partial" });
            }
        }
        let all_done = items.iter().all(|l| l["fulfillable_quantity"] == 0);
        self.next_fulfillment += 1;
        let created = now();
        let fulfillment = json!({
            "id": self.next_fulfillment, "order_id": id, "status": "success",
            "tracking_number": req.get("tracking_number"), "tracking_company": req.get("tracking_company"),
            "tracking_url": req.get("tracking_url"), "created_at": created, "updated_at": created,
            "line_items": wanted.iter().map(|(i, q)| json!({"id": i, "quantity": q})).collect::<Vec<_>>(),
        });
        order["fulfillment_status"] = json!(if all_done { "fulfilled" } else { "partial" });
        order["updated_at"] = json!(created);
        if let Some(list) = order["fulfillments"].as_array_mut() {
            list.push(fulfillment.clone());
        }
        Some(Ok(fulfillment))
    }
}
