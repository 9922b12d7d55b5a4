//! Which auth strategy a connector runs is the catalog's `authType`; the connector declares
//! only that strategy's parameters ([`AuthSpec`]). The kit builds the call's [`Auth`] from the
//! parameters and the connection's credentials, and refuses — every call, and the registry at
//! start-up ([`AuthSpec::check`]) — a declaration whose strategy is not the catalog's.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use integrations_core::catalog::{schema_files, AuthType, Catalog};
use integrations_core::connector::CallContext;
use integrations_core::{Error, Result};
use serde::Deserialize;

use super::token::TokenLogin;
use super::{Auth, HmacAuth};
use crate::kit::config::Secret;

/// Where an API key goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPlace {
    /// A provider-named header carrying the key as it is (GHN, GHTK: `Token`).
    Header(&'static str),
    /// `Authorization: Bearer <key>`.
    Bearer,
}

impl KeyPlace {
    pub fn auth(self, key: Secret) -> Auth {
        match self {
            Self::Header(name) => Auth::header_token(name, key),
            Self::Bearer => Auth::Bearer(key),
        }
    }
}

/// How an HMAC provider's signature is made.
#[derive(Debug, Clone, Copy)]
pub enum HmacSpec {
    /// The kit signs each outgoing request (canonical string, algorithm, encoding, place).
    Request(HmacRequest),
    /// The signature is a body field over the provider's own field list, which includes
    /// values never sent (MoMo's accessKey, ZaloPay's key1 in queries): the connector computes
    /// it with [`crate::kit::sign`] while building the body, and the transport adds nothing.
    BodyFields { key_field: &'static str },
}

/// [`HmacAuth`]'s parameters, the key named by its credential field.
#[derive(Debug, Clone, Copy)]
pub struct HmacRequest {
    pub key_field: &'static str,
    pub algorithm: crate::kit::sign::HmacAlgorithm,
    pub encoding: crate::kit::sign::Encoding,
    pub canonical: super::Canonical,
    pub place: super::SignaturePlace,
}

/// A connector's auth parameters; the variant is the strategy, which must be the catalog's.
#[derive(Debug, Clone, Copy)]
pub enum AuthSpec {
    /// `api_key`: the credential `field`, sent at `place`.
    ApiKey {
        field: &'static str,
        place: KeyPlace,
    },
    /// `basic`: RFC 7617 from a config or credential username and a credential password.
    Basic {
        username_field: &'static str,
        password_field: &'static str,
    },
    /// `basic` with the credential `key_field` as the user and an empty password (a key
    /// that is the whole credential: PrestaShop's webservice key).
    BasicKey { key_field: &'static str },
    /// `basic` as above, or — when the connection holds the credential `token_field`
    /// instead — that token sent at `token_place`: platforms whose private apps sign in with
    /// Basic and whose installed apps with an access token (Sapo).
    BasicOrToken {
        username_field: &'static str,
        password_field: &'static str,
        token_field: &'static str,
        token_place: KeyPlace,
    },
    /// `hmac`.
    Hmac(HmacSpec),
    /// `token_exchange`: login-then-token ([`super::token`]); the connector keeps a
    /// [`super::TokenAuth`] for it, as the token outlives one call.
    TokenExchange(&'static TokenLogin),
    /// `oauth2`: the same token mechanism, renewed by the refresh-token grant
    /// ([`super::token::oauth2`]).
    OAuth2(&'static TokenLogin),
}

impl AuthSpec {
    /// The catalog authType this declaration implements.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Self::ApiKey { .. } => AuthType::ApiKey,
            Self::Basic { .. } | Self::BasicKey { .. } | Self::BasicOrToken { .. } => {
                AuthType::Basic
            }
            Self::Hmac(_) => AuthType::Hmac,
            Self::TokenExchange(_) => AuthType::TokenExchange,
            Self::OAuth2(_) => AuthType::OAuth2,
        }
    }

    /// The declaration implements `integration_id`'s authType in `catalog`.
    pub fn check(&self, integration_id: &str, catalog: &Catalog) -> Result<()> {
        let declared = catalog.integration(integration_id)?.auth_type;
        agree(integration_id, declared, self)
    }

    /// The auth of one call, chosen by the embedded catalog's authType for `integration_id`.
    /// For `token_exchange` only the choice is checked (answering [`Auth::None`]): the token
    /// comes from the connector's [`super::TokenAuth`], which calls this first.
    pub fn select(&self, integration_id: &str, ctx: &CallContext<'_>) -> Result<Auth> {
        let declared = embedded_auth_type(integration_id)?;
        agree(integration_id, declared, self)?;
        match (declared, self) {
            (AuthType::ApiKey, Self::ApiKey { field, place }) => {
                Ok(place.auth(credential(integration_id, ctx, field)?))
            }
            (
                AuthType::Basic,
                Self::Basic {
                    username_field,
                    password_field,
                },
            ) => basic(integration_id, ctx, username_field, password_field),
            (AuthType::Basic, Self::BasicKey { key_field }) => Ok(Auth::Basic {
                username: credential(integration_id, ctx, key_field)?
                    .expose()
                    .to_string(),
                password: Secret::new(""),
            }),
            (
                AuthType::Basic,
                Self::BasicOrToken {
                    username_field,
                    password_field,
                    token_field,
                    token_place,
                },
            ) => match ctx.credentials.get(token_field) {
                Some(_) => Ok(token_place.auth(credential(integration_id, ctx, token_field)?)),
                None => basic(integration_id, ctx, username_field, password_field),
            },
            (AuthType::Hmac, Self::Hmac(HmacSpec::Request(h))) => Ok(Auth::Hmac(HmacAuth {
                key: credential(integration_id, ctx, h.key_field)?,
                algorithm: h.algorithm,
                encoding: h.encoding,
                canonical: h.canonical,
                place: h.place,
            })),
            (AuthType::Hmac, Self::Hmac(HmacSpec::BodyFields { key_field })) => {
                credential(integration_id, ctx, key_field)?;
                Ok(Auth::None)
            }
            (AuthType::TokenExchange, Self::TokenExchange(_))
            | (AuthType::OAuth2, Self::OAuth2(_)) => Ok(Auth::None),
            (other, _) => Err(Error::internal(format!(
                "{integration_id}: authType '{}' has no strategy in the kit",
                other.as_str()
            ))),
        }
    }
}

fn agree(integration_id: &str, declared: AuthType, spec: &AuthSpec) -> Result<()> {
    if declared == spec.auth_type() {
        return Ok(());
    }
    Err(Error::internal(format!(
        "connector {integration_id} declares the '{}' auth strategy but its catalog authType \
         is '{}'",
        spec.auth_type().as_str(),
        declared.as_str()
    )))
}

fn basic(integration_id: &str, ctx: &CallContext<'_>, user: &str, password: &str) -> Result<Auth> {
    Ok(Auth::Basic {
        username: field_text(ctx, user).ok_or_else(|| missing(integration_id, user))?,
        password: credential(integration_id, ctx, password)?,
    })
}

fn missing(integration_id: &str, field: &str) -> Error {
    Error::validation(format!(
        "the {integration_id} connection is misconfigured: missing field `{field}`"
    ))
}

/// A non-blank credential (secrets are only in credentials).
fn credential(integration_id: &str, ctx: &CallContext<'_>, field: &str) -> Result<Secret> {
    match ctx.credentials.get(field) {
        Some(v) if !v.trim().is_empty() => Ok(Secret::new(v)),
        Some(_) => Err(Error::validation(format!(
            "the {integration_id} connection is misconfigured: `{field}` must not be blank"
        ))),
        None => Err(missing(integration_id, field)),
    }
}

/// A credential, else a config string.
pub(crate) fn field_text(ctx: &CallContext<'_>, field: &str) -> Option<String> {
    ctx.credentials
        .get(field)
        .map(str::to_string)
        .or_else(|| ctx.config.get(field)?.as_str().map(str::to_string))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthHead {
    integration_id: String,
    auth_type: AuthType,
}

/// Every embedded integration's authType, read once. Documents that do not parse are the
/// catalog's to refuse; they are left out here.
fn embedded_auth_type(integration_id: &str) -> Result<AuthType> {
    static TYPES: OnceLock<BTreeMap<String, AuthType>> = OnceLock::new();
    let types = TYPES.get_or_init(|| {
        schema_files()
            .iter()
            .filter(|(path, _)| path.starts_with("integrations/"))
            .filter_map(|(_, text)| serde_json::from_str::<AuthHead>(text).ok())
            .map(|h| (h.integration_id, h.auth_type))
            .collect()
    });
    types.get(integration_id).copied().ok_or_else(|| {
        Error::internal(format!(
            "no catalog document with an authType for '{integration_id}'"
        ))
    })
}

#[cfg(test)]
mod tests {
    use integrations_core::ErrorKind;
    use serde_json::json;

    use super::*;
    use crate::kit::auth::Signer;
    use crate::kit::Request;
    use crate::testing::{credentials, ctx};

    const KEY: AuthSpec = AuthSpec::ApiKey {
        field: "apiKey",
        place: KeyPlace::Header("Token"),
    };

    #[test]
    fn the_catalog_auth_type_picks_the_strategy_built_from_the_credentials() {
        let (config, creds) = (json!({}), credentials(&[("apiKey", "k-1")]));
        let auth = KEY
            .select("shipping-ghn", &ctx("e", &config, &creds))
            .expect("api_key");
        let mut out = Request::get("/x").encode().expect("encode");
        auth.sign(&mut out).expect("sign");
        assert_eq!(out.header("Token"), Some("k-1"));
        assert_eq!(auth.secrets(), ["k-1"]);

        for creds in [credentials(&[]), credentials(&[("apiKey", " ")])] {
            let e = KEY
                .select("shipping-ghn", &ctx("e", &config, &creds))
                .expect_err("no usable key");
            assert_eq!(e.kind, ErrorKind::ValidationFailed);
        }
    }

    /// Each call checks the choice too: parameters of another strategy than the catalog's
    /// authType build no auth.
    #[test]
    fn parameters_of_another_strategy_are_refused_on_every_call() {
        let (config, creds) = (json!({}), credentials(&[("apiKey", "k-1")]));
        let e = KEY
            .select("payment-momo", &ctx("e", &config, &creds))
            .expect_err("momo is hmac");
        assert_eq!(e.kind, ErrorKind::Internal);
        assert!(
            e.message.contains("'api_key'") && e.message.contains("'hmac'"),
            "{e}"
        );
        let e = KEY
            .select("shipping-nope", &ctx("e", &config, &creds))
            .expect_err("unknown");
        assert!(e.message.contains("shipping-nope"), "{e}");
    }

    /// PrestaShop's key as the Basic user with an empty password; Sapo's Basic pair, or its
    /// token header when the connection holds a token; both keys kept out of errors.
    #[test]
    fn basic_variants_build_from_the_credentials() {
        let config = json!({"storeDomain": "s.mysapo.net"});
        let key = AuthSpec::BasicKey {
            key_field: "webserviceKey",
        };
        let creds = credentials(&[("webserviceKey", "K1")]);
        let auth = key
            .select("ecommerce-prestashop", &ctx("e", &config, &creds))
            .expect("basic key");
        let mut out = Request::get("/x").encode().expect("encode");
        auth.sign(&mut out).expect("sign");
        assert_eq!(
            out.header("authorization"),
            Some("Basic SzE6"),
            "base64(\"K1:\")"
        );
        assert!(auth.secrets().contains(&"K1"));

        let either = AuthSpec::BasicOrToken {
            username_field: "apiKey",
            password_field: "apiSecret",
            token_field: "accessToken",
            token_place: KeyPlace::Header("X-Sapo-Access-Token"),
        };
        let token = credentials(&[("accessToken", "t-1")]);
        let auth = either
            .select("ecommerce-sapo", &ctx("e", &config, &token))
            .expect("token");
        let mut out = Request::get("/x").encode().expect("encode");
        auth.sign(&mut out).expect("sign");
        assert_eq!(
            (
                out.header("x-sapo-access-token"),
                out.header("authorization")
            ),
            (Some("t-1"), None)
        );
        let pair = credentials(&[("apiKey", "k"), ("apiSecret", "s")]);
        let auth = either
            .select("ecommerce-sapo", &ctx("e", &config, &pair))
            .expect("basic");
        assert!(matches!(auth, Auth::Basic { .. }));
        let blank = credentials(&[("accessToken", " ")]);
        let e = either
            .select("ecommerce-sapo", &ctx("e", &config, &blank))
            .expect_err("a blank token is not a fallback to Basic");
        assert_eq!(e.kind, ErrorKind::ValidationFailed);
    }
}
