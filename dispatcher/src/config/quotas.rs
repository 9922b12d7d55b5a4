//! The per-tenant quota flags, and their parsing into [`TenantQuotas`].

use clap::Args;
use integrations_core::engine::{Quota, TenantQuotas};

/// Per-tenant quotas: the API enforces the submission rate, workers the executions in flight.
/// Global, because `serve` runs both roles and `api`/`worker` each one of them.
#[derive(Debug, Clone, Args)]
pub struct QuotaArgs {
    /// Submissions per second a tenant may make across the fleet (0: unlimited); above
    /// it the API answers 429 TENANT_QUOTA_EXCEEDED with Retry-After.
    #[arg(
        long,
        env = "INTEGRATIONS_TENANT_RATE",
        default_value_t = 0.0,
        global = true
    )]
    pub tenant_rate: f64,

    /// Submissions a tenant may make at once above its rate (0: one second's worth).
    #[arg(
        long,
        env = "INTEGRATIONS_TENANT_BURST",
        default_value_t = 0,
        global = true
    )]
    pub tenant_burst: u32,

    /// Executions of one tenant running at once across the fleet (0: unlimited); more wait in
    /// the queue so that other tenants' executions get the slots.
    #[arg(
        long,
        env = "INTEGRATIONS_TENANT_IN_FLIGHT",
        default_value_t = 0,
        global = true
    )]
    pub tenant_in_flight: u32,

    /// A tenant's own quota, `tenant=rate:N,burst:N,in_flight:N` (fields left out keep the
    /// defaults above); repeatable, `;`-separated in the environment variable.
    #[arg(
        long = "tenant-quota",
        env = "INTEGRATIONS_TENANT_QUOTAS",
        value_delimiter = ';',
        global = true
    )]
    pub tenant_quotas: Vec<String>,
}

impl QuotaArgs {
    /// The typed quotas; an invalid flag stops start-up.
    pub fn tenant_quotas(&self) -> Result<TenantQuotas, String> {
        if !self.tenant_rate.is_finite() || self.tenant_rate < 0.0 {
            return Err("--tenant-rate: a non-negative number".into());
        }
        let mut quotas = TenantQuotas {
            default: Quota {
                rate: self.tenant_rate,
                burst: self.tenant_burst,
                in_flight: self.tenant_in_flight,
            },
            ..TenantQuotas::default()
        };
        for spec in self.tenant_quotas.iter().filter(|s| !s.trim().is_empty()) {
            quotas.add_override(spec)?;
        }
        Ok(quotas)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::config::Cli;

    #[test]
    fn defaults_and_per_tenant_overrides_parse_into_one_typed_struct() {
        let cli = Cli::try_parse_from([
            "integrations",
            "--tenant-rate",
            "5",
            "--tenant-in-flight",
            "8",
            "serve",
            "--tenant-quota",
            "t1=rate:50,in_flight:20",
            "--tenant-quota",
            "t2=burst:3",
        ])
        .expect("valid flags");
        let q = cli.common.quotas.tenant_quotas().expect("valid quotas");
        assert_eq!((q.default.rate, q.default.in_flight), (5.0, 8));
        assert_eq!(q.for_tenant("t1").rate, 50.0);
        assert_eq!(q.for_tenant("t1").in_flight, 20);
        assert_eq!(q.for_tenant("t2").effective_burst(), 3);
        assert_eq!(q.for_tenant("t2").in_flight, 8, "inherits the default");

        let bad = Cli::try_parse_from(["integrations", "serve", "--tenant-quota", "t1=fast:1"])
            .expect("clap accepts the text");
        assert!(bad.common.quotas.tenant_quotas().is_err());
    }
}
