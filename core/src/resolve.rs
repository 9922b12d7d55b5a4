//! Resolving what an execution runs: the tenant's connection, the catalog action and a validated
//! input. The API does it before accepting a submission and the engine again before each attempt
//! (the connection may have changed in between); both call this one function.

use std::sync::Arc;

use serde_json::Value;

use crate::backend::ConnectionStore;
use crate::catalog::{Action, Catalog};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Connection, ConnectionStatus};

/// The outer `Result` is a backend failure (try again later); the inner one is the caller's
/// error: unknown or inactive connection, unknown action, invalid input.
pub async fn resolve(
    connections: &dyn ConnectionStore,
    catalog: &Catalog,
    tenant_id: &str,
    connection_id: &str,
    action_id: &str,
    input: &Value,
) -> Result<Result<(Connection, Arc<Action>)>> {
    let Some(connection) = connections.get_connection(tenant_id, connection_id).await? else {
        return Ok(Err(Error::new(
            ErrorKind::ConnectionNotFound,
            format!("connection '{connection_id}' not found"),
        )));
    };
    match connection.status {
        ConnectionStatus::Active => {}
        ConnectionStatus::Inactive => {
            return Ok(Err(Error::new(
                ErrorKind::ConnectionInactive,
                format!("connection '{connection_id}' is inactive"),
            )))
        }
        ConnectionStatus::Error => {
            return Ok(Err(Error::new(
                ErrorKind::ConnectionCredentialsRejected,
                format!(
                    "the provider rejected the credentials of connection '{connection_id}'{}; \
                     update them (PATCH /connections/{connection_id}) or test the connection",
                    connection
                        .last_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            )))
        }
    }
    let action = match catalog.action(&connection.integration_id, action_id) {
        Ok(a) => a.clone(),
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = action.validate_input(input) {
        return Ok(Err(e));
    }
    Ok(Ok((connection, action)))
}
