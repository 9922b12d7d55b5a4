//! One callback signing secret per caller service, in the backend's secret store (Secrets
//! Manager on AWS), so that every host of a fleet signs with the same key and receivers need one
//! secret per caller service, not per host.
//!
//! The secret is named `/integrations/callers/{callerService}/callback-signing` (connection
//! secrets are `/integrations/{tenant}/{connection}`, one segment shorter) and holds `current`
//! and, during a rotation, `next`, both `whsec_…`. A rotation: [`CallerSecrets::rotate`] creates
//! `next`, and from then on both sign every callback; receivers add the new secret; then
//! [`CallerSecrets::finish_rotation`] makes it `current` and the old one stops signing.
//!
//! Reads for signing are cached per service for the TTL, so a delivery does not read the store
//! each time: other processes see a rotation at most that late (on AWS, plus the secret store's
//! own cache). Changes are read-modify-write without a condition (the secret store offers none):
//! they are operator commands, not run concurrently for one service.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::SecretStore;
use crate::cache::TtlCache;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Credentials;
use crate::signing::CallbackSecret;

/// The keys of the stored [`Credentials`].
pub const CURRENT: &str = "current";
pub const NEXT: &str = "next";

/// A bound on the cache's memory: far more caller services than any deployment has.
const MAX_CACHED: usize = 10_000;

/// The secret store name of a caller service's signing secret.
pub fn secret_name(caller_service: &str) -> String {
    format!("/integrations/callers/{caller_service}/callback-signing")
}

/// 1–128 characters of `A-Z a-z 0-9 - _ .`: the name is part of a secret's name, and Secrets
/// Manager allows little else.
pub fn validate_caller_service(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "caller service '{name}': use 1 to 128 characters of A-Z, a-z, 0-9, '-', '_' and '.'"
        )))
    }
}

/// A caller service's signing secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeys {
    pub current: CallbackSecret,
    /// Present during a rotation.
    pub next: Option<CallbackSecret>,
}

impl SigningKeys {
    /// Every secret that signs: current, then next.
    pub fn all(&self) -> Vec<CallbackSecret> {
        std::iter::once(self.current.clone())
            .chain(self.next.clone())
            .collect()
    }

    fn to_credentials(&self) -> Credentials {
        let mut map = std::collections::BTreeMap::new();
        map.insert(CURRENT.to_string(), self.current.to_string());
        if let Some(next) = &self.next {
            map.insert(NEXT.to_string(), next.to_string());
        }
        Credentials(map)
    }

    fn from_credentials(caller_service: &str, stored: &Credentials) -> Result<Self> {
        // The error names the secret, never its value.
        let malformed = |what: &str| {
            Error::internal(format!(
                "the callback signing secret of caller service '{caller_service}' ({}) is \
                 malformed: {what}",
                secret_name(caller_service)
            ))
        };
        let parse = |key: &str| {
            CallbackSecret::parse(key).map_err(|_| malformed("not a whsec_ secret of 24–64 bytes"))
        };
        let current = stored
            .get(CURRENT)
            .ok_or_else(|| malformed("no 'current' secret"))?;
        Ok(Self {
            current: parse(current)?,
            next: stored.get(NEXT).map(parse).transpose()?,
        })
    }
}

pub struct CallerSecrets {
    store: Arc<dyn SecretStore>,
    /// Missing secrets are cached too: a misconfigured service does not read the store on
    /// every delivery either.
    cache: TtlCache<String, Option<SigningKeys>>,
}

impl std::fmt::Debug for CallerSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerSecrets")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

fn missing(caller_service: &str) -> Error {
    Error::new(
        ErrorKind::CallbackSecretMissing,
        format!(
            "caller service '{caller_service}' has no callback signing secret; create one with \
             `integrations callback-secret rotate --caller-service {caller_service}`"
        ),
    )
}

impl CallerSecrets {
    pub fn new(store: Arc<dyn SecretStore>, ttl: Duration) -> Self {
        Self {
            store,
            cache: TtlCache::new(ttl, MAX_CACHED),
        }
    }

