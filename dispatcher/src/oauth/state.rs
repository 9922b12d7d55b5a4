//! The OAuth `state`: what the callback needs to finish the flow (tenant, integration, the
//! connection's name and config, the redirect URI), signed with the service's key
//! (HMAC-SHA256), expiring after [`STATE_TTL`], and single-use (its id is recorded on first
//! use as a named lease that lives until the state expires, so any API process refuses a
//! second use). The PKCE verifier is never in it: the state travels through the browser, so
//! the verifier is derived from the state id with the service key and recomputed at the
//! callback.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use connectors::kit::sign;
use integrations_core::backend::{Lease, LeaseStore};
use integrations_core::model::new_id;
use integrations_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const STATE_TTL: Duration = Duration::minutes(10);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pending {
    pub id: String,
    pub tenant_id: String,
    pub integration_id: String,
    pub name: String,
    pub config: Value,
    pub redirect_uri: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Pending {
    pub fn new(
        tenant_id: &str,
        integration_id: &str,
        name: &str,
        config: Value,
        redirect_uri: &str,
    ) -> Self {
        Self {
            id: new_id(),
            tenant_id: tenant_id.into(),
            integration_id: integration_id.into(),
            name: name.into(),
            config,
            redirect_uri: redirect_uri.into(),
            expires_at: (Utc::now() + STATE_TTL).timestamp(),
        }
    }

    pub fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at, 0).unwrap_or_default()
    }

    /// `base64url(json).base64url(hmac)`.
    pub fn sign(&self, key: &[u8]) -> Result<String> {
        let json = serde_json::to_vec(self)
            .map_err(|e| Error::internal(format!("the OAuth state: {e}")))?;
        let payload = URL_SAFE_NO_PAD.encode(json);
        let mac = sign::hmac(sign::HmacAlgorithm::Sha256, key, payload.as_bytes());
        Ok(format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac)))
    }

    /// The state, if this service signed it and it has not expired.
    pub fn verify(state: &str, key: &[u8], now: DateTime<Utc>) -> Result<Self> {
        let invalid = || {
            Error::new(
                ErrorKind::OAuthStateInvalid,
                "the OAuth state is not one this service issued; start the authorization again",
            )
        };
        let (payload, mac) = state.split_once('.').ok_or_else(invalid)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| invalid())?;
        let expected = sign::hmac(sign::HmacAlgorithm::Sha256, key, payload.as_bytes());
        if !sign::constant_time_eq(&mac, &expected) {
            return Err(invalid());
        }
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let pending: Self = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if now.timestamp() >= pending.expires_at {
            return Err(Error::new(
                ErrorKind::OAuthStateExpired,
                format!(
                    "the OAuth state expired (it lasts {} minutes); start the authorization again",
                    STATE_TTL.num_minutes()
                ),
            ));
        }
        Ok(pending)
    }

    /// The PKCE verifier (RFC 7636: 43 characters of base64url) bound to this state.
    pub fn pkce_verifier(&self, key: &[u8]) -> String {
        let mac = sign::hmac(
            sign::HmacAlgorithm::Sha256,
            key,
            format!("pkce:{}", self.id).as_bytes(),
        );
        URL_SAFE_NO_PAD.encode(mac)
    }

    /// Record the first use; a second use (another process's included) is refused.
    pub async fn spend(&self, leases: &dyn LeaseStore) -> Result<()> {
        // A fresh owner per attempt: the same owner could "extend" its own lease.
        let lease = Lease {
            owner: new_id(),
            until: self.expires() + Duration::seconds(1),
        };
        let name = format!("oauth-state:{}", self.id);
        if leases.acquire_lease(&name, &lease, Utc::now()).await? {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::OAuthStateReplayed,
            "this OAuth authorization was completed already (the state is single-use)",
        ))
    }
}

/// RFC 7636's S256 challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sign::sha256(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"state-key";

    fn pending() -> Pending {
        Pending::new(
            "t1",
            "ecommerce-shopify",
            "Shop",
            serde_json::json!({}),
            "https://a/cb",
        )
    }

    #[test]
    fn a_signed_state_verifies_and_any_change_is_refused() {
        let p = pending();
        let state = p.sign(KEY).expect("sign");
        assert_eq!(Pending::verify(&state, KEY, Utc::now()).expect("ok"), p);
        let e = Pending::verify(&state, b"other", Utc::now()).expect_err("key");
        assert_eq!(e.kind, ErrorKind::OAuthStateInvalid);
        let (payload, mac) = state.split_once('.').expect("dot");
        let mut tampered = pending();
        tampered.tenant_id = "t2".into();
        let forged = format!(
            "{}.{mac}",
            tampered
                .sign(KEY)
                .expect("sign")
                .split_once('.')
                .expect("dot")
                .0
        );
        assert_ne!(forged.split_once('.').expect("dot").0, payload);
        let e = Pending::verify(&forged, KEY, Utc::now()).expect_err("forged");
        assert_eq!(e.kind, ErrorKind::OAuthStateInvalid);
        let e = Pending::verify(&state, KEY, Utc::now() + STATE_TTL).expect_err("late");
        assert_eq!(e.kind, ErrorKind::OAuthStateExpired);
        assert_eq!(
            Pending::verify("garbage", KEY, Utc::now())
                .expect_err("x")
                .kind,
            ErrorKind::OAuthStateInvalid
        );
    }

    /// RFC 7636 appendix B.
    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
