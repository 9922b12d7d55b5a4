//! Executions in flight per tenant, capped across the whole fleet.
//!
//! A tenant's cap is cut into at most [`MAX_BLOCKS`] blocks whose sizes add up to the cap, each
//! a named lease (`tenant-in-flight:<tenant>:<cap>:<i>`). A process runs a tenant's executions
//! only within the blocks it holds, so the fleet never runs more than the cap: a block has one
//! holder. The store is asked only when a process needs another block, renews one (every
//! `hold / 3`) or gives one back (after about two seconds unused, so that blocks move to the
//! processes that have the tenant's work). Nothing is asked per execution.
//!
//! A process that dies keeps its blocks until their leases end (`hold`): for that long the
//! tenant runs below its cap, never above it. The cap is part of the lease name, so processes
//! configured with different caps for one tenant (during a rollout) do not share blocks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::backend::{Lease, LeaseStore};
use crate::cache::LoadGates;
use crate::engine::chrono_duration;
use crate::error::Result;
use crate::model::now;

/// Blocks a cap is cut into at most: enough to share a cap among many processes, few enough
/// that a process reaches the cap in a few store requests.
pub const MAX_BLOCKS: u32 = 16;
/// How long a block is held without renewal: the capacity a dead process keeps from its tenant.
pub const DEFAULT_HOLD: Duration = Duration::from_secs(15);
/// How often held blocks are looked at (renewed when due, given back when unused).
const TICK: Duration = Duration::from_secs(1);
/// Ticks a block must have been unused before it is given back.
const IDLE_TICKS: u32 = 2;
/// After every block was found taken, how long before this process searches again (the
/// executions it turns away meanwhile go back to the queue).
const FULL_BACKOFF: Duration = Duration::from_millis(200);

/// The in-flight caps of every tenant, for one process.
pub struct InFlightSlots {
    inner: Arc<Inner>,
    renewer: OnceLock<()>,
}

struct Inner {
    leases: Arc<dyn LeaseStore>,
    owner: String,
    hold: Duration,
    tenants: Mutex<HashMap<String, Tenant>>,
    gates: LoadGates<String>,
}

#[derive(Default)]
struct Tenant {
    running: u32,
    blocks: Vec<Block>,
    /// A search found every block taken: none is tried again before this instant.
    full_until: Option<Instant>,
}

struct Block {
    name: String,
    size: u32,
    /// When this process stops counting on it unless renewed (a margin before the lease ends).
    valid_until: Instant,
    renew_at: Instant,
    unused_ticks: u32,
}

impl Tenant {
    fn capacity(&self, at: Instant) -> u32 {
        self.blocks
            .iter()
            .filter(|b| b.valid_until > at)
            .map(|b| b.size)
            .sum()
    }
}

/// One execution's place under its tenant's cap, given back when dropped.
pub struct InFlightSlot {
    held: Option<(Weak<Inner>, String)>,
}

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        if let Some((inner, tenant)) = self.held.take() {
            if let Some(inner) = inner.upgrade() {
                let mut tenants = inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(t) = tenants.get_mut(&tenant) {
                    t.running = t.running.saturating_sub(1);
                }
            }
        }
    }
}

/// The size of block `i` of `cap`: the blocks add up to the cap exactly.
fn block_size(cap: u32, i: u32) -> u32 {
    let n = cap.min(MAX_BLOCKS);
    cap / n + u32::from(i < cap % n)
}

impl InFlightSlots {
    pub fn new(leases: Arc<dyn LeaseStore>, owner: impl Into<String>, hold: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                leases,
                owner: owner.into(),
                hold,
                tenants: Mutex::new(HashMap::new()),
                gates: LoadGates::default(),
            }),
            renewer: OnceLock::new(),
        }
    }

    /// A place for one more of `tenant`'s executions unless the fleet already runs `cap` of
    /// them (0: no cap). An error only when the store cannot be asked.
    pub async fn try_start(&self, tenant: &str, cap: u32) -> Result<Option<InFlightSlot>> {
        if cap == 0 {
            return Ok(Some(InFlightSlot { held: None }));
        }
        // Started on first use, inside the runtime; it ends when `self` is dropped.
        self.renewer.get_or_init(|| {
            tokio::spawn(tick_forever(Arc::downgrade(&self.inner)));
        });
        let inner = &self.inner;
        if let Some(taken) = self.take_local(tenant) {
            return Ok(taken);
        }
        // One search per tenant at a time in this process; the others wait for its block.
        let _turn = inner.gates.turn(&tenant.to_string()).await;
        if let Some(taken) = self.take_local(tenant) {
            return Ok(taken);
        }
        let blocks = cap.min(MAX_BLOCKS);
        let start = rand::thread_rng().gen_range(0..blocks);
        for i in (0..blocks).map(|k| (start + k) % blocks) {
            let name = format!("tenant-in-flight:{tenant}:{cap}:{i}");
            if self.holds(tenant, &name) {
                continue;
            }
            let asked = Instant::now();
            let lease = Lease {
                owner: inner.owner.clone(),
                until: now() + chrono_duration(inner.hold),
            };
            if inner.leases.acquire_lease(&name, &lease, now()).await? {
                let mut tenants = inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
                let t = tenants.entry(tenant.to_string()).or_default();
                t.blocks.push(Block {
                    name,
                    size: block_size(cap, i),
                    valid_until: asked + inner.hold.mul_f64(0.9),
                    renew_at: asked + inner.hold / 3,
                    unused_ticks: 0,
                });
                t.running += 1;
                return Ok(Some(self.slot(tenant)));
            }
        }
        let mut tenants = inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants.entry(tenant.to_string()).or_default().full_until =
            Some(Instant::now() + FULL_BACKOFF);
        Ok(None)
    }

    /// Some(answer) when the blocks held decide it: a place within them, or None while a recent
    /// search found the fleet at the cap. None when a search must ask the store.
    fn take_local(&self, tenant: &str) -> Option<Option<InFlightSlot>> {
        let mut tenants = self.inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let t = tenants.entry(tenant.to_string()).or_default();
        let at = Instant::now();
        if t.running < t.capacity(at) {
            t.running += 1;
            drop(tenants);
            return Some(Some(self.slot(tenant)));
        }
        match t.full_until {
            Some(until) if until > at => Some(None),
            _ => None,
        }
    }

    fn holds(&self, tenant: &str, name: &str) -> bool {
        let tenants = self.inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants
            .get(tenant)
            .is_some_and(|t| t.blocks.iter().any(|b| b.name == name))
    }

    fn slot(&self, tenant: &str) -> InFlightSlot {
        InFlightSlot {
            held: Some((Arc::downgrade(&self.inner), tenant.to_string())),
        }
    }
}

