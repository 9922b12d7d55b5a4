//! Fleet-wide token buckets in one table: each take reads, refills and writes its bucket in one
//! write transaction, so takers in every process sharing the file are serialized.

use async_trait::async_trait;
use integrations_core::backend::RateLimitStore;
use integrations_core::limits::{Bucket, BucketLimit, Grant};
use integrations_core::model::Timestamp;
use integrations_core::Result;
use rusqlite::{params, OptionalExtension};

use crate::values::{ms, ts};
use crate::EmbeddedBackend;

#[async_trait]
impl RateLimitStore for EmbeddedBackend {
    async fn take_tokens(
        &self,
        key: &str,
        limit: &BucketLimit,
        want: u32,
        now: Timestamp,
    ) -> Result<Grant> {
        let (key, limit) = (key.to_string(), *limit);
        self.db()
            .write(move |conn| {
                let stored: Option<(f64, i64)> = conn
                    .prepare_cached("SELECT tokens, at FROM buckets WHERE key = ?1")?
                    .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                let mut bucket = match stored {
                    Some((tokens, at)) => Bucket {
                        tokens,
                        at: ts(at)?,
                    },
                    None => Bucket::full(&limit, now),
                };
                let grant = bucket.take(&limit, want, now);
                conn.prepare_cached(
                    "INSERT INTO buckets (key, tokens, at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET tokens = ?2, at = ?3",
                )?
                .execute(params![key, bucket.tokens, ms(bucket.at)])?;
                Ok(grant)
            })
            .await
    }
}