    /// The secrets to sign a callback with: current, plus next during a rotation. Cached for
    /// the TTL. A service without a secret is a [`ErrorKind::CallbackSecretMissing`] error.
    pub async fn signing_keys(&self, caller_service: &str) -> Result<Vec<CallbackSecret>> {
        validate_caller_service(caller_service)?;
        let keys = self
            .cache
            .get_or_load(&caller_service.to_string(), || self.read(caller_service))
            .await?;
        keys.map(|k| k.all()).ok_or_else(|| missing(caller_service))
    }

    /// [`CallerSecrets::signing_keys`] when the cache holds a fresh answer (None: the store
    /// must be read).
    pub fn cached_signing_keys(&self, caller_service: &str) -> Option<Result<Vec<CallbackSecret>>> {
        let keys = self.cache.get(&caller_service.to_string())?;
        Some(keys.map(|k| k.all()).ok_or_else(|| missing(caller_service)))
    }

    /// The stored secrets, read from the store (not the cache), for showing them. A service
    /// without a secret is a [`ErrorKind::CallbackSecretMissing`] error.
    pub async fn keys(&self, caller_service: &str) -> Result<SigningKeys> {
        validate_caller_service(caller_service)?;
        self.read(caller_service)
            .await?
            .ok_or_else(|| missing(caller_service))
    }

    /// The current secret, created first if the service has none.
    pub async fn ensure(&self, caller_service: &str) -> Result<CallbackSecret> {
        validate_caller_service(caller_service)?;
        if let Some(keys) = self.read(caller_service).await? {
            return Ok(keys.current);
        }
        let keys = SigningKeys {
            current: CallbackSecret::generate(),
            next: None,
        };
        self.write(caller_service, &keys).await?;
        Ok(keys.current)
    }

    /// Start a rotation: a new `next` secret, which signs alongside the current one from now
    /// on. During a rotation the same `next` is returned again (an operator may already have
    /// handed it out); without any secret yet, the current one is created and returned.
    pub async fn rotate(&self, caller_service: &str) -> Result<CallbackSecret> {
        validate_caller_service(caller_service)?;
        let Some(mut keys) = self.read(caller_service).await? else {
            return self.ensure(caller_service).await;
        };
        if let Some(next) = &keys.next {
            return Ok(next.clone());
        }
        let next = CallbackSecret::generate();
        keys.next = Some(next.clone());
        self.write(caller_service, &keys).await?;
        Ok(next)
    }

    /// End a rotation: `next` becomes current and the old secret stops signing. Returns the new
    /// current secret; an error when no rotation is in progress.
    pub async fn finish_rotation(&self, caller_service: &str) -> Result<CallbackSecret> {
        validate_caller_service(caller_service)?;
        let keys = self
            .read(caller_service)
            .await?
            .ok_or_else(|| missing(caller_service))?;
        let Some(next) = keys.next else {
            return Err(Error::validation(format!(
                "caller service '{caller_service}' has no callback secret rotation in progress; \
                 start one with `integrations callback-secret rotate --caller-service \
                 {caller_service}`"
            )));
        };
        let keys = SigningKeys {
            current: next,
            next: None,
        };
        self.write(caller_service, &keys).await?;
        Ok(keys.current)
    }

    async fn read(&self, caller_service: &str) -> Result<Option<SigningKeys>> {
        let stored = self.store.get_secret(&secret_name(caller_service)).await?;
        stored
            .map(|s| SigningKeys::from_credentials(caller_service, &s))
            .transpose()
    }

    async fn write(&self, caller_service: &str, keys: &SigningKeys) -> Result<()> {
        let name = secret_name(caller_service);
        // Whatever happens, this process's next read asks the store.
        self.cache.remove(&caller_service.to_string());
        self.store.put_secret(&name, &keys.to_credentials()).await?;
        self.cache
            .insert(caller_service.to_string(), Some(keys.clone()));
        Ok(())
    }
}