/// What one tick decided to ask the store, outside the lock.
enum Chore {
    Renew(String, String),
    GiveBack(String),
}

async fn tick_forever(inner: Weak<Inner>) {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        for chore in chores(&inner) {
            run(&inner, chore).await;
        }
    }
}

/// Blocks due for renewal, and blocks unused for [`IDLE_TICKS`] (given back, so a process keeps
/// what it uses and no more).
fn chores(inner: &Inner) -> Vec<Chore> {
    let mut tenants = inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
    let at = Instant::now();
    let mut chores = Vec::new();
    tenants.retain(|tenant, t| {
        t.blocks.retain(|b| b.valid_until > at);
        // Capacity this process does not use now, block by block: a block that fits in it for
        // IDLE_TICKS ticks in a row goes back (all such blocks at once).
        let mut spare = t.capacity(at).saturating_sub(t.running);
        let mut kept = Vec::with_capacity(t.blocks.len());
        for mut b in t.blocks.drain(..) {
            if b.size <= spare {
                spare -= b.size;
                b.unused_ticks += 1;
                if b.unused_ticks > IDLE_TICKS {
                    chores.push(Chore::GiveBack(b.name));
                    continue;
                }
            } else {
                b.unused_ticks = 0;
            }
            if b.renew_at <= at {
                chores.push(Chore::Renew(tenant.clone(), b.name.clone()));
            }
            kept.push(b);
        }
        t.blocks = kept;
        t.running > 0 || !t.blocks.is_empty() || t.full_until.is_some_and(|u| u > at)
    });
    chores
}

async fn run(inner: &Inner, chore: Chore) {
    match chore {
        Chore::GiveBack(name) => {
            if let Err(e) = inner.leases.release_lease(&name, &inner.owner).await {
                // It ends on its own within the hold.
                tracing::warn!(lease = %name, error = %e.chain(), "giving back an in-flight block failed");
            }
        }
        Chore::Renew(tenant, name) => {
            let asked = Instant::now();
            let lease = Lease {
                owner: inner.owner.clone(),
                until: now() + chrono_duration(inner.hold),
            };
            let renewed = match inner.leases.acquire_lease(&name, &lease, now()).await {
                Ok(renewed) => renewed,
                Err(e) => {
                    // Asked again next tick; the block stops counting when its validity ends.
                    tracing::warn!(lease = %name, error = %e.chain(), "renewing an in-flight block failed");
                    return;
                }
            };
            let mut tenants = inner.tenants.lock().unwrap_or_else(|e| e.into_inner());
            let Some(t) = tenants.get_mut(&tenant) else {
                return;
            };
            if renewed {
                if let Some(b) = t.blocks.iter_mut().find(|b| b.name == name) {
                    b.valid_until = asked + inner.hold.mul_f64(0.9);
                    b.renew_at = asked + inner.hold / 3;
                }
            } else {
                // Another process holds it: this one lost it (a stall past the hold).
                t.blocks.retain(|b| b.name != name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_add_up_to_the_cap() {
        for cap in [1, 2, 5, 15, 16, 17, 100, 600, 1001] {
            let n = cap.min(MAX_BLOCKS);
            let sizes: Vec<u32> = (0..n).map(|i| block_size(cap, i)).collect();
            assert_eq!(sizes.iter().sum::<u32>(), cap, "{cap}");
            assert!(sizes.iter().all(|s| *s >= 1), "{cap}");
        }
    }
}
