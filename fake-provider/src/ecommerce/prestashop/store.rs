//! The fake shop's orders, products, customers and order histories in the webservice's JSON
//! shape: ids as numbers, every other value (other ids, flags, amounts) as strings.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// Order states of a fresh PrestaShop (order_states 1–14).
pub(crate) const STATES: std::ops::RangeInclusive<i64> = 1..=14;

pub(crate) struct Shop {
    pub orders: BTreeMap<i64, Value>,
    pub products: BTreeMap<i64, Value>,
    pub customers: BTreeMap<i64, Value>,
    pub histories: Vec<Value>,
}

pub(crate) fn now() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn order(id: i64, reference: &str, customer: i64, state: i64, created: &str) -> Value {
    let rows = json!([{
        "id": (id * 10).to_string(), "product_id": "1", "product_attribute_id": "0",
        "product_quantity": "2", "product_name": "Hummingbird printed t-shirt - Size : S",
        "product_reference": "demo_1", "product_ean13": "", "product_price": "23.900000",
        "unit_price_tax_incl": "23.900000", "unit_price_tax_excl": "23.900000",
    }]);
    json!({
        "id": id, "id_address_delivery": "5", "id_address_invoice": "5", "id_cart": id.to_string(),
        "id_currency": "1", "id_lang": "1", "id_customer": customer.to_string(), "id_carrier": "2",
        "current_state": state.to_string(), "module": "ps_checkpayment", "invoice_number": "0",
        "delivery_number": "0", "valid": if matches!(state, 2..=5) { "1" } else { "0" },
        "date_add": created, "date_upd": created, "shipping_number": "", "id_shop": "1",
        "payment": "Payments by check", "total_paid": "54.800000",
        "total_paid_tax_incl": "54.800000", "total_paid_tax_excl": "54.800000",
        "total_paid_real": "0.000000", "total_products": "47.800000",
        "total_shipping": "7.000000", "reference": reference, "associations": {"order_rows": rows},
    })
}

fn product(id: i64, en: &str, vi: &str, reference: &str, price: &str, active: bool) -> Value {
    json!({
        "id": id, "id_manufacturer": "1", "id_category_default": "4", "reference": reference,
        "ean13": "", "price": price, "active": if active { "1" } else { "0" },
        "name": [{"id": "1", "value": en}, {"id": "2", "value": vi}],
        "date_add": "2026-01-05 09:00:00", "date_upd": "2026-01-05 09:00:00",
    })
}

fn customer(id: i64, first: &str, last: &str, email: &str) -> Value {
    json!({
        "id": id, "id_default_group": "3", "firstname": first, "lastname": last,
        "email": email, "active": "1", "newsletter": "0",
        "date_add": "2026-01-02 08:00:00", "date_upd": "2026-01-02 08:00:00",
    })
}

impl Shop {
    pub(crate) fn seeded() -> Self {
        let by_id = |items: Vec<Value>| -> BTreeMap<i64, Value> {
            items
                .into_iter()
                .map(|v| (v["id"].as_i64().unwrap_or(0), v))
                .collect()
        };
        Self {
            orders: by_id(vec![
                order(1, "XKBKNABJK", 2, 2, "2026-03-01 10:00:00"),
                order(2, "OHSATSERP", 2, 3, "2026-03-02 11:00:00"),
                order(3, "UOYEVOLIS", 3, 1, "2026-03-03 12:00:00"),
            ]),
            products: by_id(vec![
                product(
                    1,
                    "Hummingbird printed t-shirt",
                    "Áo thun in chim ruồi",
                    "demo_1",
                    "23.900000",
                    true,
                ),
                product(
                    2,
                    "Hummingbird printed sweater",
                    "Áo len in chim ruồi",
                    "demo_3",
                    "35.900000",
                    true,
                ),
                product(
                    3,
                    "Mug The best is yet to come",
                    "Cốc",
                    "demo_11",
                    "11.900000",
                    false,
                ),
            ]),
            customers: by_id(vec![
                customer(2, "John", "DOE", "pub@prestashop.com"),
                customer(3, "An", "Nguyen", "an@example.vn"),
            ]),
            histories: Vec::new(),
        }
    }

    /// Add an order history: the order moves to `state`.
    pub(crate) fn add_history(&mut self, order_id: i64, state: i64) -> Option<Value> {
        let order = self.orders.get_mut(&order_id)?;
        let at = now();
        order["current_state"] = json!(state.to_string());
        order["date_upd"] = json!(at);
        let history = json!({
            "id": 100 + self.histories.len() as i64 + 1, "id_employee": "0",
            "id_order_state": state.to_string(), "id_order": order_id.to_string(), "date_add": at,
        });
        self.histories.push(history.clone());
        Some(history)
    }
}
