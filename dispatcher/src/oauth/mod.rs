//! OAuth2 connections: `POST /connections/oauth/start` answers the provider's authorize URL
//! with a signed, expiring, single-use `state` ([`state`]) and a PKCE challenge where the
//! catalog says the provider takes one; `GET /oauth/callback` (public: the user's browser
//! arrives from the provider) verifies the state and the provider's callback `hmac`, exchanges
//! the code with the operator's app ([`apps`]), keeps the tokens in the secret store only and
//! creates the connection `active`. Renewal afterwards is the connector's (the kit's oauth2
//! strategy).

pub mod apps;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use connectors::kit::auth::token::oauth2::{self, TokenEndpoint, RFC6749_CODES};
use connectors::kit::sign;
use integrations_core::catalog::{Integration, OAuth2Spec};
use integrations_core::model::Credentials;
use integrations_core::model::{new_id, now, secret_name, Connection, ConnectionStatus};
use integrations_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Body, Query};
use crate::openapi::{errors, views};
use state::{pkce_challenge, Pending};

/// Token endpoints speak RFC 6749 whatever the provider; named so in error messages.
static TOKEN_ENDPOINT: TokenEndpoint = TokenEndpoint {
    provider: "the provider's token endpoint",
    codes: RFC6749_CODES,
};

/// What the OAuth flow needs besides the store: the outbound client and the operator's
/// provider base-URL overrides (a fake provider in tests).
pub struct Flow {
    http: reqwest::Client,
    base_urls: BTreeMap<String, String>,
}

impl Flow {
    pub fn new(base_urls: BTreeMap<String, String>) -> Self {
        // The connectors' client (timeouts, no redirects); its construction fails only
        // without a TLS backend, which every connector would need too.
        let http = connectors::ConnectorSettings::new()
            .map(|s| s.client)
            .unwrap_or_default();
        Self { http, base_urls }
    }

    /// `template` expanded with the config, its origin replaced by the operator's override.
    fn url(&self, integration_id: &str, template: &str, config: &Value) -> Result<url::Url> {
        let expanded = OAuth2Spec::expand(template, config)?;
        let parsed = url::Url::parse(&expanded)
            .map_err(|e| Error::validation(format!("config: gives no valid URL: {e}")))?;
        let Some(base) = self.base_urls.get(integration_id) else {
            return Ok(parsed);
        };
        // The template's own query (Haravan's `response_mode=query`) stays.
        let query = parsed.query().map(|q| format!("?{q}")).unwrap_or_default();
        let joined = format!("{}{}{query}", base.trim_end_matches('/'), parsed.path());
        url::Url::parse(&joined)
            .map_err(|e| Error::internal(format!("the {integration_id} base URL override: {e}")))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(
    as = StartOAuth,
    example = json!({"integrationId": "ecommerce-shopify", "name": "My shop",
                     "config": {"shop": "my-shop.myshopify.com"},
                     "redirectUri": "https://integrations.example.com/oauth/callback"})
)]
pub struct StartBody {
    integration_id: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// The connection's non-secret config (validated against the configSchema).
    #[serde(default)]
    #[schema(value_type = Object)]
    config: Map<String, Value>,
    /// This service's `/oauth/callback` as registered with the provider's app (https).
    #[schema(min_length = 1, max_length = 2000)]
    redirect_uri: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuthStart {
    /// Send the user's browser here to consent.
    authorize_url: String,
    /// Signed, single-use, bound to the tenant, integration and redirectUri.
    state: String,
    #[schema(value_type = String, format = DateTime)]
    expires_at: chrono::DateTime<chrono::Utc>,
}

fn oauth_spec(integration: &Integration) -> Result<&OAuth2Spec> {
    integration.oauth2.as_ref().ok_or_else(|| {
        Error::validation(format!(
            "integrationId: {} does not connect through OAuth; create it with POST /connections",
            integration.integration_id
        ))
    })
}

fn check_redirect(uri: &str, allow_private: bool) -> Result<()> {
    let parsed = url::Url::parse(uri)
        .map_err(|_| Error::validation("redirectUri: must be an absolute URL"))?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_private => Ok(()),
        _ => Err(Error::validation("redirectUri: must be https")),
    }
}

/// Begin an OAuth2 connection: the provider's authorize URL to send the user to.
#[utoipa::path(
    post,
    path = "/connections/oauth/start",
    operation_id = "startOAuthConnection",
    tag = "connections",
    request_body = StartBody,
    responses(
        (status = 200, description = "Where to send the user", body = OAuthStart),
        errors::OAuthStart
    )
)]
pub async fn start(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body<StartBody>,
) -> ApiResult<Json<OAuthStart>> {
    if body.name.trim().is_empty() || body.name.len() > 200 {
        return Err(Error::validation("name: 1 to 200 characters").into());
    }
    let integration = state.catalog.integration(&body.integration_id)?;
    let spec = oauth_spec(integration)?;
    check_redirect(&body.redirect_uri, state.settings.allow_private_urls)?;
    let secrets = state.backend.secrets.as_ref();
    let app = apps::app(secrets, &body.integration_id).await?;
    // The config as the callback will check it, with the credentials the flow will bring.
    let will_have: BTreeMap<String, String> = integration
        .secret_fields
        .iter()
        .filter(|f| {
            [
                oauth2::ACCESS_TOKEN,
                oauth2::CLIENT_ID,
                oauth2::CLIENT_SECRET,
            ]
            .contains(&f.as_str())
        })
        .map(|f| (f.clone(), "pending".to_string()))
        .collect();
    integration.validate_connection(&body.config, &will_have)?;
    let config = Value::Object(body.config);
    let mut url = state
        .oauth
        .url(&body.integration_id, &spec.authorize_url, &config)?;
    let key = apps::state_key(secrets).await?;
    let pending = Pending::new(
        &caller.tenant_id,
        &body.integration_id,
        &body.name,
        config,
        &body.redirect_uri,
    );
    let signed = pending.sign(&key)?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &app.client_id)
            .append_pair("scope", &spec.scopes.join(&spec.scope_separator))
            .append_pair("redirect_uri", &body.redirect_uri)
            .append_pair("state", &signed)
            .append_pair("response_type", "code");
        if spec.pkce {
            q.append_pair(
                "code_challenge",
                &pkce_challenge(&pending.pkce_verifier(&key)),
            )
            .append_pair("code_challenge_method", "S256");
        }
    }
    tracing::info!(tenant_id = %caller.tenant_id, integration_id = %body.integration_id, "OAuth authorization started");
    Ok(Json(OAuthStart {
        authorize_url: url.to_string(),
        state: signed,
        expires_at: pending.expires(),
    }))
}

