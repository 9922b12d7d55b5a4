//! ZaloPay's orders and refunds. Locks are short and never held across an await.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::faults::lock;

#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub amount: i64,
    /// Set once paid.
    pub zp_trans_id: Option<i64>,
    app_trans_id: String,
}

impl Order {
    pub(crate) fn new(app_trans_id: &str, amount: i64) -> Self {
        Self {
            amount,
            zp_trans_id: None,
            app_trans_id: app_trans_id.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct Refund {
    refund_id: i64,
    zp_trans_id: i64,
    amount: i64,
    done: bool,
}

pub(crate) enum RefundOutcome {
    Accepted {
        refund_id: i64,
        done: bool,
    },
    /// The m_refund_id was used for another transaction or amount.
    Conflict,
    NotFound,
    TooMuch,
}

#[derive(Default)]
struct Inner {
    orders: HashMap<String, Order>,
    refunds: HashMap<String, Refund>,
    next_id: i64,
}

pub(crate) struct Store(Mutex<Inner>);

impl Store {
    pub(crate) fn seeded() -> Self {
        let mut paid = Order::new(super::PAID_APP_TRANS_ID, super::PAID_AMOUNT);
        paid.zp_trans_id = Some(super::PAID_ZP_TRANS_ID);
        let mut inner = Inner {
            next_id: 260_000_000_000_000,
            ..Inner::default()
        };
        inner.orders.insert(paid.app_trans_id.clone(), paid);
        Self(Mutex::new(inner))
    }

    /// False when the app_trans_id exists.
    pub(crate) fn insert(&self, o: Order) -> bool {
        let mut inner = lock(&self.0);
        if inner.orders.contains_key(&o.app_trans_id) {
            return false;
        }
        inner.orders.insert(o.app_trans_id.clone(), o);
        true
    }

    pub(crate) fn order(&self, id: &str) -> Option<Order> {
        lock(&self.0).orders.get(id).cloned()
    }

    pub(crate) fn pay(&self, id: &str) -> Option<i64> {
        let mut inner = lock(&self.0);
        let next = inner.next_id + 1;
        let o = inner.orders.get_mut(id)?;
        if let Some(zp) = o.zp_trans_id {
            return Some(zp);
        }
        o.zp_trans_id = Some(next);
        inner.next_id = next;
        Some(next)
    }

    pub(crate) fn refund(&self, m_refund_id: &str, zp_trans_id: i64, amount: i64) -> RefundOutcome {
        let mut inner = lock(&self.0);
        if let Some(r) = inner.refunds.get(m_refund_id) {
            return if r.zp_trans_id == zp_trans_id && r.amount == amount {
                RefundOutcome::Accepted {
                    refund_id: r.refund_id,
                    done: r.done,
                }
            } else {
                RefundOutcome::Conflict
            };
        }
        let Some(order) = inner
            .orders
            .values()
            .find(|o| o.zp_trans_id == Some(zp_trans_id))
        else {
            return RefundOutcome::NotFound;
        };
        let refunded: i64 = inner
            .refunds
            .values()
            .filter(|r| r.zp_trans_id == zp_trans_id)
            .map(|r| r.amount)
            .sum();
        if refunded + amount > order.amount {
            return RefundOutcome::TooMuch;
        }
        inner.next_id += 1;
        let refund_id = inner.next_id;
        inner.refunds.insert(
            m_refund_id.to_string(),
            Refund {
                refund_id,
                zp_trans_id,
                amount,
                done: false,
            },
        );
        RefundOutcome::Accepted {
            refund_id,
            done: false,
        }
    }

    /// A refund is done by the time anyone asks after it (ZaloPay's sandbox is as quick).
    pub(crate) fn complete_refund(&self, m_refund_id: &str) -> Option<i64> {
        let mut inner = lock(&self.0);
        let r = inner.refunds.get_mut(m_refund_id)?;
        r.done = true;
        Some(r.refund_id)
    }
}
