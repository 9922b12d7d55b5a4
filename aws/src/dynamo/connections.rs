//! ConnectionStore on DynamoDB: PK `TENANT#<tenantId>`, SK `CONNECTION#<connectionId>`; the
//! connection itself is one JSON attribute (it is always read and replaced whole), with the
//! attributes that queries filter on beside it.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValue;
use aws_sdk_dynamodb::Client;
use integrations_core::backend::{ConnectionFilter, ConnectionStore};
use integrations_core::model::Connection;
use integrations_core::{Error, ErrorKind, Result};

use super::{
    get_json, item_size, s, tenant_pk, to_json, ts, Item, CONNECTIONS_BY_INTEGRATION, ITEM_BUDGET,
};
use crate::error::sdk_error;

const DATA: &str = "connection";
/// Partition key of ConnectionsByIntegration: `TENANT#<t>#INTEGRATION#<i>`.
pub(crate) const INTEGRATION_KEY: &str = "integrationKey";
pub(crate) const CREATED_KEY: &str = "createdKey";

#[derive(Debug, Clone)]
pub struct DynamoConnections {
    client: Client,
    table: String,
}

fn key(tenant_id: &str, connection_id: &str) -> Item {
    Item::from([
        ("PK".into(), s(tenant_pk(tenant_id))),
        ("SK".into(), s(format!("CONNECTION#{connection_id}"))),
    ])
}

fn integration_key(tenant_id: &str, integration_id: &str) -> String {
    format!("TENANT#{tenant_id}#INTEGRATION#{integration_id}")
}

fn item(c: &Connection) -> Result<Item> {
    let mut item = key(&c.tenant_id, &c.connection_id);
    item.insert("type".into(), s("connection"));
    item.insert(DATA.into(), s(to_json(c)?));
    item.insert("integrationId".into(), s(&c.integration_id));
    item.insert("status".into(), s(c.status.as_str()));
    item.insert(
        INTEGRATION_KEY.into(),
        s(integration_key(&c.tenant_id, &c.integration_id)),
    );
    item.insert(
        CREATED_KEY.into(),
        s(format!("{}#{}", ts(&c.created_at), c.connection_id)),
    );
    let size = item_size(&item);
    if size > ITEM_BUDGET {
        return Err(Error::new(
            ErrorKind::PayloadTooLarge,
            format!(
                "connection {} is {size} bytes; the limit is {ITEM_BUDGET}",
                c.connection_id
            ),
        ));
    }
    Ok(item)
}

impl DynamoConnections {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Puts the connection if `condition` holds; false when it does not.
    async fn put_if(&self, c: &Connection, condition: &str, what: &str) -> Result<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(c)?))
            .condition_expression(condition)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(sdk_error(what, e)),
            },
        }
    }
}

#[async_trait]
impl ConnectionStore for DynamoConnections {
    async fn create_connection(&self, connection: &Connection) -> Result<()> {
        if self
            .put_if(
                connection,
                "attribute_not_exists(PK)",
                "DynamoDB PutItem (create connection)",
            )
            .await?
        {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::ValidationFailed,
                format!("connection {} already exists", connection.connection_id),
            ))
        }
    }

    async fn get_connection(
        &self,
        tenant_id: &str,
        connection_id: &str,
    ) -> Result<Option<Connection>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_id, connection_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB GetItem (connection)", e))?;
        out.item.map(|i| get_json(&i, DATA)).transpose()
    }

    async fn update_connection(&self, connection: &Connection) -> Result<bool> {
        self.put_if(
            connection,
            "attribute_exists(PK)",
            "DynamoDB PutItem (update connection)",
        )
        .await
    }

    async fn delete_connection(&self, tenant_id: &str, connection_id: &str) -> Result<bool> {
        // ALL_OLD tells whether it existed, without a condition or a second request.
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_id, connection_id)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| sdk_error("DynamoDB DeleteItem (connection)", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list_connections(
        &self,
        tenant_id: &str,
        filter: &ConnectionFilter,
    ) -> Result<Vec<Connection>> {
        let mut req = self.client.query().table_name(&self.table);
        req = match &filter.integration_id {
            Some(integration) => req
                .index_name(CONNECTIONS_BY_INTEGRATION)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", INTEGRATION_KEY)
                .expression_attribute_values(":pk", s(integration_key(tenant_id, integration))),
            None => req
                .key_condition_expression("#pk = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_names("#pk", "PK")
                .expression_attribute_values(":pk", s(tenant_pk(tenant_id)))
                .expression_attribute_values(":prefix", s("CONNECTION#"))
                .consistent_read(true),
        };
        if let Some(status) = filter.status {
            req = req
                .filter_expression("#status = :status")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        let mut connections: Vec<Connection> = Vec::new();
        let mut start = None;
        loop {
            let out = req
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("DynamoDB Query (connections)", e))?;
            for i in out.items() {
                connections.push(get_json(i, DATA)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        connections.sort_by(|a, b| {
            (a.created_at, &a.connection_id).cmp(&(b.created_at, &b.connection_id))
        });
        Ok(connections)
    }
}
