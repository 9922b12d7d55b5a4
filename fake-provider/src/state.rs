//! Shared server state. Every lock is short and never held across an await, so the fake stays
//! fast under a throughput benchmark.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::{lock, FaultQueue};
use crate::ghn::store::OrderStore;
use crate::FakeConfig;

/// What `GET /__stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Calls per provider path (without the GHN prefix, e.g. `/v2/shipping-order/create`),
    /// counting faulted calls too.
    pub calls: BTreeMap<String, u64>,
    /// Orders currently known (created since start or the last reset).
    pub orders_created: u64,
    /// Per idempotency key (GHN's client_order_code): create requests that reached the fake,
    /// refused repeats included, and the side effects (orders created: at most one per key).
    #[serde(default)]
    pub writes_by_key: BTreeMap<String, KeyWrites>,
    pub faults_pending: usize,
    pub faults_served: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrites {
    pub requests: u64,
    pub effects: u64,
}

impl Stats {
    /// Calls to one path (with or without the GHN prefix).
    pub fn calls(&self, path: &str) -> u64 {
        let path = path.strip_prefix(crate::GHN_PREFIX).unwrap_or(path);
        self.calls.get(path).copied().unwrap_or(0)
    }
}

pub(crate) struct State {
    pub token: String,
    pub shop_id: i64,
    pub latency: Duration,
    pub faults: FaultQueue,
    pub orders: OrderStore,
    calls: Mutex<HashMap<String, u64>>,
}

impl State {
    pub(crate) fn new(config: &FakeConfig) -> Self {
        Self {
            token: config.token.clone(),
            shop_id: config.shop_id,
            latency: config.latency,
            faults: FaultQueue::default(),
            orders: OrderStore::default(),
            calls: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn record_call(&self, path: &str) {
        let mut calls = lock(&self.calls);
        match calls.get_mut(path) {
            Some(n) => *n += 1,
            None => {
                calls.insert(path.to_string(), 1);
            }
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let calls = lock(&self.calls)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        Stats {
            calls,
            orders_created: self.orders.count(),
            writes_by_key: self
                .orders
                .per_key()
                .into_iter()
                .map(|(k, (requests, effects))| (k, KeyWrites { requests, effects }))
                .collect(),
            faults_pending: self.faults.pending().len(),
            faults_served: self.faults.served(),
        }
    }

    pub(crate) fn reset(&self) {
        self.faults.clear();
        self.faults.reset_served();
        self.orders.clear();
        lock(&self.calls).clear();
    }
}
