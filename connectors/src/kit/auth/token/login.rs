//! What a login-then-token connector declares: its login steps, where the token and its
//! expiry are in the answers, how calls carry the token, and which failures mean "rejected".

use chrono::{DateTime, TimeZone, Utc};
use integrations_core::model::Credentials;
use integrations_core::{Error, Result};
use serde_json::Value;

use crate::kit::auth::strategy::KeyPlace;
use crate::kit::{Protocol, Request};

/// How a token is obtained, which is also the catalog authType it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// `token_exchange`: log in with the connection's own credentials.
    Login,
    /// `oauth2`: the refresh-token grant ([`super::oauth2`]); the connection's first tokens
    /// come from the authorization-code flow, and a refused refresh needs a new consent.
    RefreshToken,
}

/// How a provider hands out tokens. Static data in the connector.
pub struct TokenLogin {
    pub grant: Grant,
    pub protocol: &'static dyn Protocol,
    /// The requests, in order; each after the first is sent carrying the previous one's token
    /// at `place` (Viettel Post: a short token exchanged for a long-lived one).
    pub steps: &'static [LoginStep],
    /// Where calls (and later steps) carry the token.
    pub place: KeyPlace,
    /// The secret field the token is kept in (declared writeOnly in the catalog); its expiry,
    /// when known, goes in `{secret_field}ExpiresAt` (Unix milliseconds).
    pub secret_field: &'static str,
    /// Whether a failed call means the token was refused, so renewing it and running the call
    /// again is safe (the provider did nothing).
    pub rejected: fn(&Error) -> bool,
}

impl std::fmt::Debug for TokenLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenLogin")
            .field("provider", &self.protocol.provider())
            .field("steps", &self.steps.len())
            .field("secret_field", &self.secret_field)
            .finish()
    }
}

/// One login request and where its answer (the protocol's data) holds the token.
pub struct LoginStep {
    pub request: fn(&LoginInput<'_>) -> Result<Request>,
    /// A JSON pointer into the data, e.g. `/token`.
    pub token: &'static str,
    /// Where the token's expiry is, when the provider says (only the last step's counts).
    pub expires: Option<Expiry>,
    /// Other values of the answer written back with the token, as (JSON pointer, secret
    /// field): a rotated OAuth2 refresh token. Absent ones keep their stored value.
    pub keep: &'static [(&'static str, &'static str)],
}

/// A token's expiry in an answer, by JSON pointer.
#[derive(Debug, Clone, Copy)]
pub enum Expiry {
    UnixSeconds(&'static str),
    UnixMillis(&'static str),
    /// Seconds from now (OAuth2's `expires_in`).
    InSeconds(&'static str),
}

impl Expiry {
    pub(super) fn read(self, data: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let number = |p: &str| {
            let v = data.pointer(p)?;
            v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
        };
        match self {
            Self::UnixSeconds(p) => Utc.timestamp_opt(number(p)?, 0).single(),
            Self::UnixMillis(p) => Utc.timestamp_millis_opt(number(p)?).single(),
            Self::InSeconds(p) => Some(now + chrono::Duration::seconds(number(p)?)),
        }
    }
}

/// What a login request is built from: the connection's current credentials (from the secret
/// store during a fleet renewal) and its config.
pub struct LoginInput<'a> {
    credentials: &'a Credentials,
    config: &'a Value,
}

impl<'a> LoginInput<'a> {
    pub(super) fn new(credentials: &'a Credentials, config: &'a Value) -> Self {
        Self {
            credentials,
            config,
        }
    }

    /// A credential, else a config string; a missing one is the connection's misconfiguration.
    pub fn field(&self, name: &str) -> Result<String> {
        self.credentials
            .get(name)
            .map(str::to_string)
            .or_else(|| self.config.get(name)?.as_str().map(str::to_string))
            .ok_or_else(|| {
                Error::validation(format!("the connection has no `{name}` to log in with"))
            })
    }
}
