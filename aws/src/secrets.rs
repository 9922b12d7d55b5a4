//! The secret store on Secrets Manager: one secret per connection, named
//! `/integrations/{tenantId}/{connectionId}`, holding the credentials as a JSON object.
//!
//! Rotation is `put_secret` on an existing name: PutSecretValue makes the new value AWSCURRENT at
//! once, without a moment where the secret is missing. A conditional write (`put_secret_if`, a
//! renewal's rotated refresh token) stages a version and moves `AWSCURRENT` onto it only from the
//! version it read, which Secrets Manager checks: the secret's version is its `VersionId`. Reads are cached for `ttl` per process
//! (GetSecretValue is billed per call and rate-limited); a process's own put and delete update
//! its cache at once, but another process may use the previous value for up to `ttl` after a
//! rotation, so a rotated provider credential must stay valid at least that long. That is the
//! only staleness: nothing else is kept in memory.
//!
//! Secret values never appear in errors or logs: Secrets Manager's messages are dropped (they
//! could quote a request) and only error codes are reported.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::Client;
use integrations_core::backend::{SecretStore, SecretVersion};
use integrations_core::cache::TtlCache;
use integrations_core::model::Credentials;
use integrations_core::{Error, ErrorKind, Result};

use crate::error::sdk_error_quiet;

/// Beyond this many cached secrets, expired entries are dropped (and, if still full, all).
const MAX_CACHED: usize = 10_000;
/// A force-deleted name is released asynchronously on AWS: a create right after a delete may
/// be refused for a few seconds.
const CREATE_ATTEMPTS: u32 = 4;
/// Secrets Manager's limit on a secret value.
pub const MAX_SECRET_BYTES: usize = 65_536;
/// Secrets Manager's staging labels: the value in use, and one written but not yet in use.
const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";

#[derive(Debug)]
pub struct SecretsManagerStore {
    client: Client,
    /// The KMS key new secrets are created with (None: Secrets Manager's default key).
    kms_key_id: Option<String>,
    /// Concurrent misses of one secret share one GetSecretValue (an expired entry under load
    /// would otherwise be read by every execution waiting for it).
    cache: TtlCache<String, Credentials>,
}

impl SecretsManagerStore {
    pub fn new(client: Client, ttl: Duration) -> Self {
        Self {
            client,
            kms_key_id: None,
            cache: TtlCache::new(ttl, MAX_CACHED),
        }
    }

    /// New secrets are encrypted with this KMS key (rotations keep the secret's key).
    pub fn with_kms_key(mut self, kms_key_id: Option<String>) -> Self {
        self.kms_key_id = kms_key_id;
        self
    }

    fn forget(&self, name: &str) {
        self.cache.remove(&name.to_string());
    }

