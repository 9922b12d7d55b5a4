//! ApiKeyStore on DynamoDB: one item per key, keyed by the key's SHA-256 (`PK = APIKEY#<hash>`),
//! so that authenticating a request is one strongly consistent GetItem.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use integrations_core::backend::ApiKeyStore;
use integrations_core::model::ApiKey;
use integrations_core::Result;

use super::{get_json, s, to_json, Item};
use crate::error::sdk_error;

const DATA: &str = "apiKey";

#[derive(Debug, Clone)]
pub struct DynamoApiKeys {
    client: Client,
    table: String,
}

fn key(key_hash: &str) -> Item {
    Item::from([("PK".into(), s(format!("APIKEY#{key_hash}")))])
}

impl DynamoApiKeys {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl ApiKeyStore for DynamoApiKeys {
    async fn put_api_key(&self, api_key: &ApiKey) -> Result<()> {
        let mut item = key(&api_key.key_hash);
        item.insert("keyId".into(), s(&api_key.key_id));
        item.insert(DATA.into(), s(to_json(api_key)?));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB PutItem (API key)", e))?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(key_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem (API key)", e))?;
        out.item.map(|i| get_json(&i, DATA)).transpose()
    }

    /// A paged Scan: the table holds API keys only, and an operator lists them rarely.
    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(PK, :prefix)")
                .expression_attribute_values(":prefix", s("APIKEY#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Scan (API keys)", e))?;
            for item in out.items() {
                keys.push(get_json(item, DATA)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        keys.sort_by(|a, b| (a.created_at, &a.key_id).cmp(&(b.created_at, &b.key_id)));
        Ok(keys)
    }

    /// Found by id through the listing (items are keyed by hash), then deleted on the condition
    /// that the item still holds that id.
    async fn revoke_api_key(&self, key_id: &str) -> Result<bool> {
        let Some(found) = self
            .list_api_keys()
            .await?
            .into_iter()
            .find(|k| k.key_id == key_id)
        else {
            return Ok(false);
        };
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(&found.key_hash)))
            .condition_expression("keyId = :id")
            .expression_attribute_values(":id", s(key_id))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_error("DynamoDB DeleteItem (API key)", e)),
        }
    }
}
