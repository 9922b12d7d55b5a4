//! RateLimitStore on DynamoDB: one item per bucket in the executions table
//! (`PK = BUCKET#<key>`, its own partition) holding `tokens` and `at`. A take is one PutItem
//! conditioned on the state this process last saw (a new bucket: on its absence); when another
//! process changed it meanwhile, the failed condition returns the stored state and the take is
//! retried against it. One request per take without contention, two with.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use aws_sdk_dynamodb::Client;
use integrations_core::backend::RateLimitStore;
use integrations_core::limits::{Bucket, BucketLimit, Grant};
use integrations_core::model::Timestamp;
use integrations_core::{Error, Result};

use super::{get_n, get_s, n, parse_ts, s, ts, Item, TTL_ATTRIBUTE};
use crate::error::sdk_error;

/// Takes under heavy contention give up after this many conflicts (the caller waits and asks
/// again: a delay, never a failure of the execution).
const ATTEMPTS: usize = 8;
/// Buckets idle this long are deleted by TTL (they start full again, as new ones do).
const IDLE_TTL_SECS: i64 = 24 * 3600;
const MAX_KNOWN: usize = 50_000;

#[derive(Debug)]
pub struct DynamoBuckets {
    client: Client,
    table: String,
    /// The state each bucket had when this process last wrote or saw it.
    known: Mutex<HashMap<String, Bucket>>,
}

impl DynamoBuckets {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            known: Mutex::new(HashMap::new()),
        }
    }

    fn known(&self, key: &str) -> Option<Bucket> {
        self.known.lock().ok()?.get(key).copied()
    }

    fn remember(&self, key: &str, bucket: Bucket) {
        if let Ok(mut known) = self.known.lock() {
            if known.len() >= MAX_KNOWN {
                known.clear();
            }
            known.insert(key.to_string(), bucket);
        }
    }
}

fn item_key(key: &str) -> Item {
    Item::from([
        ("PK".into(), s(format!("BUCKET#{key}"))),
        ("SK".into(), s("BUCKET")),
    ])
}

fn bucket_of(item: &Item) -> Result<Bucket> {
    let tokens = get_n::<f64>(item, "tokens")
        .ok_or_else(|| Error::internal("stored bucket lacks `tokens`"))?;
    let at = parse_ts(get_s(item, "at").unwrap_or_default())?;
    Ok(Bucket { tokens, at })
}

#[async_trait]
impl RateLimitStore for DynamoBuckets {
    async fn take_tokens(
        &self,
        key: &str,
        limit: &BucketLimit,
        want: u32,
        now: Timestamp,
    ) -> Result<Grant> {
        let mut seen = self.known(key);
        for _ in 0..ATTEMPTS {
            let mut bucket = seen.unwrap_or_else(|| Bucket::full(limit, now));
            let grant = bucket.take(limit, want, now);
            let mut item = item_key(key);
            item.insert("tokens".into(), n(bucket.tokens));
            item.insert("at".into(), s(ts(&bucket.at)));
            item.insert(TTL_ATTRIBUTE.into(), n(now.timestamp() + IDLE_TTL_SECS));
            let mut req = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            req = match &seen {
                Some(old) => req
                    .condition_expression("tokens = :tokens AND #at = :at")
                    .expression_attribute_names("#at", "at")
                    .expression_attribute_values(":tokens", n(old.tokens))
                    .expression_attribute_values(":at", s(ts(&old.at))),
                None => req.condition_expression("attribute_not_exists(PK)"),
            };
            match req.send().await {
                Ok(_) => {
                    self.remember(key, bucket);
                    return Ok(grant);
                }
                Err(e) => match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(c)) => {
                        // Someone else took from it: retry against what is stored.
                        seen = c.item().map(bucket_of).transpose()?;
                    }
                    _ => return Err(sdk_error("DynamoDB PutItem (rate limit)", e)),
                },
            }
        }
        // Contended beyond reason: ask the caller to come back shortly.
        Ok(Grant {
            granted: 0,
            retry_in: std::time::Duration::from_millis(100),
        })
    }
}
