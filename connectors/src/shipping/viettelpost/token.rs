//! Viettel Post's login-then-token, declared for the kit ([`crate::kit::TokenAuth`] does the
//! caching, renewal, write-back and redaction): `user/Login` with the connection's username
//! and password answers a short token, `user/ownerconnect` with it (and the same body) a
//! long-lived one, sent as `Token` on every call and kept in the secret's `token` field. VTP's
//! `expired` in the answer is not read: renewal is on rejection (201/202, HTTP 401/403,
//! "token" in a failure — all classified as auth failures by the protocol).

use integrations_core::Result;
use serde_json::json;

use super::client::VTP;
use crate::kit::auth::token::rejected_as_auth_failure;
use crate::kit::auth::token::Grant;
use crate::kit::{KeyPlace, LoginInput, LoginStep, Request, TokenLogin};

pub(crate) const LOGIN: &str = "/user/Login";
pub(crate) const OWNERCONNECT: &str = "/user/ownerconnect";

fn body(input: &LoginInput<'_>) -> Result<serde_json::Value> {
    Ok(json!({ "USERNAME": input.field("username")?, "PASSWORD": input.field("password")? }))
}

pub(crate) static VTP_LOGIN: TokenLogin = TokenLogin {
    grant: Grant::Login,
    protocol: &VTP,
    steps: &[
        LoginStep {
            request: |input| Ok(Request::post(LOGIN).json(body(input)?)),
            token: "/token",
            expires: None,
            keep: &[],
        },
        LoginStep {
            request: |input| Ok(Request::post(OWNERCONNECT).json(body(input)?)),
            token: "/token",
            expires: None,
            keep: &[],
        },
    ],
    place: KeyPlace::Header("Token"),
    secret_field: "token",
    rejected: rejected_as_auth_failure,
};