    async fn put_value(&self, name: &str, text: &str) -> Result<()> {
        self.client
            .put_secret_value()
            .secret_id(name)
            .secret_string(text)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error_quiet("Secrets Manager PutSecretValue", e))
    }

    /// The current value and its version, from Secrets Manager.
    async fn read(&self, name: &str) -> Result<Option<(Credentials, SecretVersion)>> {
        let out = match self.client.get_secret_value().secret_id(name).send().await {
            Ok(out) => out,
            Err(e) => {
                return match e.code() {
                    // Missing, or scheduled for deletion: either way there is no secret to use.
                    Some("ResourceNotFoundException" | "InvalidRequestException") => Ok(None),
                    _ => Err(sdk_error_quiet("Secrets Manager GetSecretValue", e)),
                };
            }
        };
        let text = out.secret_string().unwrap_or_default();
        let map = serde_json::from_str(text).map_err(|_| {
            Error::internal(format!(
                "secret {name} does not hold a JSON object of strings"
            ))
        })?;
        let version = SecretVersion(out.version_id().unwrap_or_default().to_string());
        Ok(Some((Credentials(map), version)))
    }

    async fn create_or_rotate(&self, name: &str, text: &str) -> Result<()> {
        for attempt in 1..=CREATE_ATTEMPTS {
            let created = self
                .client
                .create_secret()
                .name(name)
                .secret_string(text)
                .set_kms_key_id(self.kms_key_id.clone())
                .send()
                .await;
            let err = match created {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match err.code() {
                Some("ResourceExistsException") => return self.put_value(name, text).await,
                // Scheduled for deletion: restore it (if it still can be) and rotate.
                Some("InvalidRequestException") => {
                    let restored = self.client.restore_secret().secret_id(name).send().await;
                    if restored.is_ok() {
                        return self.put_value(name, text).await;
                    }
                    if attempt == CREATE_ATTEMPTS {
                        return Err(sdk_error_quiet("Secrets Manager CreateSecret", err));
                    }
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                _ => return Err(sdk_error_quiet("Secrets Manager CreateSecret", err)),
            }
        }
        Err(Error::backend(
            "Secrets Manager CreateSecret: the name stays unavailable",
        ))
    }
}

/// The value as stored: a JSON object, within Secrets Manager's limit.
fn secret_text(name: &str, value: &Credentials) -> Result<String> {
    let text = serde_json::to_string(&value.0)
        .map_err(|_| Error::internal("credentials could not be serialized"))?;
    if text.len() > MAX_SECRET_BYTES {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!(
                "the credentials for {name} are {} bytes; Secrets Manager holds at most \
                 {MAX_SECRET_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(text)
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn put_secret(&self, name: &str, value: &Credentials) -> Result<()> {
        let text = secret_text(name, value)?;
        self.forget(name);
        self.create_or_rotate(name, &text).await?;
        self.cache.insert(name.to_string(), value.clone());
        Ok(())
    }

    async fn get_secret_versioned(
        &self,
        name: &str,
    ) -> Result<Option<(Credentials, SecretVersion)>> {
        self.forget(name);
        let Some((value, version)) = self.read(name).await? else {
            return Ok(None);
        };
        self.cache.insert(name.to_string(), value.clone());
        Ok(Some((value, version)))
    }

    /// A new version staged `AWSPENDING` (not yet current), then `AWSCURRENT` moved onto it
    /// from `expected`: UpdateSecretVersionStage fails when `RemoveFromVersionId` no longer
    /// holds the label, so the move is the compare-and-set, checked by Secrets Manager itself.
    /// This is the staging of Secrets Manager's own rotation. A losing version keeps only the
    /// `AWSPENDING` label until the next conditional write takes it, and is then deprecated
    /// (Secrets Manager deletes such versions).
    async fn put_secret_if(
        &self,
        name: &str,
        value: &Credentials,
        expected: &SecretVersion,
    ) -> Result<bool> {
        let text = secret_text(name, value)?;
        self.forget(name);
        // The SDK retries a lost answer with the same token: one version, not two.
        let token = format!("{:032x}", ulid::Ulid::new().0);
        let staged = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(text)
            .client_request_token(&token)
            .version_stages(PENDING)
            .send()
            .await;
        if let Err(e) = staged {
            return match e.code() {
                // Missing, or scheduled for deletion: no version can still be `expected`.
                Some("ResourceNotFoundException" | "InvalidRequestException") => Ok(false),
                _ => Err(sdk_error_quiet("Secrets Manager PutSecretValue", e)),
            };
        }
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage(CURRENT)
            .remove_from_version_id(&expected.0)
            .move_to_version_id(&token)
            .send()
            .await;
        match moved {
            Ok(_) => {
                self.cache.insert(name.to_string(), value.clone());
                Ok(true)
            }
            Err(e) => match e.code() {
                // `expected` is no longer current (or no longer exists): another write won.
                Some(
                    "InvalidParameterException"
                    | "ResourceNotFoundException"
                    | "InvalidRequestException",
                ) => Ok(false),
                _ => Err(sdk_error_quiet(
                    "Secrets Manager UpdateSecretVersionStage",
                    e,
                )),
            },
        }
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Credentials>> {
        self.cache
            .get_or_load_present(&name.to_string(), || async {
                Ok(self.read(name).await?.map(|(value, _)| value))
            })
            .await
    }

    async fn get_secret_fresh(&self, name: &str) -> Result<Option<Credentials>> {
        self.forget(name);
        self.get_secret(name).await
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        self.forget(name);
        let result = self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
        self.forget(name);
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(sdk_error_quiet("Secrets Manager DeleteSecret", e)),
        }
    }
}
