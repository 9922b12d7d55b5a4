//! Listings newest first with keyset pagination (`GET /executions`, `GET /events`).
//!
//! The cursor is the (time, id) of the last item returned, so a page is an index range scan that
//! starts right after it, whatever the table's size. It holds no tenant: every query is scoped by
//! the caller's tenant, so another tenant's cursor only positions a scan over the caller's own
//! rows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use integrations_core::backend::Page;
use integrations_core::{Error, Result};
use rusqlite::types::Value as SqlValue;
use rusqlite::Row;

use crate::db::{Db, DbResult};
use crate::rows::select_all;
use crate::values::ms;

/// Page size when the filter's limit is 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Larger limits are clamped to this.
pub const MAX_PAGE_SIZE: usize = 1000;

/// One listing's query, built up filter by filter.
pub(crate) struct Keyset {
    sql: String,
    args: Vec<SqlValue>,
    /// The ordering columns: a time in ms and an id, as the index has them.
    time: &'static str,
    id: &'static str,
    limit: usize,
}

impl Keyset {
    /// `SELECT {columns} FROM {table}` of one tenant, `limit` items a page (0: the default).
    pub fn new(
        columns: &str,
        table: &str,
        tenant_id: &str,
        (time, id): (&'static str, &'static str),
        limit: usize,
    ) -> Self {
        Self {
            sql: format!("SELECT {columns} FROM {table} WHERE tenant_id = ?"),
            args: vec![SqlValue::Text(tenant_id.to_string())],
            time,
            id,
            limit: match limit {
                0 => DEFAULT_PAGE_SIZE,
                n => n.min(MAX_PAGE_SIZE),
            },
        }
    }

    /// `AND {expression} = value`, when there is a value.
    pub fn equal(&mut self, expression: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.sql.push_str(&format!(" AND {expression} = ?"));
            self.args.push(SqlValue::Text(value.to_string()));
        }
        self
    }

    /// Items at or after `start` and before `end`.
    pub fn between(
        &mut self,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> &mut Self {
        if let Some(start) = start {
            self.sql.push_str(&format!(" AND {} >= ?", self.time));
            self.args.push(SqlValue::Integer(ms(start)));
        }
        if let Some(end) = end {
            self.sql.push_str(&format!(" AND {} < ?", self.time));
            self.args.push(SqlValue::Integer(ms(end)));
        }
        self
    }

    /// The page after `cursor` (a previous page's `next_cursor`).
    pub fn after(&mut self, cursor: Option<&str>) -> Result<&mut Self> {
        if let Some(cursor) = cursor {
            let (at, id) = decode_cursor(cursor)?;
            self.sql
                .push_str(&format!(" AND ({}, {}) < (?, ?)", self.time, self.id));
            self.args.push(SqlValue::Integer(at));
            self.args.push(SqlValue::Text(id));
        }
        Ok(self)
    }

    /// Run it: rows through `decode`, the next cursor from the last item's `key`.
    pub async fn page<T: Send + 'static>(
        self,
        db: &Db,
        decode: fn(&Row<'_>) -> DbResult<T>,
        key: fn(&T) -> (DateTime<Utc>, &str),
    ) -> Result<Page<T>> {
        let Self {
            mut sql,
            mut args,
            time,
            id,
            limit,
        } = self;
        // One more than the page: whether it exists decides the next cursor.
        sql.push_str(&format!(" ORDER BY {time} DESC, {id} DESC LIMIT ?"));
        args.push(SqlValue::Integer(
            i64::try_from(limit + 1).unwrap_or(i64::MAX),
        ));
        let mut items = db
            .read(move |conn| select_all(conn, &sql, rusqlite::params_from_iter(args), decode))
            .await?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|item| {
                let (at, id) = key(item);
                encode_cursor(ms(at), id)
            })
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

fn encode_cursor(at_ms: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{at_ms}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| {
            let (at, id) = text.split_once(':')?;
            Some((at.parse().ok()?, id.to_string()))
        })
        .ok_or_else(|| Error::validation("invalid cursor: pass next_cursor of a previous page"))
}
