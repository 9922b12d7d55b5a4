//! Auth strategies, a closed set: every provider authenticates with one of these, applied by
//! the [`Signer`] hook to the request exactly as it will be sent. Which one a connector uses is
//! its catalog `authType` ([`strategy`]); login-then-token lives in [`token`].

pub mod strategy;
pub mod token;

pub use strategy::{AuthSpec, HmacRequest, HmacSpec, KeyPlace};
pub use token::{LoginInput, LoginStep, LoginTarget, TokenAuth, TokenLogin};

use base64::Engine as _;
use integrations_core::{Error, Result};

use super::config::Secret;
use super::request::Outgoing;
use super::sign::{self, Encoding, HmacAlgorithm, PairEncoding};

/// The hook the client calls on every request after its body is encoded: it sees method,
/// path, query, headers and the final body bytes, and may add headers or query parameters.
pub trait Signer: Send + Sync {
    fn sign(&self, request: &mut Outgoing) -> Result<()>;

    /// Values that must never appear in an error message (redacted by the client).
    fn secrets(&self) -> Vec<&str>;
}

/// Builds the string an HMAC signs from the outgoing request. A plain function so that a
/// provider's canonical form is data in its connector, composed from [`sign`]'s helpers.
pub type Canonical = fn(&Outgoing) -> Result<String>;

/// Where the signature goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignaturePlace {
    /// A header, with an optional prefix before the signature (e.g. `"HMAC-SHA256 "`).
    Header {
        name: &'static str,
        prefix: &'static str,
    },
    /// A query parameter appended last (after signing the others, as VNPay does).
    Query(&'static str),
}

/// An HMAC over a canonical string of the request.
#[derive(Debug, Clone)]
pub struct HmacAuth {
    pub key: Secret,
    pub algorithm: HmacAlgorithm,
    pub encoding: Encoding,
    pub canonical: Canonical,
    pub place: SignaturePlace,
}

impl HmacAuth {
    /// The signature this request gets (also what a fake provider recomputes in tests).
    pub fn signature(&self, request: &Outgoing) -> Result<String> {
        let canonical = (self.canonical)(request)?;
        let mac = sign::hmac(
            self.algorithm,
            self.key.expose().as_bytes(),
            canonical.as_bytes(),
        );
        Ok(self.encoding.encode(&mac))
    }
}