/// The provider's redirect back: `code` and `state` (Shopify adds `hmac`, `shop`, `host`,
/// `timestamp`), or `error` when the user declined.
/// Only documents the query: the handler reads every parameter as it came, since Shopify's
/// `hmac` covers all of them.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    hmac: Option<String>,
    shop: Option<String>,
}

/// Finish an OAuth2 connection: verify, exchange the code, create the connection.
#[utoipa::path(
    get,
    path = "/oauth/callback",
    operation_id = "oauthCallback",
    tag = "connections",
    params(CallbackQuery),
    responses(
        (status = 201, description = "The connection, active", body = views::Connection),
        errors::OAuthCallback
    )
)]
pub async fn callback(
    State(state): State<Arc<AppState>>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<(StatusCode, Json<views::Connection>)> {
    let secrets = state.backend.secrets.as_ref();
    let key = apps::state_key(secrets).await?;
    let signed = query.get("state").map(String::as_str).unwrap_or_default();
    let pending = Pending::verify(signed, &key, chrono::Utc::now())?;
    let integration = state.catalog.integration(&pending.integration_id)?;
    let spec = oauth_spec(integration)?;
    if let Some(error) = query.get("error") {
        return Err(Error::new(
            ErrorKind::OAuthConsentDenied,
            format!("the authorization was not granted ({error}); nothing was connected"),
        )
        .into());
    }
    let app = apps::app(secrets, &pending.integration_id).await?;
    if spec.callback_hmac {
        verify_hmac(&query, &app.client_secret, &pending.config)?;
    }
    let code = query
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::validation("code: the provider's callback carries no code"))?;
    pending.spend(state.backend.leases.as_ref()).await?;
    let token_url = state
        .oauth
        .url(&pending.integration_id, &spec.token_url, &pending.config)?;
    let base = token_url
        .as_str()
        .trim_end_matches(token_url.path())
        .to_string();
    let verifier = spec.pkce.then(|| pending.pkce_verifier(&key));
    let extra: Vec<(&str, Value)> = spec
        .exchange_params
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let tokens = oauth2::exchange_code(
        &state.oauth.http,
        &base,
        token_url.path(),
        &TOKEN_ENDPOINT,
        (&app.client_id, &app.client_secret),
        code,
        &pending.redirect_uri,
        verifier.as_deref(),
        &extra,
    )
    .await?;
    let mut credentials = BTreeMap::from([
        (oauth2::ACCESS_TOKEN.to_string(), tokens.access_token),
        (oauth2::CLIENT_ID.to_string(), app.client_id),
        (oauth2::CLIENT_SECRET.to_string(), app.client_secret),
    ]);
    if let Some(refresh) = tokens.refresh_token {
        credentials.insert(oauth2::REFRESH_TOKEN.into(), refresh);
    }
    if let Some(seconds) = tokens.expires_in {
        let at = chrono::Utc::now() + chrono::Duration::seconds(seconds);
        credentials.insert(
            format!("{}ExpiresAt", oauth2::ACCESS_TOKEN),
            at.timestamp_millis().to_string(),
        );
    }
    credentials.retain(|k, _| integration.secret_fields.contains(k));
    crate::routes::connections::webhook::issue_token(&pending.integration_id, &mut credentials)?;
    let config = pending.config.as_object().cloned().unwrap_or_default();
    integration.validate_connection(&config, &credentials)?;
    let credentials = Credentials(credentials);
    let connection = create(&state, &pending, &credentials).await?;
    let webhook = crate::routes::connections::webhook::endpoint(&state, &connection, &credentials);
    Ok((
        StatusCode::CREATED,
        Json(views::Connection::created(&connection, webhook)),
    ))
}

