//! A connection's webhook endpoint: the URL its provider is to call, and for providers that
//! sign nothing (GHN, GHTK; Haravan's challenge) the URL token the service makes.
//!
//! The token is made here, never supplied by the tenant: 256 bits from the OS's CSPRNG,
//! base64url, when the connection is created (or by the first rotation of a connection that
//! has none). It may be shown again (`GET …/webhook`): it is not a credential to the tenant's
//! data or to any action, only what tells the provider's pushes apart from anyone else's, the
//! tenant needs it whenever the provider's dashboard is set up again, and only the tenant's own
//! API keys can read it. Rotating keeps the old token working for the grace period
//! (`--webhook-token-grace-secs`, 24 h by default) so that the dashboard can be updated.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use connectors::webhook::{
    verifier, WebhookVerifier, PREVIOUS_TOKEN_EXPIRES_FIELD, PREVIOUS_TOKEN_FIELD, TOKEN_FIELD,
};
use integrations_core::model::{now, Connection, Credentials};
use integrations_core::{Error, ErrorKind};
use rand::RngCore;
use serde::Serialize;
use utoipa::ToSchema;

use super::load;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::openapi::errors;

/// The fields only the service writes.
const TOKEN_FIELDS: [&str; 3] = [
    TOKEN_FIELD,
    PREVIOUS_TOKEN_FIELD,
    PREVIOUS_TOKEN_EXPIRES_FIELD,
];

/// Where a connection's provider sends its webhooks.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "path": "/webhooks/shipping-ghn/01JF3Z9Q6T1W4X8Y2B5C7D9E0G?token=Xq3…",
    "url": "https://integrations.example.com/webhooks/shipping-ghn/01JF3Z9Q6T1W4X8Y2B5C7D9E0G?token=Xq3…",
    "token": "Xq3…", "previousTokenExpiresAt": null}))]
pub struct WebhookEndpoint {
    /// The path to register, with the URL token where the provider needs one.
    path: String,
    /// The full URL, when the service knows its public address (`--public-url`).
    #[schema(required = true)]
    url: Option<String>,
    /// The URL token (GHN, GHTK; Haravan's `hub.verify_token`); null for providers that sign.
    #[schema(required = true)]
    token: Option<String>,
    /// After a rotation, until when the previous token is still accepted.
    #[schema(required = true, value_type = Option<String>, format = DateTime)]
    previous_token_expires_at: Option<DateTime<Utc>>,
}

impl WebhookEndpoint {
    pub(crate) fn new(state: &AppState, connection: &Connection, secrets: &Credentials) -> Self {
        let token = secrets.get(TOKEN_FIELD).map(str::to_string);
        let mut path = format!(
            "/webhooks/{}/{}",
            connection.integration_id, connection.connection_id
        );
        if let Some(t) = &token {
            // base64url: nothing to escape.
            path = format!("{path}?token={t}");
        }
        Self {
            url: state
                .settings
                .public_url
                .as_ref()
                .map(|u| format!("{u}{path}")),
            path,
            token,
            previous_token_expires_at: secrets
                .get(PREVIOUS_TOKEN_EXPIRES_FIELD)
                .and_then(|ms| ms.parse().ok())
                .and_then(DateTime::from_timestamp_millis),
        }
    }
}

/// The endpoint of a connection whose integration receives webhooks, for its create answer.
pub(crate) fn endpoint(
    state: &AppState,
    connection: &Connection,
    secrets: &Credentials,
) -> Option<WebhookEndpoint> {
    verifier(&connection.integration_id).map(|_| WebhookEndpoint::new(state, connection, secrets))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// For a new connection: refuses token fields the tenant sent and, where the provider needs a
/// URL token, makes one.
pub(crate) fn issue_token(
    integration_id: &str,
    credentials: &mut BTreeMap<String, String>,
) -> Result<(), Error> {
    refuse_token_fields(credentials)?;
    if verifier(integration_id).is_some_and(|v| v.url_token()) {
        credentials.insert(TOKEN_FIELD.to_string(), new_token());
    }
    Ok(())
}

/// The token fields are the service's to write (`webhook-token/rotate`), not the tenant's.
pub(crate) fn refuse_token_fields(credentials: &BTreeMap<String, String>) -> Result<(), Error> {
    match TOKEN_FIELDS.iter().find(|f| credentials.contains_key(**f)) {
        Some(f) => Err(Error::validation(format!(
            "credentials/{f}: is made by the service; see GET /connections/{{connectionId}}/webhook \
             and POST /connections/{{connectionId}}/webhook-token/rotate"
        ))),
        None => Ok(()),
    }
}

fn receiving(connection: &Connection) -> ApiResult<Box<dyn WebhookVerifier>> {
    verifier(&connection.integration_id).ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            format!("{} receives no webhooks", connection.integration_id),
        )
    })
}

/// The connection's webhook URL (with its token where the provider needs one).
#[utoipa::path(
    get,
    path = "/connections/{connectionId}/webhook",
    operation_id = "getConnectionWebhook",
    tag = "connections",
    params(("connectionId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "Where the provider is to send webhooks", body = WebhookEndpoint),
        errors::Lookup
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    let connection = load(&state, &caller, &connection_id).await?;
    receiving(&connection)?;
    // Idempotent; registers connections made before OAuth connections were registered.
    state
        .backend
        .webhooks
        .register_endpoint(&connection.connection_id, &caller.tenant_id)
        .await?;
    let secrets = state
        .backend
        .secrets
        .get_secret(&connection.credentials_ref)
        .await?
        .unwrap_or_default();
    Ok(Json(WebhookEndpoint::new(&state, &connection, &secrets)))
}

/// A new URL token; the one it replaces keeps working for the grace period.
#[utoipa::path(
    post,
    path = "/connections/{connectionId}/webhook-token/rotate",
    operation_id = "rotateWebhookToken",
    tag = "connections",
    params(("connectionId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "The new URL to register; the previous token works until previousTokenExpiresAt", body = WebhookEndpoint),
        errors::Lookup
    )
)]
pub async fn rotate(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(connection_id): Path<String>,
) -> ApiResult<Json<WebhookEndpoint>> {
    let connection = load(&state, &caller, &connection_id).await?;
    if !receiving(&connection)?.url_token() {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            format!(
                "{}'s webhooks are signed: it has no URL token",
                connection.integration_id
            ),
        ));
    }
    let secrets = &state.backend.secrets;
    let mut credentials = secrets
        .get_secret(&connection.credentials_ref)
        .await?
        .unwrap_or_default();
    let until = now() + state.settings.webhook_token_grace;
    match credentials.0.insert(TOKEN_FIELD.to_string(), new_token()) {
        Some(previous) => {
            credentials
                .0
                .insert(PREVIOUS_TOKEN_FIELD.to_string(), previous);
            credentials.0.insert(
                PREVIOUS_TOKEN_EXPIRES_FIELD.to_string(),
                until.timestamp_millis().to_string(),
            );
        }
        // A connection made before the service made tokens: nothing to keep.
        None => {
            credentials.0.remove(PREVIOUS_TOKEN_FIELD);
            credentials.0.remove(PREVIOUS_TOKEN_EXPIRES_FIELD);
        }
    }
    secrets
        .put_secret(&connection.credentials_ref, &credentials)
        .await?;
    tracing::info!(tenant_id = %caller.tenant_id, connection_id = %connection.connection_id,
        grace_secs = state.settings.webhook_token_grace.as_secs(), "webhook token rotated");
    Ok(Json(WebhookEndpoint::new(
        &state,
        &connection,
        &credentials,
    )))
}
