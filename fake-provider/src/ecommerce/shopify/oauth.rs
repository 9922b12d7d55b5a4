//! Shopify's OAuth as the fake enforces it: the authorize step (the merchant consents at
//! once, or declines when told to), single-use codes bound to the redirect URI, expiring
//! offline tokens (`expiring: 1`: 1 h access, a refresh token that rotates on every use, the
//! previous one answering `invalid_grant`, and that expires after 90 days unused, answering
//! `invalid_grant` too), and revocation (the app uninstalled).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::faults::lock;

/// The app the fake knows (the operator registers these); the secret is the one of
/// Shopify's published callback test vector.
pub const CLIENT_ID: &str = "fake-shopify-client";
pub const CLIENT_SECRET: &str = "hush";
/// The shop every authorization is for.
pub const SHOP: &str = "fake-shop.myshopify.com";
const ACCESS_TTL: Duration = Duration::hours(1);
/// `refresh_token_expires_in` (7,776,000 s).
pub(crate) const REFRESH_TTL: Duration = Duration::days(90);

struct Code {
    redirect_uri: String,
}

struct Access {
    expires: Option<DateTime<Utc>>,
}

/// One app's grants at one provider: the fake Shopify's, and the fake Haravan's (whose
/// tokens do not expire and come with no refresh token).
pub(crate) struct OAuth {
    /// The app's `(client_id, client_secret)`.
    client: (&'static str, &'static str),
    /// Prefixes of the access and refresh tokens issued.
    prefixes: (&'static str, &'static str),
    seq: AtomicU64,
    pub authorizations: AtomicU64,
    pub exchanges: AtomicU64,
    pub refreshes: AtomicU64,
    pub refused_refreshes: AtomicU64,
    pub deny_next: AtomicBool,
    codes: Mutex<HashMap<String, Code>>,
    access: Mutex<HashMap<String, Access>>,
    /// Refresh tokens still honoured (one per grant: the newest), with their expiry.
    refresh: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// Why the token endpoint refuses.
pub(crate) enum Refusal {
    Client,
    Grant(&'static str),
}

pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expiring: bool,
}

impl Default for OAuth {
    fn default() -> Self {
        Self::new((CLIENT_ID, CLIENT_SECRET), ("shpat_", "shprt_"))
    }
}

impl OAuth {
    pub(crate) fn new(
        client: (&'static str, &'static str),
        prefixes: (&'static str, &'static str),
    ) -> Self {
        Self {
            client,
            prefixes,
            seq: AtomicU64::default(),
            authorizations: AtomicU64::default(),
            exchanges: AtomicU64::default(),
            refreshes: AtomicU64::default(),
            refused_refreshes: AtomicU64::default(),
            deny_next: AtomicBool::default(),
            codes: Mutex::default(),
            access: Mutex::default(),
            refresh: Mutex::default(),
        }
    }

    fn next(&self, prefix: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!(
            "{prefix}{n:06}{:012x}",
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 16
        )
    }

    /// The user's consent: a single-use code bound to `redirect_uri`, or None when told to
    /// decline (the callback then carries `error=access_denied`).
    pub(crate) fn grant_code(&self, redirect_uri: &str) -> Option<String> {
        if self.deny_next.swap(false, Ordering::SeqCst) {
            return None;
        }
        self.authorizations.fetch_add(1, Ordering::Relaxed);
        let code = self.next("code");
        lock(&self.codes).insert(
            code.clone(),
            Code {
                redirect_uri: redirect_uri.into(),
            },
        );
        Some(code)
    }

    /// A token issued before the fake started (an app installed earlier): never expires.
    pub(crate) fn seeded(self, access_token: &str) -> Self {
        lock(&self.access).insert(access_token.into(), Access { expires: None });
        self
    }

