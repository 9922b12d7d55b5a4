//! The trigger store: one row per trigger, the trigger as JSON, looked up by tenant and id or by
//! (tenant, source connection, event type) through their indexes.

use async_trait::async_trait;
use integrations_core::triggers::{Trigger, TriggerStore};
use integrations_core::Result;
use rusqlite::{params, Connection, Params};

use crate::db::DbResult;
use crate::rows::{created, delete_of_tenant, select_all};
use crate::values::{from_json, ms, to_json};
use crate::EmbeddedBackend;

/// The triggers `sql` selects (their JSON column), in its order.
fn select(conn: &Connection, sql: &str, args: impl Params) -> DbResult<Vec<Trigger>> {
    select_all(conn, sql, args, |r| from_json(&r.get::<_, String>(0)?))
}

#[async_trait]
impl TriggerStore for EmbeddedBackend {
    async fn create_trigger(&self, trigger: &Trigger) -> Result<()> {
        let t = trigger.clone();
        let inserted = self
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
        created(inserted, "trigger", &trigger.trigger_id)
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
        delete_of_tenant(self.db(), "triggers", "trigger_id", tenant_id, trigger_id).await
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
