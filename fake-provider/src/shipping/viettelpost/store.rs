//! Viettel Post's master data, prices and orders, in memory and deterministic.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::faults::lock;

/// (PROVINCE_ID, PROVINCE_CODE, PROVINCE_NAME)
pub const PROVINCES: &[(i64, &str, &str)] = &[
    (1, "HNI", "Hà Nội"),
    (2, "HCM", "Hồ Chí Minh"),
    (3, "DNG", "Đà Nẵng"),
];
/// (DISTRICT_ID, PROVINCE_ID, DISTRICT_VALUE, DISTRICT_NAME)
pub const DISTRICTS: &[(i64, i64, &str, &str)] = &[
    (4, 1, "HK", "Quận Hoàn Kiếm"),
    (5, 1, "BD", "Quận Ba Đình"),
    (43, 2, "Q1", "Quận 1"),
    (44, 2, "Q3", "Quận 3"),
    (60, 3, "HC", "Quận Hải Châu"),
];
/// (WARDS_ID, DISTRICT_ID, WARDS_NAME)
pub const WARDS: &[(i64, i64, &str)] = &[
    (31, 4, "Phường Hàng Bạc"),
    (32, 4, "Phường Tràng Tiền"),
    (510, 43, "Phường Bến Nghé"),
    (511, 43, "Phường Bến Thành"),
    (700, 60, "Phường Thạch Thang"),
];
/// (service code, name, base price, delivery time)
pub const SERVICES: &[(&str, &str, i64, &str)] = &[
    ("VCN", "Chuyển phát nhanh", 25_000, "24 giờ"),
    ("VHT", "Chuyển phát tiêu chuẩn", 18_000, "48 giờ"),
    ("LCOD", "TMĐT phát nhanh", 22_000, "36 giờ"),
];

/// Orders may be cancelled while their ORDER_STATUS is below this (picked up from 200 on).
pub const PICKED_UP: i64 = 200;
pub const NEW: i64 = -100;
pub const CANCELLED: i64 = 107;

pub(crate) fn district_in(district: i64, province: i64) -> bool {
    DISTRICTS.iter().any(|d| d.0 == district && d.1 == province)
}

/// One service's price on a route: base + 5,000 per started 500 g above 500 g, +10,000
/// across provinces; cash collection 1 %; VAT 8 % of both.
#[derive(Debug, Clone, Copy)]
pub struct Price {
    pub fee: i64,
    pub collection_fee: i64,
    pub vat: i64,
    pub total: i64,
    pub exchange_weight: i64,
}

pub fn price(base: i64, same_province: bool, grams: i64, cod: i64) -> Price {
    let mut fee = base + 5_000 * (((grams - 500).max(0) + 499) / 500);
    if !same_province {
        fee += 10_000;
    }
    let collection_fee = cod / 100;
    let vat = (fee + collection_fee) * 8 / 100;
    Price {
        fee,
        collection_fee,
        vat,
        total: fee + collection_fee + vat,
        exchange_weight: grams,
    }
}

impl Price {
    pub(crate) fn to_json(self) -> Value {
        json!({
            "MONEY_TOTAL_OLD": self.total, "MONEY_TOTAL": self.total,
            "MONEY_TOTAL_FEE": self.fee + self.collection_fee, "MONEY_FEE": self.fee,
            "MONEY_COLLECTION_FEE": self.collection_fee, "MONEY_FEE_VAT": self.vat,
            "MONEY_VAT": self.vat, "KPI_HT": 24, "EXCHANGE_WEIGHT": self.exchange_weight,
        })
    }
}

#[derive(Clone)]
pub(crate) struct Order {
    /// VTP's own code, answered as data.ORDER_NUMBER.
    pub code: String,
    /// The partner's ORDER_NUMBER from the request.
    pub partner: Option<String>,
    pub status: i64,
    pub price: Price,
    pub cod: i64,
    pub receiver: (i64, i64, i64),
}

impl Order {
    pub(crate) fn to_json(&self) -> Value {
        let mut v = self.price.to_json();
        v["ORDER_NUMBER"] = json!(self.code);
        v["MONEY_COLLECTION"] = json!(self.cod);
        v["RECEIVER_PROVINCE"] = json!(self.receiver.0);
        v["RECEIVER_DISTRICT"] = json!(self.receiver.1);
        v["RECEIVER_WARDS"] = json!(self.receiver.2);
        v
    }
}

#[derive(Default)]
struct Orders {
    by_code: HashMap<String, Order>,
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
    PickedUp(i64),
}

impl Store {
    pub(crate) fn next_code(&self) -> String {
        format!("17{:011}", self.seq.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Stores the order unless its partner ORDER_NUMBER is taken; then answers the first.
    pub(crate) fn insert(&self, order: Order) -> Result<(), Box<Order>> {
        let mut orders = lock(&self.inner);
        if let Some(partner) = &order.partner {
            if let Some(first) = orders
                .by_partner
                .get(partner)
                .and_then(|c| orders.by_code.get(c))
            {
                return Err(Box::new(first.clone()));
            }
            orders
                .by_partner
                .insert(partner.clone(), order.code.clone());
        }
        orders.by_code.insert(order.code.clone(), order);
        Ok(())
    }

    pub(crate) fn cancel(&self, code: &str) -> Cancel {
        let mut orders = lock(&self.inner);
        let Some(order) = orders.by_code.get_mut(code) else {
            return Cancel::NotFound;
        };
        match order.status {
            CANCELLED => Cancel::AlreadyCancelled,
            s if s >= PICKED_UP => Cancel::PickedUp(s),
            _ => {
                order.status = CANCELLED;
                Cancel::Done
            }
        }
    }

    pub(crate) fn set_status(&self, code: &str, status: i64) -> Result<(), String> {
        let mut orders = lock(&self.inner);
        let order = orders
            .by_code
            .get_mut(code)
            .ok_or_else(|| format!("unknown Viettel Post order '{code}'"))?;
        order.status = status;
        Ok(())
    }

    pub(crate) fn count(&self) -> usize {
        lock(&self.inner).by_code.len()
    }
}
