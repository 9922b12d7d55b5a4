//! Orders kept in memory, indexed by GHN order code and by the merchant's client_order_code.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::faults::lock;

/// GHN's order statuses.
pub const STATUSES: &[&str] = &[
    "ready_to_pick",
    "picking",
    "cancel",
    "money_collect_picking",
    "picked",
    "storing",
    "transporting",
    "sorting",
    "delivering",
    "money_collect_delivering",
    "delivered",
    "delivery_fail",
    "waiting_to_return",
    "return",
    "return_transporting",
    "return_sorting",
    "returning",
    "return_fail",
    "returned",
    "exception",
    "damage",
    "lost",
];

/// GHN lets a shop cancel only before the parcel is picked up.
const CANCELLABLE: &[&str] = &["ready_to_pick", "picking", "money_collect_picking"];

pub(crate) struct Order {
    pub code: String,
    pub client_order_code: Option<String>,
    pub status: String,
    /// (status, time) transitions after creation.
    pub log: Vec<(String, String)>,
    /// The create request as sent, echoed back by the detail calls like GHN does.
    pub request: Map<String, Value>,
    pub sort_code: String,
    pub converted_weight: i64,
    pub created: String,
    pub updated: String,
    pub leadtime: String,
}

impl Order {
    fn to_json(&self, shop_id: i64) -> Value {
        let mut o = self.request.clone();
        let log: Vec<Value> = self
            .log
            .iter()
            .map(|(s, t)| json!({ "status": s, "updated_date": t }))
            .collect();
        let extra = json!({
            "shop_id": shop_id,
            "client_id": 500_379,
            "order_code": self.code,
            "client_order_code": self.client_order_code.clone().unwrap_or_default(),
            "sort_code": self.sort_code,
            "converted_weight": self.converted_weight,
            "status": self.status,
            "created_date": self.created,
            "order_date": self.created,
            "updated_date": self.updated,
            "leadtime": self.leadtime,
            "finish_date": if self.status == "delivered" { json!(self.updated) } else { Value::Null },
            "log": log,
        });
        if let Value::Object(extra) = extra {
            o.extend(extra);
        }
        Value::Object(o)
    }
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Default)]
struct Orders {
    by_code: HashMap<String, Order>,
    by_client: HashMap<String, String>,
    /// Create requests that reached the store per client_order_code, refused repeats included:
    /// how often a write with that idempotency key reached the provider.
    requests_by_client: HashMap<String, u64>,
}

#[derive(Default)]
pub(crate) struct OrderStore {
    seq: AtomicU64,
    inner: Mutex<Orders>,
}

/// A cancel attempt's answer for one order, as GHN reports it per order code.
pub(crate) struct CancelOutcome {
    pub result: bool,
    pub message: String,
}

impl OrderStore {
    /// Codes never repeat, not even across resets, so a stale code cannot hit a new order.
    pub(crate) fn next_code(&self) -> String {
        const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut digits = ['0'; 6];
        for d in digits.iter_mut().rev() {
            *d = char::from(DIGITS[(n % 36) as usize]);
            n /= 36;
        }
        format!("GF{}", digits.iter().collect::<String>())
    }

    /// Stores the order unless its client_order_code is taken (then hands it back).
    pub(crate) fn insert(&self, order: Order) -> Result<(), Box<Order>> {
        let mut orders = lock(&self.inner);
        if let Some(client) = &order.client_order_code {
            *orders.requests_by_client.entry(client.clone()).or_insert(0) += 1;
            if orders.by_client.contains_key(client) {
                return Err(Box::new(order));
            }
            orders.by_client.insert(client.clone(), order.code.clone());
        }
        orders.by_code.insert(order.code.clone(), order);
        Ok(())
    }

    pub(crate) fn detail(&self, code: &str, shop_id: i64) -> Option<Value> {
        lock(&self.inner)
            .by_code
            .get(code)
            .map(|o| o.to_json(shop_id))
    }

    pub(crate) fn detail_by_client(&self, client: &str, shop_id: i64) -> Option<Value> {
        let orders = lock(&self.inner);
        let code = orders.by_client.get(client)?;
        orders.by_code.get(code).map(|o| o.to_json(shop_id))
    }

    pub(crate) fn cancel(&self, code: &str) -> CancelOutcome {
        let mut orders = lock(&self.inner);
        let Some(order) = orders.by_code.get_mut(code) else {
            return CancelOutcome {
                result: false,
                message: "Đơn hàng không tồn tại".into(),
            };
        };
        if !CANCELLABLE.contains(&order.status.as_str()) {
            return CancelOutcome {
                result: false,
                message: format!("Không thể hủy đơn hàng ở trạng thái {}", order.status),
            };
        }
        transition(order, "cancel");
        CancelOutcome {
            result: true,
            message: "OK".into(),
        }
    }

    pub(crate) fn set_status(&self, code: &str, status: &str) -> Result<(), String> {
        if !STATUSES.contains(&status) {
            return Err(format!("unknown GHN status '{status}'"));
        }
        let mut orders = lock(&self.inner);
        let order = orders
            .by_code
            .get_mut(code)
            .ok_or_else(|| format!("unknown order '{code}'"))?;
        transition(order, status);
        Ok(())
    }

    pub(crate) fn count(&self) -> u64 {
        lock(&self.inner).by_code.len() as u64
    }

    /// Per client_order_code: (create requests that reached the store, orders created).
    pub(crate) fn per_key(&self) -> std::collections::BTreeMap<String, (u64, u64)> {
        let orders = lock(&self.inner);
        orders
            .requests_by_client
            .iter()
            .map(|(k, n)| (k.clone(), (*n, u64::from(orders.by_client.contains_key(k)))))
            .collect()
    }

    pub(crate) fn clear(&self) {
        let mut orders = lock(&self.inner);
        orders.by_code.clear();
        orders.by_client.clear();
        orders.requests_by_client.clear();
    }
}

fn transition(order: &mut Order, status: &str) {
    let at = now();
    order.status = status.to_string();
    order.log.push((status.to_string(), at.clone()));
    order.updated = at;
}
