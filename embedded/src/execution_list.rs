//! Listing executions: newest first, keyset pagination.
//!
//! The cursor is the (created_at, execution_id) of the last item returned, so a page is an index
//! range scan that starts right after it, whatever the table's size. It holds no tenant: every
//! query is scoped by the caller's tenant, so another tenant's cursor only positions a scan over
//! the caller's own executions.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use integrations_core::backend::{ExecutionFilter, Page};
use integrations_core::model::Execution;
use integrations_core::{Error, Result};
use rusqlite::types::Value as SqlValue;

use crate::db::Db;
use crate::executions::{execution_from_row, COLUMNS};
use crate::values::ms;

/// Page size when the filter's limit is 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Larger limits are clamped to this.
pub const MAX_PAGE_SIZE: usize = 1000;

pub(crate) async fn list(
    db: &Db,
    tenant_id: &str,
    filter: &ExecutionFilter,
) -> Result<Page<Execution>> {
    let limit = match filter.limit {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    let mut sql = format!("SELECT {COLUMNS} FROM executions WHERE tenant_id = ?");
    let mut args = vec![SqlValue::Text(tenant_id.to_string())];
    let mut text = |sql: &mut String, clause: &str, value: &Option<String>| {
        if let Some(value) = value {
            sql.push_str(clause);
            args.push(SqlValue::Text(value.clone()));
        }
    };
    text(&mut sql, " AND connection_id = ?", &filter.connection_id);
    text(&mut sql, " AND integration_id = ?", &filter.integration_id);
    let status = filter.status.map(|s| s.as_str().to_string());
    text(&mut sql, " AND status = ?", &status);
    if let Some(start) = filter.start {
        sql.push_str(" AND created_at >= ?");
        args.push(SqlValue::Integer(ms(start)));
    }
    if let Some(end) = filter.end {
        sql.push_str(" AND created_at < ?");
        args.push(SqlValue::Integer(ms(end)));
    }
    if let Some(cursor) = &filter.cursor {
        let (created_at, execution_id) = decode_cursor(cursor)?;
        sql.push_str(" AND (created_at, execution_id) < (?, ?)");
        args.push(SqlValue::Integer(created_at));
        args.push(SqlValue::Text(execution_id));
    }
    // One more than the page: whether it exists decides the next cursor.
    sql.push_str(" ORDER BY created_at DESC, execution_id DESC LIMIT ?");
    args.push(SqlValue::Integer(
        i64::try_from(limit + 1).unwrap_or(i64::MAX),
    ));

    let mut items = db
        .read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut items = Vec::new();
            while let Some(row) = rows.next()? {
                items.push(execution_from_row(row)?);
            }
            Ok(items)
        })
        .await?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|e| encode_cursor(ms(e.created_at), &e.execution_id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// The position after the last item of a page: its time (ms) and id. Listings of provider
/// events use the same cursors ([`crate::event_list`]).
pub(crate) fn encode_cursor(at_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at_ms}:{id}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (created_at, id) = text.split_once(':')?;
            Some((created_at.parse().ok()?, id.to_string()))
        })
        .ok_or_else(|| Error::validation("invalid cursor: pass next_cursor of a previous page"))
}
