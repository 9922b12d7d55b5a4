//! API keys, stored and found by the hash of the key.

use async_trait::async_trait;
use integrations_core::backend::ApiKeyStore;
use integrations_core::model::ApiKey;
use integrations_core::Result;
use rusqlite::{params, OptionalExtension};

use crate::db::DbResult;
use crate::values::{ms, opt_from_json, opt_json, ts};
use crate::EmbeddedBackend;

#[async_trait]
impl ApiKeyStore for EmbeddedBackend {
    /// Creates or replaces the key with this hash.
    async fn put_api_key(&self, key: &ApiKey) -> Result<()> {
        let key = key.clone();
        self.db()
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO api_keys (key_hash, key_id, caller_service, tenants, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (key_hash) DO UPDATE SET key_id = excluded.key_id,
                         caller_service = excluded.caller_service, tenants = excluded.tenants,
                         created_at = excluded.created_at",
                )?
                .execute(params![
                    key.key_hash,
                    key.key_id,
                    key.caller_service,
                    opt_json(key.tenants.as_ref())?,
                    ms(key.created_at),
                ])?;
                Ok(())
            })
            .await
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        self.db()
            .read(|conn| {
                let rows: Vec<Row> = conn
                    .prepare_cached(
                        "SELECT key_id, key_hash, caller_service, tenants, created_at
                         FROM api_keys ORDER BY created_at, key_id",
                    )?
                    .query_map([], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                rows.into_iter().map(api_key).collect()
            })
            .await
    }

    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let key_id = key_id.to_string();
        self.db()
            .write(move |conn| {
                let deleted = conn
                    .prepare_cached("DELETE FROM api_keys WHERE key_id = ?1")?
                    .execute([&key_id])?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let key_hash = key_hash.to_string();
        self.db()
            .read(move |conn| {
                let row: Option<Row> = conn
                    .prepare_cached(
                        "SELECT key_id, key_hash, caller_service, tenants, created_at
                         FROM api_keys WHERE key_hash = ?1",
                    )?
                    .query_row([&key_hash], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                    })
                    .optional()?;
                row.map(api_key).transpose()
            })
            .await
    }
}

/// `key_id, key_hash, caller_service, tenants, created_at`.
type Row = (String, String, String, Option<String>, i64);

fn api_key((key_id, key_hash, caller_service, tenants, created_at): Row) -> DbResult<ApiKey> {
    Ok(ApiKey {
        key_id,
        key_hash,
        caller_service,
        tenants: opt_from_json(tenants)?,
        created_at: ts(created_at)?,
    })
}
