//! Encrypted secrets (see [`crate::crypto`]). Values never appear in logs or error messages; the
//! name does, as it is not secret.

use async_trait::async_trait;
use integrations_core::backend::{SecretStore, SecretVersion};
use integrations_core::model::{now, Credentials};
use integrations_core::{Error, Result};
use rusqlite::{params, OptionalExtension};

use crate::crypto::{nonce_of, NONCE_SQL};
use crate::values::ms;
use crate::EmbeddedBackend;

/// A known value sealed with the key on first open, so that a wrong key is refused at startup
/// instead of surfacing later as undecryptable secrets.
const KEY_CHECK_NAME: &str = "meta:secret-key-check";
const KEY_CHECK_VALUE: &[u8] = b"integrations embedded secret key";

#[async_trait]
impl SecretStore for EmbeddedBackend {
    async fn put_secret(&self, name: &str, value: &Credentials) -> Result<()> {
        let sealed = self.seal(name, value)?;
        let name = name.to_string();
        self.db()
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO secrets (name, sealed, updated_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed,
                         updated_at = excluded.updated_at",
                )?
                .execute(params![name, sealed, ms(now())])?;
                Ok(())
            })
            .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Credentials>> {
        Ok(self
            .get_secret_versioned(name)
            .await?
            .map(|(value, _)| value))
    }

    async fn get_secret_versioned(
        &self,
        name: &str,
    ) -> Result<Option<(Credentials, SecretVersion)>> {
        let key = name.to_string();
        let sealed: Option<Vec<u8>> = self
            .db()
            .read(move |conn| {
                Ok(conn
                    .prepare_cached("SELECT sealed FROM secrets WHERE name = ?1")?
                    .query_row([&key], |r| r.get(0))
                    .optional()?)
            })
            .await?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plaintext = self.inner.sealer.open(name, &sealed)?;
        let value = serde_json::from_slice(&plaintext)
            .map_err(|_| Error::internal(format!("secret {name} does not hold credentials")))?;
        // `open` succeeded, so the nonce is there.
        let version = nonce_of(&sealed).map(hex::encode).unwrap_or_default();
        Ok(Some((value, SecretVersion(version))))
    }

    async fn put_secret_if(
        &self,
        name: &str,
        value: &Credentials,
        expected: &SecretVersion,
    ) -> Result<bool> {
        let Ok(expected) = hex::decode(&expected.0) else {
            return Ok(false); // Not a version this store ever gave out.
        };
        let sealed = self.seal(name, value)?;
        let name = name.to_string();
        // One conditional statement in the single writer: nothing can come between the check
        // and the write, in this process or another one on the file.
        self.db()
            .write(move |conn| {
                let updated = conn
                    .prepare_cached(&format!(
                        "UPDATE secrets SET sealed = ?1, updated_at = ?2
                         WHERE name = ?3 AND {NONCE_SQL} = ?4"
                    ))?
                    .execute(params![sealed, ms(now()), name, expected])?;
                Ok(updated == 1)
            })
            .await
    }

    async fn delete_secret(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.db()
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM secrets WHERE name = ?1")?
                    .execute([&name])?;
                Ok(())
            })
            .await
    }
}

impl EmbeddedBackend {
    fn seal(&self, name: &str, value: &Credentials) -> Result<Vec<u8>> {
        let plaintext = serde_json::to_vec(value)
            .map_err(|_| Error::internal(format!("cannot serialize secret {name}")))?;
        self.inner.sealer.seal(name, &plaintext)
    }

    /// Seal the check value on first open; on later opens, refuse a key that cannot open it.
    pub(crate) async fn verify_secret_key(&self) -> Result<()> {
        let fresh = self.inner.sealer.seal(KEY_CHECK_NAME, KEY_CHECK_VALUE)?;
        // Insert-if-absent then read back: two processes opening a new file agree on one value.
        let stored: Vec<u8> = self
            .db()
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                )?
                .execute(params![KEY_CHECK_NAME, fresh])?;
                Ok(conn
                    .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                    .query_row([KEY_CHECK_NAME], |r| r.get(0))?)
            })
            .await?;
        match self.inner.sealer.open(KEY_CHECK_NAME, &stored) {
            Ok(value) if value == KEY_CHECK_VALUE => Ok(()),
            _ => Err(Error::validation(format!(
                "the secret key does not match the one {} was created with; use the original key",
                self.path().display()
            ))),
        }
    }
}
