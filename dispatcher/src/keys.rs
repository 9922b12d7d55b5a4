//! `integrations keys list | revoke`: the operator's view of API keys. Keys are stored hashed,
//! so a listing shows what a key is for, never the key.

use integrations_core::backend::ApiKeyStore;
use integrations_core::{Error, ErrorKind, Result};
use serde_json::json;

use crate::config::KeysAction;

/// The lines to print for `action`.
pub async fn run(store: &dyn ApiKeyStore, action: &KeysAction) -> Result<Vec<String>> {
    match action {
        KeysAction::List => Ok(store
            .list_api_keys()
            .await?
            .iter()
            .map(|k| {
                json!({
                    "keyId": k.key_id,
                    "callerService": k.caller_service,
                    "tenants": k.tenants,
                    "createdAt": k.created_at,
                })
                .to_string()
            })
            .collect()),
        KeysAction::Revoke { key_id } => {
            if !store.revoke_api_key(key_id).await? {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("no API key has the id {key_id} (`integrations keys list`)"),
                ));
            }
            Ok(vec![format!(
                "revoked {key_id}: refused everywhere within {} s",
                crate::auth::KEY_CACHE_TTL.as_secs()
            )])
        }
    }
}
