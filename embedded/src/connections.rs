//! The connection store. Every statement is scoped by tenant: another tenant's id is not found.

use async_trait::async_trait;
use integrations_core::backend::{ConnectionFilter, ConnectionStore};
use integrations_core::model::{Connection, ConnectionStatus};
use integrations_core::{Error, Result};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Row};

use crate::db::DbResult;
use crate::rows::{created, delete_of_tenant, select_all};
use crate::values::{from_json, ms, opt_ms, opt_ts, to_json, ts};
use crate::EmbeddedBackend;

const COLUMNS: &str = "tenant_id, connection_id, integration_id, name, config, credentials_ref, \
                       status, last_tested_at, last_error_at, last_error, created_at, updated_at";

#[async_trait]
impl ConnectionStore for EmbeddedBackend {
    async fn create_connection(&self, connection: &Connection) -> Result<()> {
        let c = connection.clone();
        let inserted = self
            .db()
            .write(move |conn| {
                let sql = format!(
                    "INSERT INTO connections ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                     ON CONFLICT (tenant_id, connection_id) DO NOTHING"
                );
                let inserted = conn.prepare_cached(&sql)?.execute(columns(&c)?)?;
                Ok(inserted > 0)
            })
            .await?;
        created(inserted, "connection", &connection.connection_id)
    }

    async fn get_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<Connection>> {
        let key = (tenant_id.to_string(), connection_id.to_string());
        self.db()
            .read(move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM connections WHERE tenant_id = ?1 AND connection_id = ?2"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(params![key.0, key.1])?;
                rows.next()?.map(connection_from_row).transpose()
            })
            .await
    }

    async fn update_connection(&self, connection: &Connection) -> Result<bool> {
        let c = connection.clone();
        self.db()
            .write(move |conn| {
                let updated = conn
                    .prepare_cached(
                        "UPDATE connections SET integration_id = ?3, name = ?4, config = ?5,
                             credentials_ref = ?6, status = ?7, last_tested_at = ?8,
                             last_error_at = ?9, last_error = ?10, created_at = ?11,
                             updated_at = ?12
                         WHERE tenant_id = ?1 AND connection_id = ?2",
                    )?
                    .execute(columns(&c)?)?;
                Ok(updated > 0)
            })
            .await
    }

    async fn delete_connection(&self, tenant_id: &str, connection_id: &str) -> Result<bool> {
        delete_of_tenant(
            self.db(),
            "connections",
            "connection_id",
            tenant_id,
            connection_id,
        )
        .await
    }

    async fn list_connections(
        &self,
        tenant_id: &str,
        filter: &ConnectionFilter,
    ) -> Result<Vec<Connection>> {
        let mut sql = format!("SELECT {COLUMNS} FROM connections WHERE tenant_id = ?");
        let mut args = vec![SqlValue::Text(tenant_id.to_string())];
        if let Some(integration) = &filter.integration_id {
            sql.push_str(" AND integration_id = ?");
            args.push(SqlValue::Text(integration.clone()));
        }
        if let Some(status) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(SqlValue::Text(status.as_str().to_string()));
        }
        sql.push_str(" ORDER BY created_at, connection_id");
        self.db()
            .read(move |conn| {
                select_all(
                    conn,
                    &sql,
                    rusqlite::params_from_iter(args),
                    connection_from_row,
                )
            })
            .await
    }
}

fn connection_from_row(row: &Row<'_>) -> DbResult<Connection> {
    let status: String = row.get(6)?;
    Ok(Connection {
        tenant_id: row.get(0)?,
        connection_id: row.get(1)?,
        integration_id: row.get(2)?,
        name: row.get(3)?,
        config: from_json(&row.get::<_, String>(4)?)?,
        credentials_ref: row.get(5)?,
        status: ConnectionStatus::parse(&status)
            .ok_or_else(|| Error::internal(format!("unknown connection status '{status}'")))?,
        last_tested_at: opt_ts(row.get(7)?)?,
        last_error_at: opt_ts(row.get(8)?)?,
        last_error: row.get(9)?,
        created_at: ts(row.get(10)?)?,
        updated_at: ts(row.get(11)?)?,
    })
}

/// A connection's column values, in `COLUMNS` order (?1 … ?12), for inserts and updates alike.
#[allow(clippy::type_complexity)]
fn columns(
    c: &Connection,
) -> DbResult<(
    &str,
    &str,
    &str,
    &str,
    String,
    &str,
    &'static str,
    Option<i64>,
    Option<i64>,
    Option<&str>,
    i64,
    i64,
)> {
    Ok((
        &c.tenant_id,
        &c.connection_id,
        &c.integration_id,
        &c.name,
        to_json(&c.config)?,
        &c.credentials_ref,
        c.status.as_str(),
        opt_ms(c.last_tested_at),
        opt_ms(c.last_error_at),
        c.last_error.as_deref(),
        ms(c.created_at),
        ms(c.updated_at),
    ))
}