    /// The query the merchant's browser is sent back with, HMAC'd like Shopify does.
    pub(crate) fn authorize(&self, redirect_uri: &str, state: &str) -> Vec<(String, String)> {
        let Some(code) = self.grant_code(redirect_uri) else {
            return denied(state);
        };
        let mut params: BTreeMap<String, String> = [
            ("code", code),
            (
                "host",
                "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZmFrZS1zaG9w".into(),
            ),
            ("shop", SHOP.into()),
            ("state", state.into()),
            ("timestamp", Utc::now().timestamp().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let hmac = callback_hmac(&params);
        params.insert("hmac".into(), hmac);
        params.into_iter().collect()
    }

    fn issue(&self, expiring: bool) -> Issued {
        let access_token = self.next(self.prefixes.0);
        lock(&self.access).insert(
            access_token.clone(),
            Access {
                expires: expiring.then(|| Utc::now() + ACCESS_TTL),
            },
        );
        let refresh_token = expiring.then(|| {
            let t = self.next(self.prefixes.1);
            lock(&self.refresh).insert(t.clone(), Utc::now() + REFRESH_TTL);
            t
        });
        Issued {
            access_token,
            refresh_token,
            expiring,
        }
    }

    pub(crate) fn exchange(
        &self,
        client: (&str, &str),
        code: &str,
        redirect_uri: Option<&str>,
        expiring: bool,
    ) -> Result<Issued, Refusal> {
        self.check_client(client)?;
        let issued = lock(&self.codes).remove(code);
        let Some(issued) = issued else {
            return Err(Refusal::Grant(
                "the authorization code is invalid or was already used",
            ));
        };
        if redirect_uri.is_some_and(|r| r != issued.redirect_uri) {
            return Err(Refusal::Grant(
                "redirect_uri does not match the authorization",
            ));
        }
        self.exchanges.fetch_add(1, Ordering::Relaxed);
        Ok(self.issue(expiring))
    }

    /// The refresh-token grant: the presented token is spent and a new one issued.
    pub(crate) fn refresh(&self, client: (&str, &str), token: &str) -> Result<Issued, Refusal> {
        self.check_client(client)?;
        let Some(expires) = lock(&self.refresh).remove(token) else {
            self.refused_refreshes.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Grant(
                "the refresh token is invalid, expired, revoked or already used",
            ));
        };
        if expires <= Utc::now() {
            self.refused_refreshes.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Grant("the refresh token has expired"));
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        Ok(self.issue(true))
    }

    /// Whether `token` may call the Admin API now.
    pub(crate) fn valid(&self, token: &str) -> bool {
        lock(&self.access)
            .get(token)
            .is_some_and(|a| a.expires.is_none_or(|t| Utc::now() < t))
    }

    pub(crate) fn expire_all(&self) {
        let past = Utc::now() - Duration::seconds(1);
        for a in lock(&self.access).values_mut() {
            a.expires = Some(past);
        }
    }

    /// As if 90 days had passed without a refresh: every refresh token is past its expiry.
    pub(crate) fn expire_refresh_tokens(&self) {
        let past = Utc::now() - Duration::seconds(1);
        for expires in lock(&self.refresh).values_mut() {
            *expires = past;
        }
    }

    pub(crate) fn revoke_all(&self) {
        lock(&self.access).clear();
        lock(&self.refresh).clear();
    }

    fn check_client(&self, (id, secret): (&str, &str)) -> Result<(), Refusal> {
        if (id, secret) == self.client {
            Ok(())
        } else {
            Err(Refusal::Client)
        }
    }

    pub(crate) fn client_id(&self) -> &str {
        self.client.0
    }
}

/// The callback's query when the user declines.
pub(crate) fn denied(state: &str) -> Vec<(String, String)> {
    vec![
        ("error".into(), "access_denied".into()),
        ("state".into(), state.into()),
    ]
}

/// Shopify's callback `hmac`: every other parameter sorted, `k=v` joined with `&`, hex
/// HMAC-SHA256 with the app's secret.
pub fn callback_hmac(params: &BTreeMap<String, String>) -> String {
    let message = params
        .iter()
        .filter(|(k, _)| k.as_str() != "hmac")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shopify's published example (providers.md, "Shopify OAuth callback, secret `hush`").
    #[test]
    fn the_callback_hmac_matches_shopifys_test_vector() {
        let params: BTreeMap<String, String> = [
            ("code", "0907a61c0c8d55e99db179b68161bc00"),
            ("shop", "some-shop.myshopify.com"),
            ("state", "0.6784241404160823"),
            ("timestamp", "1337178173"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            callback_hmac(&params),
            "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
        );
    }

    #[test]
    fn a_refresh_token_rotates_and_the_old_one_is_refused() {
        let oauth = OAuth::default();
        let query = oauth.authorize("https://app.example/cb", "s");
        let code = &query.iter().find(|(k, _)| k == "code").expect("code").1;
        let client = (CLIENT_ID, CLIENT_SECRET);
        let first = oauth
            .exchange(client, code, Some("https://app.example/cb"), true)
            .ok()
            .expect("exchanged");
        assert!(
            oauth.exchange(client, code, None, true).is_err(),
            "single use"
        );
        let old = first.refresh_token.expect("expiring grants have one");
        let second = oauth.refresh(client, &old).ok().expect("refreshed");
        assert!(oauth.refresh(client, &old).is_err(), "rotated away");
        assert!(oauth.valid(&second.access_token));
        oauth.expire_refresh_tokens();
        let current = second.refresh_token.expect("rotated");
        assert!(
            oauth.refresh(client, &current).is_err(),
            "expired after 90 days"
        );
        assert_eq!(oauth.refused_refreshes.load(Ordering::SeqCst), 2);
        oauth.revoke_all();
        assert!(!oauth.valid(&second.access_token));
    }
}
