//! Standard Webhooks signatures on our callbacks, so that receivers can verify them with any
//! Standard Webhooks library: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the decoded bytes of a `whsec_…` secret.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::error::{Error, Result};

/// The message id: the same on every retry of one message, so receivers deduplicate on it.
pub const WEBHOOK_ID: &str = "webhook-id";
/// Unix seconds of this attempt; receivers refuse stale ones (replays).
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

const PREFIX: &str = "whsec_";
/// The length of the secrets we create.
const GENERATED_BYTES: usize = 32;
/// The lengths the specification allows; a secret made elsewhere can be imported.
const MIN_BYTES: usize = 24;
const MAX_BYTES: usize = 64;

/// A callback signing secret. Shown as `whsec_` + standard base64; Debug never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackSecret {
    key: Vec<u8>,
}

impl CallbackSecret {
    /// A new random secret of 32 bytes.
    pub fn generate() -> Self {
        let mut key = vec![0u8; GENERATED_BYTES];
        rand::thread_rng().fill_bytes(&mut key);
        Self { key }
    }

    /// `whsec_` + standard base64 of 24 to 64 bytes. The error never quotes the text.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = || {
            Error::validation(format!(
                "a callback secret is '{PREFIX}' followed by the standard base64 of \
                 {MIN_BYTES} to {MAX_BYTES} bytes"
            ))
        };
        let encoded = text.trim().strip_prefix(PREFIX).ok_or_else(invalid)?;
        let key = STANDARD.decode(encoded).map_err(|_| invalid())?;
        if !(MIN_BYTES..=MAX_BYTES).contains(&key.len()) {
            return Err(invalid());
        }
        Ok(Self { key })
    }

    fn signature(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Display for CallbackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", STANDARD.encode(&self.key))
    }
}

impl fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackSecret(<redacted>)")
    }
}

impl FromStr for CallbackSecret {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        Self::parse(text)
    }
}

/// The `webhook-signature` header value: one `v1,<signature>` per secret, separated by spaces.
/// During a rotation both secrets sign, and a receiver holding either one accepts the message.
/// No secrets give an empty value: never send that (a caller service always has a secret, see
/// [`crate::caller_secrets::CallerSecrets::signing_keys`]).
pub fn sign(secrets: &[CallbackSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.signature(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue};
    use standardwebhooks::Webhook;

    use super::*;

    const ID: &str = "msg_2b5UvK9qBbZ9Yq1nGmDkX0aFhJc";
    const BODY: &[u8] = br#"{"executionId":"01J0000000000000000000000","status":"succeeded"}"#;

    fn headers(id: &str, timestamp: i64, signature: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(WEBHOOK_ID, HeaderValue::from_str(id).expect("id"));
        h.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(timestamp));
        h.insert(
            WEBHOOK_SIGNATURE,
            HeaderValue::from_str(signature).expect("signature"),
        );
        h
    }

    fn verifier(secret: &CallbackSecret) -> Webhook {
        Webhook::new(&secret.to_string()).expect("the reference library takes our secret")
    }

    #[test]
    fn a_signature_verifies_with_the_reference_library() {
        let secret = CallbackSecret::generate();
        let now = chrono::Utc::now().timestamp();
        let header = sign(std::slice::from_ref(&secret), ID, now, BODY);
        assert!(
            header.starts_with("v1,") && !header.contains(' '),
            "{header}"
        );
        verifier(&secret)
            .verify(BODY, &headers(ID, now, &header))
            .expect("verifies");
    }

    #[test]
    fn during_a_rotation_either_secret_alone_verifies() {
        let (current, next) = (CallbackSecret::generate(), CallbackSecret::generate());
        let now = chrono::Utc::now().timestamp();
        let header = sign(&[current.clone(), next.clone()], ID, now, BODY);
        assert_eq!(header.split(' ').count(), 2, "{header}");
        for secret in [&current, &next] {
            verifier(secret)
                .verify(BODY, &headers(ID, now, &header))
                .expect("verifies with one of the two");
        }
        let other = CallbackSecret::generate();
        assert!(verifier(&other)
            .verify(BODY, &headers(ID, now, &header))
            .is_err());
    }

    #[test]
    fn tampered_body_id_or_timestamp_fails() {
        let secret = CallbackSecret::generate();
        let wh = verifier(&secret);
        let now = chrono::Utc::now().timestamp();
        let header = sign(std::slice::from_ref(&secret), ID, now, BODY);
        let tampered_body = br#"{"executionId":"01J0000000000000000000000","status":"failed"}"#;
        assert!(wh
            .verify(tampered_body, &headers(ID, now, &header))
            .is_err());
        assert!(wh
            .verify(BODY, &headers("msg_other", now, &header))
            .is_err());
        // Still within the tolerance: only the signature can refuse it.
        assert!(wh.verify(BODY, &headers(ID, now - 1, &header)).is_err());
    }

    #[test]
    fn signatures_reproduce_the_published_test_vectors() {
        // Svix's libraries' vector (the Standard Webhooks reference), and the Rust crate's own.
        let vectors = [
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#,
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
            (
                "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#,
                "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
            ),
        ];
        for (secret, id, timestamp, body, expected) in vectors {
            let secret = CallbackSecret::parse(secret).expect("vector secret");
            assert_eq!(sign(&[secret], id, timestamp, body.as_bytes()), expected);
        }
    }

    #[test]
    fn secrets_round_trip_and_lengths_are_checked() {
        let secret = CallbackSecret::generate();
        let text = secret.to_string();
        assert!(text.starts_with("whsec_"), "{text}");
        assert_eq!(STANDARD.decode(&text[6..]).expect("base64").len(), 32);
        assert_eq!(CallbackSecret::parse(&text).expect("parse"), secret);
        assert_eq!(text.parse::<CallbackSecret>().expect("from_str"), secret);

        let with_len = |n: usize| format!("whsec_{}", STANDARD.encode(vec![7u8; n]));
        assert!(CallbackSecret::parse(&with_len(24)).is_ok());
        assert!(CallbackSecret::parse(&with_len(64)).is_ok());
        for bad in [
            with_len(23),
            with_len(65),
            STANDARD.encode([7u8; 32]),
            "whsec_not base64!".to_string(),
            String::new(),
        ] {
            let err = CallbackSecret::parse(&bad).expect_err("refused");
            assert!(bad.is_empty() || !err.message.contains(&bad), "{err}");
        }
    }

    #[test]
    fn debug_never_prints_the_key() {
        let secret = CallbackSecret::generate();
        let text = secret.to_string();
        let debug = format!("{secret:?} {:?}", vec![secret.clone()]);
        assert!(!debug.contains(&text[6..]), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
