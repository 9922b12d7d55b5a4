//! In-memory secret and lease stores, for the kit's login-then-token against a real
//! [`Renewer`] without a backend: several renewers over one pair of stores stand for several
//! worker processes sharing the fleet's stores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use integrations_core::backend::{Lease, LeaseStore, SecretStore, SecretVersion};
use integrations_core::model::{Credentials, Timestamp};
use integrations_core::renewal::Renewer;
use integrations_core::Result;

#[derive(Default)]
pub(crate) struct Stores {
    /// Each value with the write counter at its write (its version).
    secrets: Mutex<HashMap<String, (Credentials, u64)>>,
    leases: Mutex<HashMap<String, Lease>>,
    writes: Mutex<u32>,
    versions: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Stores {
    pub(crate) fn new() -> Arc<Self> {
        Arc::default()
    }

    /// A renewer as one process of the fleet (`owner`) would have it.
    pub(crate) fn renewer(self: &Arc<Self>, owner: &str) -> Renewer {
        Renewer::new(self.clone(), self.clone(), owner)
    }

    pub(crate) fn secret(&self, name: &str) -> Option<Credentials> {
        lock(&self.secrets)
            .get(name)
            .map(|(value, _)| value.clone())
    }

    pub(crate) fn set_secret(&self, name: &str, value: Credentials) {
        let version = self.next_version();
        lock(&self.secrets).insert(name.to_string(), (value, version));
    }

    fn next_version(&self) -> u64 {
        let mut versions = lock(&self.versions);
        *versions += 1;
        *versions
    }

    /// Secrets written through the store (renewals' write-backs).
    pub(crate) fn writes(&self) -> u32 {
        *lock(&self.writes)
    }
}

#[async_trait]
impl SecretStore for Stores {
    async fn put_secret(&self, name: &str, value: &Credentials) -> Result<()> {
        *lock(&self.writes) += 1;
        self.set_secret(name, value.clone());
        Ok(())
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Credentials>> {
        Ok(self.secret(name))
    }

    async fn get_secret_versioned(
        &self,
        name: &str,
    ) -> Result<Option<(Credentials, SecretVersion)>> {
        let secrets = lock(&self.secrets);
        Ok(secrets
            .get(name)
            .map(|(value, version)| (value.clone(), SecretVersion(version.to_string()))))
    }

    async fn put_secret_if(
        &self,
        name: &str,
        value: &Credentials,
        expected: &SecretVersion,
    ) -> Result<bool> {
        let version = self.next_version();
        let mut secrets = lock(&self.secrets);
        match secrets.get_mut(name) {
            Some(stored) if stored.1.to_string() == expected.0 => {
                *stored = (value.clone(), version);
                *lock(&self.writes) += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        lock(&self.secrets).remove(name);
        Ok(())
    }
}

#[async_trait]
impl LeaseStore for Stores {
    async fn acquire_lease(&self, name: &str, lease: &Lease, now: Timestamp) -> Result<bool> {
        let mut leases = lock(&self.leases);
        let free = leases
            .get(name)
            .is_none_or(|l| l.until <= now || l.owner == lease.owner);
        if free {
            leases.insert(name.to_string(), lease.clone());
        }
        Ok(free)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let mut leases = lock(&self.leases);
        if leases.get(name).is_some_and(|l| l.owner == owner) {
            leases.remove(name);
        }
        Ok(())
    }

    async fn get_lease(&self, name: &str) -> Result<Option<Lease>> {
        Ok(lock(&self.leases).get(name).cloned())
    }
}
