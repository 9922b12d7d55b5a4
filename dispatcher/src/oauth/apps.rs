//! The operator's OAuth apps, one per integration (client id and secret, in the secret store
//! only), and the service key that signs OAuth states. `integrations oauth-app register`
//! stores an app (creating the state key on first use, so API processes never race to make
//! one); the API reads both per flow.

use std::path::Path;

use integrations_core::backend::SecretStore;
use integrations_core::catalog::{AuthType, Catalog};
use integrations_core::model::Credentials;
use integrations_core::{Error, ErrorKind, Result};
use rand::RngCore;

use crate::config::OAuthAppAction;

const CLIENT_ID: &str = "clientId";
const CLIENT_SECRET: &str = "clientSecret";
const STATE_KEY_SECRET: &str = "/integrations/oauth-apps/_service/state-key";

fn app_secret(integration_id: &str) -> String {
    format!("/integrations/oauth-apps/{integration_id}/client")
}

pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: String,
}

/// The app registered for `integration_id`.
pub async fn app(secrets: &dyn SecretStore, integration_id: &str) -> Result<OAuthApp> {
    let stored = secrets.get_secret(&app_secret(integration_id)).await?;
    let field = |c: &Credentials, k: &str| c.get(k).map(str::to_string);
    match stored
        .as_ref()
        .and_then(|c| Some((field(c, CLIENT_ID)?, field(c, CLIENT_SECRET)?)))
    {
        Some((client_id, client_secret)) => Ok(OAuthApp {
            client_id,
            client_secret,
        }),
        None => Err(Error::new(
            ErrorKind::OAuthAppNotRegistered,
            format!(
                "no OAuth app is registered for {integration_id}; an operator registers one \
                 (`integrations oauth-app register --integration {integration_id}`)"
            ),
        )),
    }
}

/// The key OAuth states are signed with.
pub async fn state_key(secrets: &dyn SecretStore) -> Result<Vec<u8>> {
    let stored = secrets.get_secret(STATE_KEY_SECRET).await?;
    let key = stored.as_ref().and_then(|c| c.get("key")).map(hex::decode);
    match key {
        Some(Ok(k)) if k.len() >= 32 => Ok(k),
        _ => Err(Error::new(
            ErrorKind::OAuthAppNotRegistered,
            "the service has no OAuth state key; registering an OAuth app creates it \
             (`integrations oauth-app register`)",
        )),
    }
}

async fn ensure_state_key(secrets: &dyn SecretStore) -> Result<()> {
    if state_key(secrets).await.is_ok() {
        return Ok(());
    }
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let value = Credentials([("key".to_string(), hex::encode(key))].into());
    secrets.put_secret(STATE_KEY_SECRET, &value).await
}

/// The lines to print. The secret is read from a file (never an argument: it would show in
/// the process list and shell history) and never printed.
pub async fn run(
    secrets: &dyn SecretStore,
    catalog: &Catalog,
    action: &OAuthAppAction,
) -> Result<Vec<String>> {
    match action {
        OAuthAppAction::Register {
            integration,
            client_id,
            client_secret_file,
        } => {
            let doc = catalog.integration(integration)?;
            if doc.auth_type != AuthType::OAuth2 {
                return Err(Error::validation(format!(
                    "{integration} does not connect through OAuth (its authType is {})",
                    doc.auth_type.as_str()
                )));
            }
            let client_secret = read_secret(client_secret_file)?;
            if client_id.trim().is_empty() {
                return Err(Error::validation("--client-id must not be blank"));
            }
            ensure_state_key(secrets).await?;
            let value = Credentials(
                [
                    (CLIENT_ID.to_string(), client_id.clone()),
                    (CLIENT_SECRET.to_string(), client_secret),
                ]
                .into(),
            );
            secrets.put_secret(&app_secret(integration), &value).await?;
            Ok(vec![format!(
                "registered the OAuth app {client_id} for {integration}"
            )])
        }
    }
}

fn read_secret(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::validation(format!("--client-secret-file {}: {e}", path.display())))?;
    let secret = text.trim().to_string();
    if secret.is_empty() {
        return Err(Error::validation(format!(
            "--client-secret-file {} is empty",
            path.display()
        )));
    }
    Ok(secret)
}
