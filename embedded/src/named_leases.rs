//! Named leases in one table: taking one is a single conditional upsert, atomic across the
//! processes sharing the file.

use async_trait::async_trait;
use integrations_core::backend::{Lease, LeaseStore};
use integrations_core::model::Timestamp;
use integrations_core::Result;
use rusqlite::{params, OptionalExtension};

use crate::values::{ms, ts};
use crate::EmbeddedBackend;

#[async_trait]
impl LeaseStore for EmbeddedBackend {
    async fn acquire_lease(&self, name: &str, lease: &Lease, now: Timestamp) -> Result<bool> {
        let (name, lease) = (name.to_string(), lease.clone());
        self.db()
            .write(move |conn| {
                let taken = conn
                    .prepare_cached(
                        "INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET owner = ?2, until = ?3
                         WHERE leases.owner = ?2 OR leases.until <= ?4",
                    )?
                    .execute(params![name, lease.owner, ms(lease.until), ms(now)])?;
                Ok(taken > 0)
            })
            .await
    }

    async fn get_lease(&self, name: &str) -> Result<Option<Lease>> {
        let name = name.to_string();
        self.db()
            .read(move |conn| {
                let found: Option<(String, i64)> = conn
                    .prepare_cached("SELECT owner, until FROM leases WHERE name = ?1")?
                    .query_row([&name], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                found
                    .map(|(owner, until)| {
                        Ok(Lease {
                            owner,
                            until: ts(until)?,
                        })
                    })
                    .transpose()
            })
            .await
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<()> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.db()
            .write(move |conn| {
                conn.prepare_cached("DELETE FROM leases WHERE name = ?1 AND owner = ?2")?
                    .execute(params![name, owner])?;
                Ok(())
            })
            .await
    }
}
