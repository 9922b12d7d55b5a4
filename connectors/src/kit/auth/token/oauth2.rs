//! OAuth2 (RFC 6749) on the kit's token mechanism: an `oauth2` connector declares a
//! [`TokenLogin`](super::TokenLogin) with [`Grant::RefreshToken`](super::Grant) whose one step
//! is [`refresh_request`], answered by a token endpoint spoken through [`TokenEndpoint`]. The
//! access token is kept in `accessToken` (expiry in `accessTokenExpiresAt`), the rotated
//! refresh token written back to `refreshToken` with it, and a refused grant (`invalid_grant`)
//! is `CONNECTION_REAUTH_REQUIRED`. The connection's first tokens come from the
//! authorization-code flow ([`exchange_code`], run by the API's OAuth callback); the operator's
//! app (`clientId`, `clientSecret`) is copied into the connection's secret then, so a refresh
//! needs nothing but that secret.

use std::time::Duration;

use integrations_core::{Error, ErrorKind, Result};
use reqwest::StatusCode;
use serde_json::Value;

use super::LoginInput;
use crate::kit::{Auth, Envelope, Match, Protocol, ProviderClient, Request, ResultCode};

/// The secret fields of an OAuth2 connection.
pub const ACCESS_TOKEN: &str = "accessToken";
pub const REFRESH_TOKEN: &str = "refreshToken";
pub const CLIENT_ID: &str = "clientId";
pub const CLIENT_SECRET: &str = "clientSecret";

/// What a token answer holds besides the access token, for a [`super::LoginStep`]'s `keep`.
pub const KEEP_REFRESH_TOKEN: &[(&str, &str)] = &[("/refresh_token", REFRESH_TOKEN)];

/// A token endpoint's protocol: the RFC 6749 §5.1 answer as the data, or its §5.2 error
/// (`{error, error_description}`) classified by `codes`.
pub struct TokenEndpoint {
    pub provider: &'static str,
    /// The error-code table: [`RFC6749_CODES`], or the provider's own rows followed by them.
    pub codes: &'static [ResultCode],
}

/// RFC 6749 §5.2's codes: a grant the provider no longer honours needs a new consent; a
/// refused client is the operator's app, not the tenant's.
pub const RFC6749_CODES: &[ResultCode] = &[
    ResultCode::on(
        Match::Code("invalid_grant"),
        ErrorKind::ConnectionReauthRequired,
    ),
    ResultCode::on(
        Match::Code("access_denied"),
        ErrorKind::ConnectionReauthRequired,
    ),
    ResultCode::on(Match::Code("invalid_client"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(
        Match::Code("unauthorized_client"),
        ErrorKind::ProviderAuthFailed,
    ),
    ResultCode::on(
        Match::Code("temporarily_unavailable"),
        ErrorKind::ProviderUnavailable,
    )
    .not_applied(),
    ResultCode::on(Match::Any, ErrorKind::ProviderRejected),
];

impl Protocol for TokenEndpoint {
    fn provider(&self) -> &'static str {
        self.provider
    }

    fn envelope(&self, status: StatusCode, body: Value) -> Option<Envelope> {
        let code = body.get("error").and_then(Value::as_str).or_else(|| {
            // HubSpot's own shape: `{status, message}` with e.g. BAD_REFRESH_TOKEN.
            body.get("status")
                .and_then(Value::as_str)
                .filter(|_| !status.is_success())
        });
        match code {
            Some(code) => Some(Envelope {
                success: false,
                code: code.to_string(),
                message: ["error_description", "message"]
                    .iter()
                    .find_map(|k| body.get(*k).and_then(Value::as_str))
                    .unwrap_or_default()
                    .to_string(),
                tag: None,
                data: Value::Null,
            }),
            None if status.is_success() => Some(Envelope {
                success: true,
                code: String::new(),
                message: String::new(),
                tag: None,
                data: body,
            }),
            None => None,
        }
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        self.codes
    }

    fn envelope_shape(&self) -> &'static str {
        "an OAuth2 token answer"
    }
}

