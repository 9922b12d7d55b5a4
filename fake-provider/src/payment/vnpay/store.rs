//! VNPay's transactions (by TxnRef and creation date) and the request ids seen. Locks are
//! short and never held across an await.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use crate::faults::lock;

#[derive(Debug, Clone)]
pub(crate) struct Txn {
    pub txn_ref: String,
    pub create_date: String,
    /// VND.
    pub amount: i64,
    pub refunded: i64,
    pub order_info: String,
    pub pay_date: String,
    pub transaction_no: String,
    /// 01 payment, 02 full refund, 03 partial refund.
    pub transaction_type: String,
    /// 00 paid, 05 refund in progress.
    pub status: String,
}

impl Txn {
    pub(crate) fn paid(txn_ref: &str, create_date: &str, amount: i64, order_info: &str) -> Self {
        Self {
            txn_ref: txn_ref.to_string(),
            create_date: create_date.to_string(),
            amount,
            refunded: 0,
            order_info: order_info.to_string(),
            pay_date: super::super::vietnam_now("%Y%m%d%H%M%S"),
            transaction_no: String::new(),
            transaction_type: "01".into(),
            status: "00".into(),
        }
    }
}

pub(crate) enum RefundError {
    NotFound,
    Refused,
}

#[derive(Default)]
struct Inner {
    txns: HashMap<String, Txn>,
    request_ids: HashSet<String>,
    next_no: u64,
}

pub(crate) struct Store(Mutex<Inner>);

impl Store {
    pub(crate) fn seeded() -> Self {
        let mut seed = Txn::paid(
            super::PAID_TXN_REF,
            super::PAID_CREATE_DATE,
            super::PAID_AMOUNT,
            "Seed payment",
        );
        seed.transaction_no = super::PAID_TRANSACTION_NO.to_string();
        seed.pay_date = super::PAID_CREATE_DATE.to_string();
        let mut inner = Inner {
            next_no: 14_100_000,
            ..Inner::default()
        };
        inner.txns.insert(seed.txn_ref.clone(), seed);
        Self(Mutex::new(inner))
    }

    /// Record a paid transaction (with a new transaction number); None when the TxnRef exists.
    pub(crate) fn insert(&self, mut t: Txn) -> Option<Txn> {
        let mut inner = lock(&self.0);
        if inner.txns.contains_key(&t.txn_ref) {
            return None;
        }
        inner.next_no += 1;
        t.transaction_no = inner.next_no.to_string();
        inner.txns.insert(t.txn_ref.clone(), t.clone());
        Some(t)
    }

    /// False when the request id was already used.
    pub(crate) fn new_request_id(&self, id: &str) -> bool {
        lock(&self.0).request_ids.insert(id.to_string())
    }

    pub(crate) fn get(&self, txn_ref: &str, create_date: &str) -> Option<Txn> {
        lock(&self.0)
            .txns
            .get(txn_ref)
            .filter(|t| t.create_date == create_date)
            .cloned()
    }

    pub(crate) fn refund(
        &self,
        txn_ref: &str,
        date: &str,
        amount: i64,
        kind: &str,
    ) -> Result<Txn, RefundError> {
        let mut inner = lock(&self.0);
        let t = inner
            .txns
            .get_mut(txn_ref)
            .filter(|t| t.create_date == date)
            .ok_or(RefundError::NotFound)?;
        let full = kind == "02";
        if t.refunded + amount > t.amount || (full && amount != t.amount - t.refunded) {
            return Err(RefundError::Refused);
        }
        t.refunded += amount;
        t.transaction_type = kind.to_string();
        t.status = "05".into();
        Ok(t.clone())
    }
}