#[derive(Debug, Clone)]
pub enum Auth {
    /// Public endpoints, or providers whose signature lives inside the body fields.
    None,
    /// A provider-named header carrying the token (GHN: `Token`).
    HeaderToken {
        header: String,
        token: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)` (RFC 7617).
    Basic {
        username: String,
        password: Secret,
    },
    Hmac(HmacAuth),
}

impl Auth {
    pub fn header_token(header: &str, token: Secret) -> Self {
        Self::HeaderToken {
            header: header.to_string(),
            token,
        }
    }
}

impl Signer for Auth {
    fn sign(&self, request: &mut Outgoing) -> Result<()> {
        match self {
            Self::None => {}
            Self::HeaderToken { header, token } => request.set_header(header, token.expose()),
            Self::Bearer(token) => {
                request.set_header("Authorization", format!("Bearer {}", token.expose()))
            }
            Self::Basic { username, password } => {
                if username.contains(':') {
                    // RFC 7617: the user-id cannot contain a colon; sending it would
                    // authenticate as someone else.
                    return Err(Error::validation(
                        "a Basic auth username cannot contain ':'",
                    ));
                }
                let pair = format!("{username}:{}", password.expose());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                request.set_header("Authorization", format!("Basic {encoded}"));
            }
            Self::Hmac(hmac) => {
                let signature = hmac.signature(request)?;
                match &hmac.place {
                    SignaturePlace::Header { name, prefix } => {
                        request.set_header(name, format!("{prefix}{signature}"))
                    }
                    SignaturePlace::Query(name) => {
                        request.query.push((name.to_string(), signature))
                    }
                }
            }
        }
        Ok(())
    }

    fn secrets(&self) -> Vec<&str> {
        match self {
            Self::None => Vec::new(),
            Self::HeaderToken { token, .. } | Self::Bearer(token) => vec![token.expose()],
            // The user too: for some providers it is the key itself (WooCommerce's consumer
            // key, PrestaShop's webservice key).
            Self::Basic { username, password } => vec![username, password.expose()],
            Self::Hmac(hmac) => vec![hmac.key.expose()],
        }
    }
}

/// Canonical forms shared by several providers.
pub mod canonical {
    use super::*;

    /// The query parameters sorted by name, form-urlencoded (VNPay's `vnp_SecureHash` input).
    pub fn sorted_query(request: &Outgoing) -> Result<String> {
        Ok(sign::sorted_pairs(
            &request.query,
            PairEncoding::FormUrlencoded,
            true,
        ))
    }

    /// The body bytes as they are (webhook-style signatures over the raw payload).
    pub fn body(request: &Outgoing) -> Result<String> {
        String::from_utf8(request.body.clone())
            .map_err(|_| Error::internal("a signed body must be UTF-8"))
    }

    /// `METHOD|path?query|sha256(body)`: binds the signature to the whole request.
    pub fn request_digest(request: &Outgoing) -> Result<String> {
        Ok(sign::pipe_joined(&[
            request.method.as_str().to_string(),
            request.target(),
            sign::body_digest_hex(&request.body),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kit::request::Request;

    fn outgoing(req: Request) -> Outgoing {
        req.encode().expect("encode")
    }

    #[test]
    fn header_token_and_bearer_set_their_header_and_are_secrets() {
        let mut out = outgoing(Request::post("/x"));
        let auth = Auth::header_token("Token", Secret::new("t0k"));
        auth.sign(&mut out).expect("sign");
        assert_eq!(out.header("token"), Some("t0k"));
        assert_eq!(auth.secrets(), ["t0k"]);

        let auth = Auth::Bearer(Secret::new("sk_test_1"));
        auth.sign(&mut out).expect("sign");
        assert_eq!(out.header("authorization"), Some("Bearer sk_test_1"));
        assert_eq!(auth.secrets(), ["sk_test_1"]);
        assert!(Auth::None.secrets().is_empty());
    }

    /// RFC 7617 §2's example.
    #[test]
    fn basic_matches_rfc_7617() {
        let mut out = outgoing(Request::get("/x"));
        let auth = Auth::Basic {
            username: "Aladdin".into(),
            password: Secret::new("open sesame"),
        };
        auth.sign(&mut out).expect("sign");
        assert_eq!(
            out.header("Authorization"),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        let bad = Auth::Basic {
            username: "a:b".into(),
            password: Secret::new("p"),
        };
        assert!(bad.sign(&mut out).is_err());
    }

    #[test]
    fn hmac_over_the_sorted_query_goes_last_in_the_query() {
        let mut out = outgoing(Request::get("/pay").query("b", "2").query("a", "x y"));
        let auth = Auth::Hmac(HmacAuth {
            key: Secret::new("Jefe"),
            algorithm: HmacAlgorithm::Sha512,
            encoding: Encoding::Hex,
            canonical: canonical::sorted_query,
            place: SignaturePlace::Query("sig"),
        });
        auth.sign(&mut out).expect("sign");
        let expected = hex::encode(sign::hmac(HmacAlgorithm::Sha512, b"Jefe", b"a=x+y&b=2"));
        assert_eq!(out.query.last(), Some(&("sig".to_string(), expected)));
    }

    #[test]
    fn hmac_over_the_exact_body_bytes_goes_in_a_header() {
        let mut out = outgoing(Request::post("/r").json(json!({"amount": 1})));
        let auth = Auth::Hmac(HmacAuth {
            key: Secret::new("k"),
            algorithm: HmacAlgorithm::Sha256,
            encoding: Encoding::Base64,
            canonical: canonical::request_digest,
            place: SignaturePlace::Header {
                name: "X-Signature",
                prefix: "v1=",
            },
        });
        auth.sign(&mut out).expect("sign");
        let digest = sign::body_digest_hex(br#"{"amount":1}"#);
        let mac = sign::hmac(
            HmacAlgorithm::Sha256,
            b"k",
            format!("POST|/r|{digest}").as_bytes(),
        );
        let expected = format!("v1={}", Encoding::Base64.encode(&mac));
        assert_eq!(out.header("x-signature"), Some(expected.as_str()));
        assert_eq!(auth.secrets(), ["k"]);
        assert_eq!(
            canonical::body(&out).ok().as_deref(),
            Some(r#"{"amount":1}"#)
        );
    }
}
