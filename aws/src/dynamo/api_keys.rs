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
}
