//! The fake store's orders, products and notes, in WooCommerce's own JSON shape.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::faults::lock;

/// Store time, as WooCommerce writes it (site time zone, no offset).
pub(crate) fn now() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

pub(crate) struct Shop {
    pub orders: BTreeMap<i64, Value>,
    pub products: Vec<Value>,
    pub notes: Vec<Value>,
    next_note: i64,
}

pub(crate) struct Store(Mutex<Shop>);

fn address(first: &str, city: &str, email: Option<&str>) -> Value {
    let mut a = json!({
        "first_name": first, "last_name": "Nguyễn", "company": "", "address_1": "12 Lê Lợi",
        "address_2": "", "city": city, "state": "", "postcode": "700000", "country": "VN",
        "phone": "0901234567",
    });
    if let Some(e) = email {
        a["email"] = json!(e);
    }
    a
}

fn seed_order(id: i64, status: &str, customer: i64, created: &str, paid: Option<&str>) -> Value {
    let line = json!({
        "id": id * 10, "name": "Áo thun", "product_id": 11, "variation_id": 0, "quantity": 2,
        "tax_class": "", "subtotal": "300000", "subtotal_tax": "0", "total": "300000",
        "total_tax": "0", "taxes": [], "meta_data": [], "sku": "AO-THUN", "price": 150000,
    });
    let mut order = json!({
        "id": id, "parent_id": 0, "number": id.to_string(), "order_key": format!("wc_order_{id}"),
        "created_via": "checkout", "version": "9.4.2", "status": status, "currency": "VND",
        "date_created": created, "date_created_gmt": created, "date_modified": created,
        "date_modified_gmt": created, "discount_total": "0", "discount_tax": "0",
        "shipping_total": "30000", "shipping_tax": "0", "cart_tax": "0", "total": "330000",
        "total_tax": "0", "prices_include_tax": false, "customer_id": customer,
        "customer_note": "", "payment_method": "cod",
        "payment_method_title": "Trả tiền khi nhận hàng", "transaction_id": "",
        "date_paid": paid, "date_completed": null, "line_items": [line],
    });
    for (k, v) in [
        (
            "billing",
            address("An", "Hồ Chí Minh", Some("an@example.vn")),
        ),
        ("shipping", address("An", "Hồ Chí Minh", None)),
        ("meta_data", json!([])),
        ("shipping_lines", json!([])),
        ("fee_lines", json!([])),
        ("coupon_lines", json!([])),
        ("refunds", json!([])),
    ] {
        order[k] = v;
    }
    order
}

fn seed_product(id: i64, name: &str, sku: &str, price: &str, stock: Option<i64>) -> Value {
    json!({
        "id": id, "name": name, "slug": sku.to_lowercase(), "type": "simple", "status": "publish",
        "featured": false, "sku": sku, "price": price, "regular_price": price, "sale_price": "",
        "on_sale": false, "manage_stock": stock.is_some(), "stock_quantity": stock,
        "stock_status": if stock == Some(0) { "outofstock" } else { "instock" },
        "categories": [{"id": 15, "name": "Thời trang", "slug": "thoi-trang"}],
        "date_created": "2026-01-05T09:00:00", "date_modified": "2026-01-05T09:00:00",
    })
}

impl Store {
    pub(crate) fn seeded() -> Self {
        let orders = [
            seed_order(
                101,
                "processing",
                7,
                "2026-03-01T10:00:00",
                Some("2026-03-01T10:05:00"),
            ),
            seed_order(
                102,
                "completed",
                7,
                "2026-03-02T11:00:00",
                Some("2026-03-02T11:01:00"),
            ),
            seed_order(103, "on-hold", 0, "2026-03-03T12:00:00", None),
        ]
        .into_iter()
        .map(|o| (o["id"].as_i64().unwrap_or_default(), o))
        .collect();
        let products = vec![
            seed_product(11, "Áo thun", "AO-THUN", "150000", Some(40)),
            seed_product(12, "Quần jean", "QUAN-JEAN", "450000", Some(0)),
            seed_product(13, "Mũ lưỡi trai", "MU-LT", "90000", None),
        ];
        Self(Mutex::new(Shop {
            orders,
            products,
            notes: Vec::new(),
            next_note: 900,
        }))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Shop) -> R) -> R {
        f(&mut lock(&self.0))
    }
}

impl Shop {
    /// Newest first, as WooCommerce lists by default.
    pub(crate) fn orders_newest_first(&self) -> Vec<Value> {
        self.orders.values().rev().cloned().collect()
    }

    pub(crate) fn set_status(&mut self, id: i64, status: &str) -> Option<Value> {
        let order = self.orders.get_mut(&id)?;
        if order["status"] != status {
            let now = now();
            order["status"] = json!(status);
            order["date_modified"] = json!(now);
            if matches!(status, "processing" | "completed") && order["date_paid"].is_null() {
                order["date_paid"] = json!(now);
            }
            if status == "completed" {
                order["date_completed"] = json!(now);
            }
        }
        Some(order.clone())
    }

    pub(crate) fn add_note(&mut self, order_id: i64, note: &str, customer_note: bool) -> Value {
        self.next_note += 1;
        let created = now();
        let n = json!({
            "id": self.next_note, "author": "WooCommerce", "date_created": created,
            "date_created_gmt": created, "note": note, "customer_note": customer_note,
            "order_id": order_id,
        });
        self.notes.push(n.clone());
        n
    }
}