/// The refresh-token grant (RFC 6749 §6: a form body) to `path`, from the connection's
/// current secret. A connection without a refresh token (a non-expiring grant) cannot be
/// renewed: its rejected token needs a new consent.
pub fn refresh_request(path: &str, input: &LoginInput<'_>) -> Result<Request> {
    let refresh_token = input.field(REFRESH_TOKEN).map_err(|_| {
        Error::new(
            ErrorKind::ConnectionReauthRequired,
            "the provider refused the connection's access token, which cannot be renewed (it \
             has no refresh token); authorize the connection again or update its token",
        )
    })?;
    Ok(Request::post(path).form([
        ("grant_type", "refresh_token".to_string()),
        ("client_id", input.field(CLIENT_ID)?),
        ("client_secret", input.field(CLIENT_SECRET)?),
        ("refresh_token", refresh_token),
    ]))
}

/// The tokens of a granted authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: Option<i64>,
}

impl Tokens {
    fn read(data: &Value, provider: &str) -> Result<Self> {
        let text = |k: &str| data.get(k).and_then(Value::as_str).map(str::to_string);
        let access_token = text("access_token")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::ProviderBadResponse,
                    format!("{provider}'s token answer has no access_token"),
                )
            })?;
        Ok(Self {
            access_token,
            refresh_token: text("refresh_token").filter(|t| !t.is_empty()),
            expires_in: data.get("expires_in").and_then(Value::as_i64),
        })
    }
}

/// One authorization-code exchange (RFC 6749 §4.1.3, a form body; PKCE's verifier when the
/// authorize request had a challenge). `extra` carries a provider's own fields (Shopify's
/// `expiring: 1`). Errors never contain the client secret or the code.
#[allow(clippy::too_many_arguments)]
pub async fn exchange_code(
    http: &reqwest::Client,
    base_url: &str,
    path: &str,
    endpoint: &'static TokenEndpoint,
    client: (&str, &str),
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
    extra: &[(&str, Value)],
) -> Result<Tokens> {
    let (client_id, client_secret) = client;
    let mut form: Vec<(String, String)> = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    if let Some(v) = verifier {
        form.push(("code_verifier".into(), v.into()));
    }
    for (k, v) in extra {
        let text = v
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string());
        form.push((k.to_string(), text));
    }
    let client_call = ProviderClient::new(
        http,
        base_url,
        endpoint,
        Auth::None,
        Duration::from_secs(15),
    );
    let data = client_call
        .call(Request::post(path).form(form))
        .await
        .map_err(|e| crate::http::redact_error(e, &[client_secret, code]))?;
    Tokens::read(&data, endpoint.provider)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::http::HttpReply;

    static ENDPOINT: TokenEndpoint = TokenEndpoint {
        provider: "Demo",
        codes: RFC6749_CODES,
    };

    fn reply(status: u16, body: Value) -> HttpReply {
        HttpReply {
            status: StatusCode::from_u16(status).expect("status"),
            headers: Default::default(),
            retry_after: None,
            rate_limit: Default::default(),
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn invalid_grant_needs_a_new_consent_and_is_not_retried() {
        let e = crate::kit::protocol::interpret(
            &ENDPOINT,
            &reply(
                400,
                json!({"error": "invalid_grant", "error_description": "revoked"}),
            ),
        )
        .expect_err("refused");
        assert_eq!(
            (e.kind, e.retryable),
            (ErrorKind::ConnectionReauthRequired, false)
        );
        assert!(e.message.contains("revoked"), "{e}");
        let e = crate::kit::protocol::interpret(
            &ENDPOINT,
            &reply(400, json!({"error": "invalid_client"})),
        )
        .expect_err("refused");
        assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
    }

    #[test]
    fn a_token_answer_is_the_data() {
        let data = crate::kit::protocol::interpret(
            &ENDPOINT,
            &reply(
                200,
                json!({"access_token": "a", "expires_in": 3600, "refresh_token": "r"}),
            ),
        )
        .expect("tokens");
        let tokens = Tokens::read(&data, "Demo").expect("read");
        assert_eq!(tokens.refresh_token.as_deref(), Some("r"));
        assert_eq!(tokens.expires_in, Some(3600));
        assert!(Tokens::read(&json!({"scope": "x"}), "Demo").is_err());
    }
}
