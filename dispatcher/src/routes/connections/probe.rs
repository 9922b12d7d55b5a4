//! `POST /connections/{connectionId}/test`: run the connector's test with the connection's
//! credentials and record the outcome on the connection.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use integrations_core::connector::{CallContext, Renewal};
use integrations_core::model::{new_id, now, ConnectionStatus};
use integrations_core::sanitize::scrub;
use integrations_core::{Error, ErrorKind};

use super::load;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::Path;
use crate::openapi::{errors, views};

/// Run the connector's test; records lastTestedAt, lastError, status.
#[utoipa::path(
    post,
    path = "/connections/{connectionId}/test",
    operation_id = "testConnection",
    tag = "connections",
    params(("connectionId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "The test ran (success says how it went)",
         body = views::ConnectionTest),
        errors::Lookup
    )
)]
pub async fn test(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<views::ConnectionTest>> {
    let mut connection = load(&state, &caller, &connection_id).await?;
    let connector = state.connectors.get(&connection.integration_id)?.clone();
    let credentials = state
        .backend
        .secrets
        .get_secret(&connection.credentials_ref)
        .await?
        .unwrap_or_default();
    let timeout = state.settings.connection_test_timeout;
    let ctx = CallContext {
        execution_id: &new_id(),
        tenant_id: &caller.tenant_id,
        config: &connection.config,
        credentials: &credentials,
        timeout,
        renewal: Some(Renewal {
            secret_name: &connection.credentials_ref,
            renewer: &state.renewer,
        }),
    };
    let outcome = match tokio::time::timeout(timeout, connector.test_connection(ctx)).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorKind::ProviderTimeout,
            format!("no answer within {} s", timeout.as_secs()),
        )),
    };
    let tested_at = now();
    connection.last_tested_at = Some(tested_at);
    connection.updated_at = tested_at;
    let secrets: Vec<&str> = credentials.values().collect();
    let response = match outcome {
        Ok(message) => {
            if connection.status == ConnectionStatus::Error {
                connection.status = ConnectionStatus::Active;
            }
            connection.last_error = None;
            views::ConnectionTest {
                success: true,
                message,
                tested_at,
                error: None,
            }
        }
        Err(mut e) => {
            e.message = scrub(&e.message, &secrets);
            // Only rejected credentials stop executions; a provider that is down is not the
            // connection's fault.
            if connection.status == ConnectionStatus::Active
                && e.kind == ErrorKind::ProviderAuthFailed
            {
                connection.status = ConnectionStatus::Error;
            }
            connection.last_error = Some(e.message.clone());
            connection.last_error_at = Some(tested_at);
            views::ConnectionTest {
                success: false,
                error: Some(e.body()),
                message: e.message,
                tested_at,
            }
        }
    };
    state
        .backend
        .connections
        .update_connection(&connection)
        .await?;
    Ok(Json(response))
}
