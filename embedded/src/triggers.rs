//! The trigger store: one row per trigger, the trigger as JSON, looked up by tenant and id or by
//! (tenant, source connection, event type) through their indexes.

use async_trait::async_trait;
use integrations_core::triggers::{Trigger, TriggerStore};
use integrations_core::{Error, Result};
use rusqlite::{params, Connection, Params};

use crate::db::DbResult;

use crate::values::{from_json, ms, to_json};
use crate::EmbeddedBackend;

/// The triggers `sql` selects (their JSON column), in its order.
fn select(conn: &Connection, sql: &str, args: impl Params) -> DbResult<Vec<Trigger>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let texts: Vec<String> = stmt
        .query_map(args, |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    texts.iter().map(|t| from_json(t)).collect()
}

#[async_trait]
impl TriggerStore for EmbeddedBackend {
    async fn create_trigger(&self, trigger: &Trigger) -> Result<()> {
        let t = trigger.clone();
        let created = self
            .db()
            .write(move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO triggers (tenant_id, trigger_id, connection_id, event_type,
                             created_at, trigger_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (tenant_id, trigger_id) DO NOTHING",
                    )?
                    .execute(params![
                        t.tenant_id,
                        t.trigger_id,
                        t.source.connection_id,
                        t.source.event_type,
                        ms(t.created_at),
                        to_json(&t)?,
                    ])?;
                Ok(inserted > 0)
            })
            .await?;
        if created {
            Ok(())
        } else {
            Err(Error::validation(format!(
                "trigger '{}' already exists",
                trigger.trigger_id
            )))
        }
    }

    async fn get_trigger(&self, tenant_id: &str, trigger_id: &str) -> Result<Option<Trigger>> {
        let key = (tenant_id.to_string(), trigger_id.to_string());
        self.db()
            .read(move |conn| {
                let sql =
                    "SELECT trigger_json FROM triggers WHERE tenant_id = ?1 AND trigger_id = ?2";
                Ok(select(conn, sql, params![key.0, key.1])?.pop())
            })
            .await
    }

    async fn list_triggers(&self, tenant_id: &str) -> Result<Vec<Trigger>> {
        let tenant_id = tenant_id.to_string();
        self.db()
            .read(move |conn| {
                let sql = "SELECT trigger_json FROM triggers WHERE tenant_id = ?1
                           ORDER BY created_at, trigger_id";
                select(conn, sql, [tenant_id])
            })
            .await
    }

    async fn delete_trigger(&self, tenant_id: &str, trigger_id: &str) -> Result<bool> {
        let key = (tenant_id.to_string(), trigger_id.to_string());
        self.db()
            .write(move |conn| {
                let deleted = conn
                    .prepare_cached(
                        "DELETE FROM triggers WHERE tenant_id = ?1 AND trigger_id = ?2",
                    )?
                    .execute(params![key.0, key.1])?;
                Ok(deleted > 0)
            })
            .await
    }

    async fn matching_triggers(
        &self,
        tenant_id: &str,
        connection_id: &str,
        event_type: &str,
    ) -> Result<Vec<Trigger>> {
        let key = (
            tenant_id.to_string(),
            connection_id.to_string(),
            event_type.to_string(),
        );
        self.db()
            .read(move |conn| {
                let sql = "SELECT trigger_json FROM triggers
                           WHERE tenant_id = ?1 AND connection_id = ?2 AND event_type = ?3
                           ORDER BY created_at, trigger_id";
                select(conn, sql, params![key.0, key.1, key.2])
            })
            .await
    }
}
