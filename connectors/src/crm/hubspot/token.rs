//! HubSpot's OAuth access tokens (30 minutes), declared for the kit's OAuth2 strategy: the
//! refresh grant is `POST /oauth/v1/token` (form-encoded), answered `{access_token,
//! refresh_token, expires_in}`; HubSpot's own refusals are `{status: "BAD_REFRESH_TOKEN", …}`.
//! A private app token is kept in the same `accessToken` field without a refresh token or an
//! expiry: it is never renewed, and a rejected one needs a new token (or an authorization).

use integrations_core::ErrorKind;

use crate::kit::auth::token::oauth2::{self, TokenEndpoint};
use crate::kit::auth::token::{rejected_as_auth_failure, Expiry, Grant};
use crate::kit::{KeyPlace, LoginStep, Match, ResultCode, TokenLogin};

pub(crate) const TOKEN_PATH: &str = "/oauth/v1/token";

const CODES: &[ResultCode] = &[
    ResultCode::on(
        Match::Code("BAD_REFRESH_TOKEN"),
        ErrorKind::ConnectionReauthRequired,
    ),
    ResultCode::on(
        Match::Code("BAD_AUTH_CODE"),
        ErrorKind::ConnectionReauthRequired,
    ),
    ResultCode::on(Match::Code("BAD_CLIENT_ID"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(
        Match::Code("BAD_CLIENT_SECRET"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(
        Match::Code("invalid_grant"),
        ErrorKind::ConnectionReauthRequired,
    ),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

pub static TOKEN_ENDPOINT: TokenEndpoint = TokenEndpoint {
    provider: "HubSpot",
    codes: CODES,
};

pub(crate) static HUBSPOT_OAUTH: TokenLogin = TokenLogin {
    grant: Grant::RefreshToken,
    protocol: &TOKEN_ENDPOINT,
    steps: &[LoginStep {
        request: |input| oauth2::refresh_request(TOKEN_PATH, input),
        token: "/access_token",
        expires: Some(Expiry::InSeconds("/expires_in")),
        keep: oauth2::KEEP_REFRESH_TOKEN,
    }],
    place: KeyPlace::Bearer,
    secret_field: oauth2::ACCESS_TOKEN,
    rejected: rejected_as_auth_failure,
};
