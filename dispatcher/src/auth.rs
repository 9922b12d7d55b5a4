//! Caller authentication: `Authorization: Bearer <api key>` (stored as its SHA-256) and the tenant
//! from `X-Tenant-Id`, which must be in the key's scope (for MCP also implied by a key scoped to
//! exactly one tenant).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use integrations_core::model::{new_id, now, ApiKey};
use integrations_core::{Error, ErrorKind};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::ApiError;

/// Who is calling, for which tenant: put in the request's extensions by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub caller_service: String,
}

pub const TENANT_HEADER: &str = "x-tenant-id";

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new API key (returned once) and its stored record.
pub fn generate_key(caller_service: &str, tenants: Option<Vec<String>>) -> (String, ApiKey) {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let key = format!(
        "isk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let record = ApiKey {
        key_id: new_id(),
        key_hash: hash_key(&key),
        caller_service: caller_service.to_string(),
        tenants,
        created_at: now(),
    };
    (key, record)
}

/// How long an API process reuses a key it found: a revoked key is refused by every process of
/// the fleet within this time (`integrations keys revoke`).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

fn valid_tenant_id(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

pub async fn authenticate(
    State(state): State<std::sync::Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> std::result::Result<Response, ApiError> {
    let caller = caller_for(&state, req.headers(), TenantRule::Header).await?;
    req.extensions_mut().insert(caller);
    Ok(next.run(req).await)
}

/// Where the tenant of a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantRule {
    /// `X-Tenant-Id`, always (the HTTP API).
    Header,
    /// `X-Tenant-Id`, or the key's only tenant when it is scoped to exactly one (MCP clients
    /// that can set a bearer token but no other header).
    HeaderOrImplied,
}

/// The caller of a request with these headers: its API key checked, its tenant in the key's
/// scope.
pub async fn caller_for(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    rule: TenantRule,
) -> std::result::Result<Caller, ApiError> {
    let key = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::Unauthenticated,
                "missing API key: send Authorization: Bearer <key>",
            )
        })?;
    let record = state
        .backend
        .api_keys
        .find_api_key(&hash_key(key))
        .await?
        .ok_or_else(|| ApiError::new(ErrorKind::Unauthenticated, "unknown API key"))?;
    let header = headers.get(TENANT_HEADER).and_then(|v| v.to_str().ok());
    let implied = match (&record.tenants, rule) {
        (Some(only), TenantRule::HeaderOrImplied) if only.len() == 1 => Some(only[0].as_str()),
        _ => None,
    };
    let tenant_id = header.or(implied).ok_or_else(|| {
        ApiError(Error::validation(match rule {
            TenantRule::Header => "missing X-Tenant-Id header",
            TenantRule::HeaderOrImplied => {
                "missing X-Tenant-Id header (needed unless the key is scoped to one tenant)"
            }
        }))
    })?;
    if !valid_tenant_id(tenant_id) {
        return Err(ApiError(Error::validation(
            "X-Tenant-Id: 1-128 characters of A-Z a-z 0-9 - _ . :",
        )));
    }
    if !record.allows(tenant_id) {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            format!("this API key may not act for tenant '{tenant_id}'"),
        ));
    }
    Ok(Caller {
        tenant_id: tenant_id.to_string(),
        caller_service: record.caller_service,
    })
}
