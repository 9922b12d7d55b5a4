//! MoMo's payments and the answers kept per requestId. Locks are short and never held across
//! an await.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::faults::lock;

#[derive(Debug, Clone)]
pub(crate) struct Refund {
    pub order_id: String,
    pub amount: i64,
    pub trans_id: i64,
    pub description: String,
    pub created: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub amount: i64,
    pub extra_data: String,
    /// Set once paid.
    pub trans_id: Option<i64>,
    pub refunds: Vec<Refund>,
    order_id: String,
}

impl Payment {
    pub(crate) fn new(order_id: &str, amount: i64, body: &Map<String, Value>) -> Self {
        Self {
            amount,
            extra_data: body
                .get("extraData")
                .map(super::super::text)
                .unwrap_or_default(),
            trans_id: None,
            refunds: Vec::new(),
            order_id: order_id.to_string(),
        }
    }
}

pub(crate) enum RefundError {
    NotFound,
    TooMuch,
}

#[derive(Default)]
struct Inner {
    payments: HashMap<String, Payment>,
    /// requestId → (the body first sent, the answer given).
    requests: HashMap<String, (Map<String, Value>, Value)>,
    next_trans_id: i64,
}

pub(crate) struct Store(Mutex<Inner>);

impl Store {
    /// With one paid payment to refund.
    pub(crate) fn seeded() -> Self {
        let mut inner = Inner {
            next_trans_id: 4_100_000_000,
            ..Inner::default()
        };
        let mut paid = Payment::new(super::PAID_ORDER_ID, super::PAID_AMOUNT, &Map::new());
        paid.trans_id = Some(super::PAID_TRANS_ID);
        inner
            .payments
            .insert(super::PAID_ORDER_ID.to_string(), paid);
        Self(Mutex::new(inner))
    }

    pub(crate) fn request(&self, request_id: &str) -> Option<(Map<String, Value>, Value)> {
        lock(&self.0).requests.get(request_id).cloned()
    }

    pub(crate) fn remember(&self, request_id: String, body: Map<String, Value>, answer: Value) {
        lock(&self.0)
            .requests
            .entry(request_id)
            .or_insert((body, answer));
    }

    /// False when the orderId is taken (by a payment or a refund).
    pub(crate) fn insert_payment(&self, p: Payment) -> bool {
        let mut inner = lock(&self.0);
        if taken(&inner, &p.order_id) {
            return false;
        }
        inner.payments.insert(p.order_id.clone(), p);
        true
    }

    pub(crate) fn order_id_taken(&self, order_id: &str) -> bool {
        taken(&lock(&self.0), order_id)
    }

    pub(crate) fn payment(&self, order_id: &str) -> Option<Payment> {
        lock(&self.0).payments.get(order_id).cloned()
    }

    pub(crate) fn pay(&self, order_id: &str) -> Option<i64> {
        let mut inner = lock(&self.0);
        let next = inner.next_trans_id + 1;
        let p = inner.payments.get_mut(order_id)?;
        if let Some(t) = p.trans_id {
            return Some(t);
        }
        p.trans_id = Some(next);
        inner.next_trans_id = next;
        Some(next)
    }

    /// Refund part of the paid payment with `trans_id`; the refund's own transId.
    pub(crate) fn refund(&self, trans_id: i64, mut refund: Refund) -> Result<i64, RefundError> {
        let mut inner = lock(&self.0);
        let next = inner.next_trans_id + 1;
        let p = inner
            .payments
            .values_mut()
            .find(|p| p.trans_id == Some(trans_id))
            .ok_or(RefundError::NotFound)?;
        let refunded: i64 = p.refunds.iter().map(|r| r.amount).sum();
        if refund.amount < 1 || refunded + refund.amount > p.amount {
            return Err(RefundError::TooMuch);
        }
        refund.trans_id = next;
        p.refunds.push(refund);
        inner.next_trans_id = next;
        Ok(next)
    }
}

fn taken(inner: &Inner, order_id: &str) -> bool {
    inner.payments.contains_key(order_id)
        || inner
            .payments
            .values()
            .any(|p| p.refunds.iter().any(|r| r.order_id == order_id))
}
