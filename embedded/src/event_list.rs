//! Listing a tenant's provider events (`GET /events`): newest received first, keyset pagination
//! over the `provider_events_by_received` index, as executions are listed
//! ([`crate::execution_list`]): the cursor is the (received_at, event_id) of the last item.

use integrations_core::backend::Page;
use integrations_core::webhooks::{ProviderEvent, ProviderEventFilter};
use integrations_core::Result;
use rusqlite::types::Value as SqlValue;

use crate::db::Db;
use crate::execution_list::{decode_cursor, encode_cursor, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::values::{from_json, ms};

pub(crate) async fn list(
    db: &Db,
    tenant_id: &str,
    filter: &ProviderEventFilter,
) -> Result<Page<ProviderEvent>> {
    let limit = match filter.limit {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    };
    let mut sql = String::from("SELECT event FROM provider_events WHERE tenant_id = ?");
    let mut args = vec![SqlValue::Text(tenant_id.to_string())];
    let mut text = |sql: &mut String, clause: &str, value: &Option<String>| {
        if let Some(value) = value {
            sql.push_str(clause);
            args.push(SqlValue::Text(value.clone()));
        }
    };
    text(&mut sql, " AND event_type = ?", &filter.event_type);
    text(&mut sql, " AND connection_id = ?", &filter.connection_id);
    // Not a column: a filter on the rows the index range yields.
    text(
        &mut sql,
        " AND json_extract(event, '$.integrationId') = ?",
        &filter.integration_id,
    );
    if let Some(start) = filter.start {
        sql.push_str(" AND received_at >= ?");
        args.push(SqlValue::Integer(ms(start)));
    }
    if let Some(end) = filter.end {
        sql.push_str(" AND received_at < ?");
        args.push(SqlValue::Integer(ms(end)));
    }
    if let Some(cursor) = &filter.cursor {
        let (received_at, event_id) = decode_cursor(cursor)?;
        sql.push_str(" AND (received_at, event_id) < (?, ?)");
        args.push(SqlValue::Integer(received_at));
        args.push(SqlValue::Text(event_id));
    }
    // One more than the page: whether it exists decides the next cursor.
    sql.push_str(" ORDER BY received_at DESC, event_id DESC LIMIT ?");
    args.push(SqlValue::Integer(
        i64::try_from(limit + 1).unwrap_or(i64::MAX),
    ));
    let mut items: Vec<ProviderEvent> = db
        .read(move |conn| {
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
            let mut items = Vec::new();
            while let Some(row) = rows.next()? {
                items.push(from_json(&row.get::<_, String>(0)?)?);
            }
            Ok(items)
        })
        .await?;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items
            .last()
            .map(|e| encode_cursor(ms(e.received_at), &e.event_id))
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}
