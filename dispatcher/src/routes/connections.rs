//! Connections: a tenant's configured instance of an integration. Config is stored with the
//! connection; credentials only in the secret store, and never returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use integrations_core::connector::{CallContext, Renewal};
use integrations_core::model::{
    new_id, now, secret_name, Connection, ConnectionStatus, Credentials,
};
use integrations_core::sanitize::scrub;
use integrations_core::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path, Query};

/// The API view of a connection: everything but the secret's location.
pub fn view(c: &Connection) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("credentialsRef");
    }
    v
}

async fn load(state: &AppState, caller: &Caller, connection_id: &str) -> ApiResult<Connection> {
    state
        .backend
        .connections
        .get_connection(&caller.tenant_id, connection_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::ConnectionNotFound,
                format!("connection '{connection_id}' not found"),
            )
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBody {
    integration_id: String,
    name: String,
    #[serde(default)]
    config: Map<String, Value>,
    #[serde(default)]
    credentials: BTreeMap<String, String>,
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Error::validation("name: 1 to 200 characters"));
    }
    Ok(())
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    check_name(&body.name)?;
    let integration = state.catalog.integration(&body.integration_id)?;
    integration.validate_connection(&body.config, &body.credentials)?;
    let connection_id = new_id();
    let credentials_ref = secret_name(&caller.tenant_id, &connection_id);
    let t = now();
    let connection = Connection {
        tenant_id: caller.tenant_id.clone(),
        connection_id,
        integration_id: body.integration_id,
        name: body.name,
        config: Value::Object(body.config),
        credentials_ref: credentials_ref.clone(),
        status: ConnectionStatus::Active,
        last_tested_at: None,
        last_error_at: None,
        last_error: None,
        created_at: t,
        updated_at: t,
    };
    // Secret first: a connection never exists without its credentials.
    state
        .backend
        .secrets
        .put_secret(&credentials_ref, &Credentials(body.credentials))
        .await?;
    if let Err(e) = state
        .backend
        .connections
        .create_connection(&connection)
        .await
    {
        let _ = state.backend.secrets.delete_secret(&credentials_ref).await;
        return Err(e.into());
    }
    tracing::info!(tenant_id = %caller.tenant_id, connection_id = %connection.connection_id, "connection created");
    Ok((StatusCode::CREATED, Json(view(&connection))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListQuery {
    integration_id: Option<String>,
    status: Option<String>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(ConnectionStatus::parse(s).ok_or_else(|| {
            Error::validation("status: one of active, inactive, error".to_string())
        })?),
    };
    let filter = integrations_core::backend::ConnectionFilter {
        integration_id: q.integration_id,
        status,
    };
    let list = state
        .backend
        .connections
        .list_connections(&caller.tenant_id, &filter)
        .await?;
    let connections: Vec<Value> = list.iter().map(view).collect();
    Ok(Json(json!({ "connections": connections })))
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(view(&load(&state, &caller, &connection_id).await?)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    name: Option<String>,
    /// Merged into the current config; a null value removes the field.
    config: Option<Map<String, Value>>,
    /// Rotates credentials: merged into the current secret.
    credentials: Option<BTreeMap<String, String>>,
    status: Option<String>,
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
    Body(body): Body<UpdateBody>,
) -> ApiResult<Json<Value>> {
    let mut connection = load(&state, &caller, &connection_id).await?;
    let integration = state.catalog.integration(&connection.integration_id)?;
    if let Some(name) = body.name {
        check_name(&name)?;
        connection.name = name;
    }
    let status_given = body.status.is_some();
    if let Some(status) = body.status {
        connection.status = match status.as_str() {
            "active" => ConnectionStatus::Active,
            "inactive" => ConnectionStatus::Inactive,
            _ => return Err(Error::validation("status: one of active, inactive").into()),
        };
    }
    let mut config = connection.config.as_object().cloned().unwrap_or_default();
    for (k, v) in body.config.unwrap_or_default() {
        if v.is_null() {
            config.remove(&k);
        } else {
            config.insert(k, v);
        }
    }
    let secrets = &state.backend.secrets;
    let mut credentials = secrets
        .get_secret(&connection.credentials_ref)
        .await?
        .unwrap_or_default();
    let rotating = body.credentials.is_some();
    credentials.0.extend(body.credentials.unwrap_or_default());
    integration.validate_connection(&config, &credentials.0)?;
    if rotating {
        // Workers read the secret per execution (or through a short cache): in-flight calls
        // finish with the old value, the next ones use the new.
        secrets
            .put_secret(&connection.credentials_ref, &credentials)
            .await?;
        // New credentials deserve a try: executions run again.
        if connection.status == ConnectionStatus::Error && !status_given {
            connection.status = ConnectionStatus::Active;
            connection.last_error = None;
        }
    }
    connection.config = Value::Object(config);
    connection.updated_at = now();
    if !state
        .backend
        .connections
        .update_connection(&connection)
        .await?
    {
        return Err(ApiError::new(
            ErrorKind::ConnectionNotFound,
            format!("connection '{connection_id}' not found"),
        ));
    }
    Ok(Json(view(&connection)))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let connection = load(&state, &caller, &connection_id).await?;
    state
        .backend
        .connections
        .delete_connection(&caller.tenant_id, &connection_id)
        .await?;
    state
        .backend
        .secrets
        .delete_secret(&connection.credentials_ref)
        .await?;
    Ok(Json(json!({ "success": true })))
}

/// Run the connector's test and record the outcome on the connection.
pub async fn test(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<Value>> {
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
            json!({ "success": true, "message": message, "testedAt": tested_at })
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
            json!({ "success": false, "message": e.message, "testedAt": tested_at, "error": e.body() })
        }
    };
    state
        .backend
        .connections
        .update_connection(&connection)
        .await?;
    Ok(Json(response))
}
