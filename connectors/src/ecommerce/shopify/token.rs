//! Shopify's expiring offline tokens, declared for the kit's OAuth2 strategy: the refresh
//! grant is `POST /admin/oauth/access_token` on the shop (`client_id`, `client_secret`,
//! `grant_type`, `refresh_token`, form-encoded as RFC 6749 has it; Shopify takes JSON too),
//! answered `{access_token, expires_in, refresh_token, refresh_token_expires_in, scope}`; the
//! refresh token rotates on every use, so the kit writes the new one back with the access
//! token. Renewal also happens when Shopify answers 401 (a token revoked or expired early).

use crate::kit::auth::token::oauth2::{self, TokenEndpoint, RFC6749_CODES};
use crate::kit::auth::token::{rejected_as_auth_failure, Expiry, Grant};
use crate::kit::{KeyPlace, LoginStep, TokenLogin};

pub(crate) const TOKEN_PATH: &str = "/admin/oauth/access_token";

pub static TOKEN_ENDPOINT: TokenEndpoint = TokenEndpoint {
    provider: "Shopify",
    codes: RFC6749_CODES,
};

pub(crate) static SHOPIFY_OAUTH: TokenLogin = TokenLogin {
    grant: Grant::RefreshToken,
    protocol: &TOKEN_ENDPOINT,
    steps: &[LoginStep {
        request: |input| oauth2::refresh_request(TOKEN_PATH, input),
        token: "/access_token",
        expires: Some(Expiry::InSeconds("/expires_in")),
        keep: oauth2::KEEP_REFRESH_TOKEN,
    }],
    place: KeyPlace::Header("X-Shopify-Access-Token"),
    secret_field: oauth2::ACCESS_TOKEN,
    rejected: rejected_as_auth_failure,
};
