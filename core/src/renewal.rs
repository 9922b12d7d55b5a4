//! Renewing a connection's credentials (a login-then-token provider's token, an OAuth2 access
//! token) by one caller at a time across the whole fleet: in process, concurrent callers of one
//! secret take turns; across processes, a named lease in the store admits one renewer, and the
//! others wait until the secret store holds credentials other than the stale ones. The renewed
//! credentials are written back to the secret store, which remains their only home.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::{Lease, LeaseStore, SecretStore, SecretVersion};
use crate::cache::LoadGates;
use crate::engine::chrono_duration;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{now, Credentials};

pub struct Renewer {
    secrets: Arc<dyn SecretStore>,
    leases: Arc<dyn LeaseStore>,
    owner: String,
    gates: LoadGates<String>,
    /// How long a renewer may hold the lease (a login's time budget); waiters give up after
    /// twice this.
    hold: Duration,
    poll: Duration,
}

impl Renewer {
    pub fn new(
        secrets: Arc<dyn SecretStore>,
        leases: Arc<dyn LeaseStore>,
        owner: impl Into<String>,
    ) -> Self {
        Self {
            secrets,
            leases,
            owner: owner.into(),
            gates: LoadGates::default(),
            hold: Duration::from_secs(30),
            poll: Duration::from_millis(100),
        }
    }

    /// Shorter waits (tests).
    pub fn with_timing(mut self, hold: Duration, poll: Duration) -> Self {
        self.hold = hold;
        self.poll = poll;
        self
    }

    /// Credentials to replace `stale` (rejected or expired) in the secret `name`: renewed by
    /// `login` (given the current credentials, returning the whole new set) if this caller is
    /// the one to renew, or by whoever renewed them meanwhile, here or in another process.
    pub async fn renew<F, Fut>(
        &self,
        name: &str,
        stale: &Credentials,
        login: F,
    ) -> Result<Credentials>
    where
        F: FnOnce(Credentials) -> Fut,
        Fut: Future<Output = Result<Credentials>>,
    {
        let _turn = self.gates.turn(&name.to_string()).await;
        let lease_name = format!("renew:{name}");
        let mut login = Some(login);
        let deadline = Instant::now() + self.hold * 2;
        loop {
            let current = self.current(name).await?;
            if &current != stale {
                return Ok(current);
            }
            let lease = Lease {
                owner: self.owner.clone(),
                until: now() + chrono_duration(self.hold),
            };
            if self
                .leases
                .acquire_lease(&lease_name, &lease, now())
                .await?
            {
                let outcome = self.renew_holding(name, stale, &mut login).await;
                if let Err(e) = self.leases.release_lease(&lease_name, &self.owner).await {
                    // It expires on its own.
                    tracing::warn!(error = %e, "releasing a renewal lease failed");
                }
                return outcome;
            }
            if Instant::now() >= deadline {
                return Err(Error::backend(
                    "another worker is renewing this connection's credentials and has not \
                     finished; try again",
                ));
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    async fn renew_holding<F, Fut>(
        &self,
        name: &str,
        stale: &Credentials,
        login: &mut Option<F>,
    ) -> Result<Credentials>
    where
        F: FnOnce(Credentials) -> Fut,
        Fut: Future<Output = Result<Credentials>>,
    {
        // The previous holder may have finished just before we took the lease.
        let (current, version) = self.current_versioned(name).await?;
        if &current != stale {
            return Ok(current);
        }
        let login = login
            .take()
            .ok_or_else(|| Error::internal("renewal attempted twice"))?;
        let renewed = login(current).await?;
        // A renewer whose lease ran out while the provider answered (a stalled process) must
        // not write over a renewal made since: with rotating refresh tokens the newer write
        // holds the only refresh token the provider still honours. The write is a
        // compare-and-set on the version this renewal started from, so the store itself
        // refuses it once anything else was written.
        if !self.secrets.put_secret_if(name, &renewed, &version).await? {
            metrics::counter!("credential_renewals_discarded_total").increment(1);
            tracing::warn!("a newer renewal was written meanwhile; this one is discarded");
            return self.current(name).await;
        }
        metrics::counter!("credential_renewals_total").increment(1);
        Ok(renewed)
    }

    async fn current_versioned(&self, name: &str) -> Result<(Credentials, SecretVersion)> {
        self.secrets
            .get_secret_versioned(name)
            .await?
            .ok_or_else(missing)
    }

    async fn current(&self, name: &str) -> Result<Credentials> {
        self.secrets
            .get_secret_fresh(name)
            .await?
            .ok_or_else(missing)
    }
}

fn missing() -> Error {
    Error::new(
        ErrorKind::ConnectionInactive,
        "the connection's credentials are missing; update the connection",
    )
}
