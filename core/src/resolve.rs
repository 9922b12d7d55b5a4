//! Resolving what an execution runs: the tenant's connection, the catalog action and a validated
//! input. The API does it before accepting a submission and the engine again before each attempt
//! (the connection may have changed in between); both call this one function.

use std::sync::Arc;

use serde_json::Value;

use crate::backend::ConnectionStore;
use crate::catalog::{Action, AuthType, Catalog};
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
        ConnectionStatus::Error => return Ok(Err(rejected(catalog, &connection))),
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

/// Why an `error` connection runs nothing: an OAuth2 grant the provider no longer honours
/// needs a new consent; other credentials need updating (or a successful test).
fn rejected(catalog: &Catalog, connection: &Connection) -> Error {
    let id = &connection.connection_id;
    let cause = connection
        .last_error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    let oauth2 = catalog
        .integration(&connection.integration_id)
        .is_ok_and(|i| i.auth_type == AuthType::OAuth2);
    if oauth2 {
        return Error::new(
            ErrorKind::ConnectionReauthRequired,
            format!(
                "the provider no longer honours the authorization of connection '{id}'{cause}; \
                 authorize it again (POST /connections/oauth/start) or update its token \
                 (PATCH /connections/{id})"
            ),
        );
    }
    Error::new(
        ErrorKind::ConnectionCredentialsRejected,
        format!(
            "the provider rejected the credentials of connection '{id}'{cause}; update them \
             (PATCH /connections/{id}) or test the connection"
        ),
    )
}
