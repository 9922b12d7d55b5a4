//! Connections: a tenant's configured instance of an integration. Config is stored with the
//! connection; credentials only in the secret store, and never returned.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use integrations_core::model::{
    new_id, now, secret_name, Connection, ConnectionStatus, Credentials,
};
use integrations_core::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path, Query};
use crate::openapi::errors;
use crate::openapi::views;

pub mod probe;
pub mod webhook;

pub(crate) async fn load(
    state: &AppState,
    caller: &Caller,
    connection_id: &str,
) -> ApiResult<Connection> {
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(
    as = CreateConnection,
    example = json!({"integrationId": "shipping-ghn", "name": "My GHN shop",
                     "config": {"shopId": 885, "environment": "sandbox"},
                     "credentials": {"apiKey": "test-token"}})
)]
pub struct CreateBody {
    integration_id: String,
    /// Not only whitespace.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// Validated against the integration's configSchema (non-secret fields).
    #[serde(default)]
    #[schema(value_type = Object)]
    config: Map<String, Value>,
    /// The configSchema's writeOnly fields; kept in the secret store only.
    #[serde(default)]
    credentials: BTreeMap<String, String>,
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(Error::validation("name: 1 to 200 characters"));
    }
    Ok(())
}

/// Create a connection; secrets go to the secret store only.
#[utoipa::path(
    post,
    path = "/connections",
    operation_id = "createConnection",
    tag = "connections",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created", body = views::Connection, links(
            ("GetConnection" = (operation_id = "getConnection",
                parameters(("connectionId" = "$response.body#/connectionId")))),
            ("UpdateConnection" = (operation_id = "updateConnection",
                parameters(("connectionId" = "$response.body#/connectionId")))),
            ("TestConnection" = (operation_id = "testConnection",
                parameters(("connectionId" = "$response.body#/connectionId")))),
            ("DeleteConnection" = (operation_id = "deleteConnection",
                parameters(("connectionId" = "$response.body#/connectionId")))),
            ("Execute" = (operation_id = "execute",
                description = "A GHN connection's fee (the example connection).",
                request_body = json!({"connectionId": "$response.body#/connectionId",
                    "actionId": "calculate_fee",
                    "input": {"fromDistrictId": 1442, "toDistrictId": 1485,
                              "toWardCode": "1A0101", "weight": 500}})))
        )),
        errors::Write
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Body(mut body): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<views::Connection>)> {
    check_name(&body.name)?;
    let integration = state.catalog.integration(&body.integration_id)?;
    webhook::issue_token(&body.integration_id, &mut body.credentials)?;
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
    let credentials = Credentials(body.credentials);
    store(&state, &connection, &credentials).await?;
    tracing::info!(tenant_id = %caller.tenant_id, connection_id = %connection.connection_id, "connection created");
    Ok((
        StatusCode::CREATED,
        Json(views::Connection::created(
            &connection,
            webhook::endpoint(&state, &connection, &credentials),
        )),
    ))
}

/// Stores a new connection: its secret, its webhook endpoint, then the connection (by the
/// API and by the OAuth callback alike).
pub(crate) async fn store(
    state: &AppState,
    connection: &Connection,
    credentials: &Credentials,
) -> Result<(), Error> {
    let secrets = &state.backend.secrets;
    // Secret first: a connection never exists without its credentials.
    secrets
        .put_secret(&connection.credentials_ref, credentials)
        .await?;
    // Before the connection: a URL resolving to no connection yet answers 404, never the
    // reverse (a connection whose provider cannot reach it).
    let stored = async {
        state
            .backend
            .webhooks
            .register_endpoint(&connection.connection_id, &connection.tenant_id)
            .await?;
        state
            .backend
            .connections
            .create_connection(connection)
            .await
    }
    .await;
    if stored.is_err() {
        let _ = secrets.delete_secret(&connection.credentials_ref).await;
    }
    stored
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    integration_id: Option<String>,
    #[param(value_type = Option<ConnectionStatus>)]
    status: Option<String>,
}

/// The tenant's connections.
#[utoipa::path(
    get,
    path = "/connections",
    operation_id = "listConnections",
    tag = "connections",
    params(ListQuery),
    responses(
        (status = 200, description = "Connections", body = views::ConnectionList),
        errors::Common
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<views::ConnectionList>> {
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
    let connections = list.iter().map(views::Connection::from).collect();
    Ok(Json(views::ConnectionList { connections }))
}

/// One connection.
#[utoipa::path(
    get,
    path = "/connections/{connectionId}",
    operation_id = "getConnection",
    tag = "connections",
    params(("connectionId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "The connection", body = views::Connection),
        errors::Lookup
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<views::Connection>> {
    Ok(Json((&load(&state, &caller, &connection_id).await?).into()))
}

/// Every field is optional; null leaves it as it is.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = UpdateConnection)]
pub struct UpdateBody {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: Option<String>,
    /// Merged into the current config; a null value removes the field.
    #[schema(value_type = Option<Object>)]
    config: Option<Map<String, Value>>,
    /// Rotates credentials: merged into the current secret.
    credentials: Option<BTreeMap<String, String>>,
    /// A connection in `error` is set back by new credentials, not by hand.
    #[schema(schema_with = settable_status)]
    status: Option<String>,
}

/// `active`, `inactive` or null (what [`update`] accepts).
fn settable_status() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some([
            Value::from(ConnectionStatus::Active.as_str()),
            Value::from(ConnectionStatus::Inactive.as_str()),
            Value::Null,
        ]))
        .into()
}

/// Merge config, rotate credentials, set status active/inactive.
#[utoipa::path(
    patch,
    path = "/connections/{connectionId}",
    operation_id = "updateConnection",
    tag = "connections",
    params(("connectionId" = String, Path, min_length = 1)),
    request_body = UpdateBody,
    responses(
        (status = 200, description = "Updated", body = views::Connection),
        errors::Write
    )
)]
pub async fn update(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
    Body(body): Body<UpdateBody>,
) -> ApiResult<Json<views::Connection>> {
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
    if let Some(given) = &body.credentials {
        webhook::refuse_token_fields(given)?;
    }
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
    Ok(Json((&connection).into()))
}

/// Delete a connection and its secret.
#[utoipa::path(
    delete,
    path = "/connections/{connectionId}",
    operation_id = "deleteConnection",
    tag = "connections",
    params(("connectionId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "Deleted", body = views::Deleted),
        errors::Lookup
    )
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<views::Deleted>> {
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
    Ok(Json(views::Deleted::YES))
}
