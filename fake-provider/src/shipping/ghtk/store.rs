//! GHTK orders in memory, by label and by the merchant's order id (`partner_id`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::faults::lock;

/// GHTK lets a shop cancel only before pick-up: not received, received, picking up.
const CANCELLABLE: &[i64] = &[1, 2, 12];
pub const CANCELLED: i64 = -1;

/// GHTK's status texts for the statuses the fake uses.
pub fn status_text(status: i64) -> &'static str {
    match status {
        -1 => "Hủy đơn hàng",
        1 => "Chưa tiếp nhận",
        2 => "Đã tiếp nhận",
        3 => "Đã lấy hàng/Đã nhập kho",
        4 => "Đã điều phối giao hàng/Đang giao hàng",
        5 => "Đã giao hàng/Chưa đối soát",
        6 => "Đã đối soát",
        7 => "Không lấy được hàng",
        8 => "Hoãn lấy hàng",
        9 => "Không giao được hàng",
        10 => "Delay giao hàng",
        11 => "Đã đối soát công nợ trả hàng",
        12 => "Đang lấy hàng",
        13 => "Đơn hàng bồi hoàn",
        20 => "Đang trả hàng",
        21 => "Đã trả hàng",
        _ => "Không xác định",
    }
}

#[derive(Clone)]
pub(crate) struct Order {
    pub label: String,
    pub partner_id: String,
    pub status: i64,
    pub created: String,
    pub modified: String,
    pub fee: i64,
    pub insurance_fee: i64,
    pub value: i64,
    pub weight_grams: i64,
    pub pick_money: i64,
    pub pick_date: String,
    pub deliver_date: String,
}

impl Order {
    /// GET /services/shipment/v2/{label}: GHTK sends most numbers as strings.
    pub(crate) fn detail(&self) -> Value {
        json!({
            "label_id": self.label,
            "partner_id": self.partner_id,
            "status": self.status.to_string(),
            "status_text": status_text(self.status),
            "created": self.created,
            "modified": self.modified,
            "message": "",
            "pick_date": self.pick_date,
            "deliver_date": self.deliver_date,
            "ship_money": self.fee.to_string(),
            "insurance": self.insurance_fee.to_string(),
            "value": self.value.to_string(),
            "weight": self.weight_grams.to_string(),
            "pick_money": self.pick_money,
            "is_freeship": "0",
        })
    }
}

#[derive(Default)]
struct Orders {
    by_label: HashMap<String, Order>,
    by_partner: HashMap<String, String>,
}

#[derive(Default)]
pub(crate) struct Store {
    seq: AtomicU64,
    inner: Mutex<Orders>,
}

pub(crate) enum Cancel {
    Done,
    NotFound,
    AlreadyCancelled,
    NotAllowed(i64),
}

impl Store {
    pub(crate) fn next_tracking_id(&self) -> u64 {
        2_001_297_580 + self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Stores the order unless its partner id is taken; then answers the first order.
    pub(crate) fn insert(&self, order: Order) -> Result<(), Box<Order>> {
        let mut orders = lock(&self.inner);
        if let Some(first) = orders
            .by_partner
            .get(&order.partner_id)
            .and_then(|l| orders.by_label.get(l))
        {
            return Err(Box::new(first.clone()));
        }
        orders
            .by_partner
            .insert(order.partner_id.clone(), order.label.clone());
        orders.by_label.insert(order.label.clone(), order);
        Ok(())
    }

    /// By label, or by `partner_id:{id}` as GHTK also accepts.
    pub(crate) fn get(&self, key: &str) -> Option<Order> {
        let orders = lock(&self.inner);
        let label = match key.strip_prefix("partner_id:") {
            Some(id) => orders.by_partner.get(id)?.clone(),
            None => key.to_string(),
        };
        orders.by_label.get(&label).cloned()
    }

    pub(crate) fn cancel(&self, key: &str) -> Cancel {
        let Some(order) = self.get(key) else {
            return Cancel::NotFound;
        };
        let mut orders = lock(&self.inner);
        let Some(order) = orders.by_label.get_mut(&order.label) else {
            return Cancel::NotFound;
        };
        if order.status == CANCELLED {
            return Cancel::AlreadyCancelled;
        }
        if !CANCELLABLE.contains(&order.status) {
            return Cancel::NotAllowed(order.status);
        }
        order.status = CANCELLED;
        order.modified = super::super::now_vn();
        Cancel::Done
    }

    pub(crate) fn set_status(&self, label: &str, status: i64) -> Result<(), String> {
        let mut orders = lock(&self.inner);
        let order = orders
            .by_label
            .get_mut(label)
            .ok_or_else(|| format!("unknown GHTK label '{label}'"))?;
        order.status = status;
        order.modified = super::super::now_vn();
        Ok(())
    }

    pub(crate) fn count(&self) -> usize {
        lock(&self.inner).by_label.len()
    }
}
