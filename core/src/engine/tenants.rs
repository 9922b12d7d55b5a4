//! Tenant quotas and the worker's fair share of slots.
//!
//! A quota bounds a tenant's submissions per second (checked by the API, see
//! `dispatcher/src/admission.rs`) and its executions in flight across the fleet (checked by the
//! engine through [`crate::limits::InFlightSlots`]). An execution whose tenant is at its in-flight
//! cap is not claimed: its message goes back to the queue with a short delay (a delay is not an
//! attempt), so the workers' slots go to other tenants' messages instead of every slot filling
//! with one tenant's flood.

use std::collections::BTreeMap;
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
    /// Executions running at once across the fleet.
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
}
