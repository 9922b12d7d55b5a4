//! Named leases in one table: taking one is a single conditional upsert, atomic across the
//! processes sharing the file.

use async_trait::async_trait;
use integrations_core::backend::{Lease, LeaseStore};
use integrations_core::model::Timestamp;
use integrations_core::Result;
use rusqlite::params;

use crate::values::ms;
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
