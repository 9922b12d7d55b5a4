//! HubSpot's auth as the fake enforces it: one private app token that never expires, and
//! OAuth (authorize, single-use codes bound to the redirect URI, 30-minute access tokens, a
//! refresh token that stays the same across refreshes until the app is uninstalled).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::faults::lock;

pub const PRIVATE_APP_TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
pub const CLIENT_ID: &str = "fake-hubspot-client";
pub const CLIENT_SECRET: &str = "fake-hubspot-secret";
const ACCESS_TTL: Duration = Duration::minutes(30);

pub(crate) enum Check {
    Valid,
    Unknown,
    Expired,
}

/// What the token endpoint refuses with: HubSpot's own `status` codes.
pub(crate) enum Refusal {
    Client,
    Code,
    RefreshToken,
}

#[derive(Default)]
pub(crate) struct OAuth {
    seq: AtomicU64,
    pub authorizations: AtomicU64,
    pub exchanges: AtomicU64,
    pub refreshes: AtomicU64,
    pub refused_refreshes: AtomicU64,
    codes: Mutex<HashMap<String, String>>,
    access: Mutex<HashMap<String, DateTime<Utc>>>,
    refresh: Mutex<HashMap<String, ()>>,
}

impl OAuth {
    fn next(&self, prefix: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!(
            "{prefix}-na1-{n:06}-{:010x}",
            n.wrapping_mul(0x9E37_79B9) >> 4
        )
    }

    pub(crate) fn authorize(&self, redirect_uri: &str) -> String {
        self.authorizations.fetch_add(1, Ordering::Relaxed);
        let code = self.next("code");
        lock(&self.codes).insert(code.clone(), redirect_uri.to_string());
        code
    }

    fn issue(&self, refresh_token: Option<String>) -> (String, String) {
        let access = self.next("CJ");
        lock(&self.access).insert(access.clone(), Utc::now() + ACCESS_TTL);
        let refresh = refresh_token.unwrap_or_else(|| {
            let t = self.next("rt");
            lock(&self.refresh).insert(t.clone(), ());
            t
        });
        (access, refresh)
    }

    pub(crate) fn exchange(
        &self,
        client: (&str, &str),
        code: &str,
        redirect_uri: &str,
    ) -> Result<(String, String), Refusal> {
        check_client(client)?;
        let bound = lock(&self.codes).remove(code);
        if bound.as_deref() != Some(redirect_uri) {
            return Err(Refusal::Code);
        }
        self.exchanges.fetch_add(1, Ordering::Relaxed);
        Ok(self.issue(None))
    }

    pub(crate) fn refresh(
        &self,
        client: (&str, &str),
        token: &str,
    ) -> Result<(String, String), Refusal> {
        check_client(client)?;
        if !lock(&self.refresh).contains_key(token) {
            self.refused_refreshes.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::RefreshToken);
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        Ok(self.issue(Some(token.to_string())))
    }

    pub(crate) fn check(&self, bearer: &str) -> Check {
        if bearer == PRIVATE_APP_TOKEN {
            return Check::Valid;
        }
        match lock(&self.access).get(bearer) {
            Some(until) if Utc::now() < *until => Check::Valid,
            Some(_) => Check::Expired,
            None => Check::Unknown,
        }
    }

    pub(crate) fn expire_all(&self) {
        let past = Utc::now() - Duration::seconds(1);
        for until in lock(&self.access).values_mut() {
            *until = past;
        }
    }

    pub(crate) fn revoke_all(&self) {
        lock(&self.access).clear();
        lock(&self.refresh).clear();
    }
}

fn check_client((id, secret): (&str, &str)) -> Result<(), Refusal> {
    if id == CLIENT_ID && secret == CLIENT_SECRET {
        Ok(())
    } else {
        Err(Refusal::Client)
    }
}