/// Shopify's callback signature: every other parameter sorted, `k=v` joined with `&`, hex
/// HMAC-SHA256 with the app's secret; and the shop it names is the one being connected.
fn verify_hmac(query: &HashMap<String, String>, secret: &str, config: &Value) -> Result<()> {
    let bad = |why: &str| Error::new(ErrorKind::OAuthHmacInvalid, why.to_string());
    let given = query
        .get("hmac")
        .ok_or_else(|| bad("the callback carries no hmac"))?;
    let pairs: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "hmac" && k.as_str() != "signature")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let message = sign::sorted_pairs(&pairs, sign::PairEncoding::Raw, false);
    let expected = sign::hmac_sha256_hex(secret.as_bytes(), message.as_bytes());
    if !sign::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(bad("the callback's hmac does not verify"));
    }
    let shop = config.get("shop").and_then(Value::as_str);
    if shop.is_some() && query.get("shop").map(String::as_str) != shop {
        return Err(bad(
            "the callback is for another shop than the one being connected",
        ));
    }
    Ok(())
}

async fn create(
    state: &AppState,
    pending: &Pending,
    credentials: &Credentials,
) -> Result<Connection> {
    let connection_id = new_id();
    let credentials_ref = secret_name(&pending.tenant_id, &connection_id);
    let t = now();
    let connection = Connection {
        tenant_id: pending.tenant_id.clone(),
        connection_id,
        integration_id: pending.integration_id.clone(),
        name: pending.name.clone(),
        config: pending.config.clone(),
        credentials_ref: credentials_ref.clone(),
        status: ConnectionStatus::Active,
        last_tested_at: None,
        last_error_at: None,
        last_error: None,
        created_at: t,
        updated_at: t,
    };
    crate::routes::connections::store(state, &connection, credentials).await?;
    tracing::info!(tenant_id = %connection.tenant_id, connection_id = %connection.connection_id, integration_id = %connection.integration_id, "OAuth connection created");
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shopify's published example (providers.md, "Shopify OAuth callback, secret `hush`").
    #[test]
    fn shopifys_callback_hmac_test_vector_verifies() {
        let mut query: HashMap<String, String> = [
            ("code", "0907a61c0c8d55e99db179b68161bc00"),
            ("shop", "some-shop.myshopify.com"),
            ("state", "0.6784241404160823"),
            ("timestamp", "1337178173"),
            (
                "hmac",
                "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = serde_json::json!({"shop": "some-shop.myshopify.com"});
        verify_hmac(&query, "hush", &config).expect("the published vector");
        let e = verify_hmac(&query, "other", &config).expect_err("wrong secret");
        assert_eq!(e.kind, ErrorKind::OAuthHmacInvalid);
        let other_shop = serde_json::json!({"shop": "x.myshopify.com"});
        assert!(verify_hmac(&query, "hush", &other_shop).is_err());
        query.insert("timestamp".into(), "1337178174".into());
        assert!(verify_hmac(&query, "hush", &config).is_err(), "tampered");
    }
}
