//! Tenant quotas and the worker's fair share of slots.
//!
//! A quota bounds a tenant's submissions per second (checked by the API, see
//! `dispatcher/src/admission.rs`) and its executions in flight in one worker process (checked
//! here). An execution whose tenant is at its in-flight cap is not claimed: its message goes back
//! to the queue with a short delay (a delay is not an attempt), so the worker's slots go to other
//! tenants' messages instead of every slot filling with one tenant's flood.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// One tenant's quota. Zero means unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Submissions per second accepted by one API process.
    pub rate: f64,
    /// Submissions accepted at once above the rate (a token bucket's size); 0: one second's
    /// worth of `rate`.
    pub burst: u32,
    /// Executions running at once in one worker process.
    pub in_flight: u32,
}

impl Quota {
    pub const UNLIMITED: Quota = Quota {
        rate: 0.0,
        burst: 0,
        in_flight: 0,
    };

    /// The bucket size the rate is enforced with: at least one submission.
    pub fn effective_burst(&self) -> u32 {
        if self.burst > 0 {
            self.burst
        } else {
            (self.rate.ceil() as u32).max(1)
        }
    }
}

/// The default quota and the tenants that have their own.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantQuotas {
    pub default: Quota,
    pub overrides: BTreeMap<String, Quota>,
}

impl Default for TenantQuotas {
    fn default() -> Self {
        Self {
            default: Quota::UNLIMITED,
            overrides: BTreeMap::new(),
        }
    }
}

impl TenantQuotas {
    pub fn for_tenant(&self, tenant_id: &str) -> &Quota {
        self.overrides.get(tenant_id).unwrap_or(&self.default)
    }

    /// Add an override, `tenant=rate:50,burst:100,in_flight:20`; fields left out keep the
    /// default's value.
    pub fn add_override(&mut self, spec: &str) -> Result<(), String> {
        let bad = |why: &str| format!("--tenant-quota '{spec}': {why}");
        let (tenant, fields) = spec
            .split_once('=')
            .ok_or_else(|| bad("expected tenant=rate:N,burst:N,in_flight:N"))?;
        let tenant = tenant.trim();
        if tenant.is_empty() {
            return Err(bad("empty tenant id"));
        }
        let mut quota = self.default;
        for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let (name, value) = field
                .split_once(':')
                .ok_or_else(|| bad("expected name:value"))?;
            let value = value.trim();
            match name.trim() {
                "rate" => {
                    quota.rate = value
                        .parse::<f64>()
                        .ok()
                        .filter(|r| r.is_finite() && *r >= 0.0)
                        .ok_or_else(|| bad("rate: a non-negative number"))?
                }
                "burst" => {
                    quota.burst = value
                        .parse()
                        .map_err(|_| bad("burst: a non-negative integer"))?
                }
                "in_flight" => {
                    quota.in_flight = value
                        .parse()
                        .map_err(|_| bad("in_flight: a non-negative integer"))?
                }
                other => return Err(bad(&format!("unknown field '{other}'"))),
            }
        }
        self.overrides.insert(tenant.to_string(), quota);
        Ok(())
    }
}

/// Executions in flight per tenant in this process.
#[derive(Default)]
pub(crate) struct TenantSlots {
    counts: Mutex<HashMap<String, u32>>,
}

/// A tenant's slot, given back when dropped (whatever way the execution ends).
pub(crate) struct TenantSlot<'a> {
    slots: &'a TenantSlots,
    tenant: String,
}

impl TenantSlots {
    /// A slot for `tenant` unless it already holds `cap` (0: no cap).
    pub(crate) fn try_start(&self, tenant: &str, cap: u32) -> Option<TenantSlot<'_>> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(tenant.to_string()).or_insert(0);
        if cap > 0 && *n >= cap {
            return None;
        }
        *n += 1;
        Some(TenantSlot {
            slots: self,
            tenant: tenant.to_string(),
        })
    }
}

impl Drop for TenantSlot<'_> {
    fn drop(&mut self) {
        let mut counts = self.slots.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            // Idle tenants leave no entry: the map holds only tenants running now.
            if *n == 0 {
                counts.remove(&self.tenant);
            }
        }
    }
}

/// The delay of a message put back for its tenant's cap: `base` plus up to `base` of jitter, so
/// that a flood's messages do not all come back in the same instant.
pub(crate) fn requeue_delay(base: Duration) -> Duration {
    base + base.mul_f64(rand::thread_rng().gen::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_inherit_what_they_leave_out() {
        let mut q = TenantQuotas {
            default: Quota {
                rate: 10.0,
                burst: 0,
                in_flight: 4,
            },
            ..TenantQuotas::default()
        };
        q.add_override("t1=rate:50, in_flight:20").expect("valid");
        q.add_override("t2=burst:7").expect("valid");
        assert_eq!(
            *q.for_tenant("t1"),
            Quota {
                rate: 50.0,
                burst: 0,
                in_flight: 20
            }
        );
        assert_eq!(q.for_tenant("t1").effective_burst(), 50);
        assert_eq!(q.for_tenant("t2").effective_burst(), 7);
        assert_eq!(q.for_tenant("t2").in_flight, 4);
        assert_eq!(*q.for_tenant("other"), q.default);
        for bad in [
            "t1",
            "=rate:1",
            "t1=rate:-1",
            "t1=speed:3",
            "t1=in_flight:x",
        ] {
            assert!(q.add_override(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_tenant_at_its_cap_gets_no_slot_until_one_is_given_back() {
        let slots = TenantSlots::default();
        let a1 = slots.try_start("a", 2).expect("first");
        let _a2 = slots.try_start("a", 2).expect("second");
        assert!(slots.try_start("a", 2).is_none(), "at the cap");
        assert!(
            slots.try_start("b", 2).is_some(),
            "other tenants unaffected"
        );
        drop(a1);
        assert!(slots.try_start("a", 2).is_some());
        assert!(slots.try_start("c", 0).is_some(), "0 is no cap");
    }
}
