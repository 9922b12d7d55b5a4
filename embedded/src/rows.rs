//! What the stores' statements share: reading every row a query selects, and the create and
//! delete of a tenant's record by id (connections, triggers).

use integrations_core::{Error, Result};
use rusqlite::{params, Connection, Params, Row};

use crate::db::{Db, DbResult};

/// Every row `sql` selects, through `decode`, in the query's order.
pub(crate) fn select_all<T>(
    conn: &Connection,
    sql: &str,
    args: impl Params,
    mut decode: impl FnMut(&Row<'_>) -> DbResult<T>,
) -> DbResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(args)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// The answer to an insert that does nothing on a taken key: `{kind} '{id}' already exists`.
pub(crate) fn created(inserted: bool, kind: &str, id: &str) -> Result<()> {
    if inserted {
        Ok(())
    } else {
        Err(Error::validation(format!("{kind} '{id}' already exists")))
    }
}

/// Delete a tenant's record of `table` by its id column; whether there was one.
pub(crate) async fn delete_of_tenant(
    db: &Db,
    table: &'static str,
    id_column: &'static str,
    tenant_id: &str,
    id: &str,
) -> Result<bool> {
    let key = (tenant_id.to_string(), id.to_string());
    db.write(move |conn| {
        let sql = format!("DELETE FROM {table} WHERE tenant_id = ?1 AND {id_column} = ?2");
        Ok(conn.prepare_cached(&sql)?.execute(params![key.0, key.1])? > 0)
    })
    .await
}
