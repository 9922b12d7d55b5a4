//! Properties of the Standard Webhooks signatures, checked by the independent reference
//! implementation (`standardwebhooks`): whatever the id, timestamp, body and secret, what we
//! sign verifies, and a change to any one of them fails; no text, however malformed, makes
//! the secret parser or the signer panic. Bodies are text: callbacks are JSON, and the
//! reference verifier refuses bytes that are not UTF-8.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue};
use standardwebhooks::Webhook;

use super::{sign, CallbackSecret, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn secret() -> impl Strategy<Value = CallbackSecret> {
    prop::collection::vec(any::<u8>(), 24..=64).prop_map(|key| {
        CallbackSecret::parse(&format!("whsec_{}", STANDARD.encode(key))).expect("valid length")
    })
}

/// Message ids as headers can carry them (visible ASCII).
fn msg_id() -> impl Strategy<Value = String> {
    "[!-~]{1,40}"
}

/// Within the reference verifier's 5-minute tolerance of now.
fn timestamp() -> impl Strategy<Value = i64> {
    (-60i64..60).prop_map(|d| chrono::Utc::now().timestamp() + d)
}

fn headers(id: &str, timestamp: i64, signature: &str) -> Option<HeaderMap> {
    let mut h = HeaderMap::new();
    h.insert(WEBHOOK_ID, HeaderValue::from_str(id).ok()?);
    h.insert(WEBHOOK_TIMESTAMP, HeaderValue::from(timestamp));
    h.insert(WEBHOOK_SIGNATURE, HeaderValue::from_str(signature).ok()?);
    Some(h)
}

fn verifies(secret: &CallbackSecret, id: &str, ts: i64, body: &[u8], signature: &str) -> bool {
    let wh = Webhook::new(&secret.to_string()).expect("the reference library takes our secret");
    headers(id, ts, signature).is_some_and(|h| wh.verify(body, &h).is_ok())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn what_we_sign_verifies(
        secret in secret(),
        id in msg_id(),
        ts in timestamp(),
        body in "\\PC{0,300}",
    ) {
        let signature = sign(std::slice::from_ref(&secret), &id, ts, body.as_bytes());
        prop_assert!(verifies(&secret, &id, ts, body.as_bytes(), &signature), "{signature}");
    }

    #[test]
    fn any_single_change_fails(
        secret in secret(),
        other in secret(),
        id in msg_id(),
        other_id in msg_id(),
        ts in timestamp(),
        shift in prop_oneof![-120i64..0, 1i64..120],
        body in "\\PC{0,200}",
        at in any::<usize>(),
        extra in any::<char>(),
    ) {
        let body = body.as_bytes();
        let signature = sign(std::slice::from_ref(&secret), &id, ts, body);
        prop_assume!(other != secret && other_id != id);
        prop_assert!(!verifies(&other, &id, ts, body, &signature), "another secret");
        prop_assert!(!verifies(&secret, &other_id, ts, body, &signature), "another id");
        prop_assert!(!verifies(&secret, &id, ts + shift, body, &signature), "another time");
        // One character replaced, or one added.
        let text = std::str::from_utf8(body).expect("text");
        let chars: Vec<char> = text.chars().collect();
        let changed: String = if chars.is_empty() || chars.contains(&extra) {
            format!("{text}{extra}")
        } else {
            let i = at % chars.len();
            chars.iter().enumerate().map(|(j, c)| if j == i { extra } else { *c }).collect()
        };
        prop_assert!(!verifies(&secret, &id, ts, changed.as_bytes(), &signature), "another body");
    }

    #[test]
    fn malformed_secrets_and_signature_headers_never_panic(
        text in "\\PC{0,100}",
        noise in "whsec_[A-Za-z0-9+/=]{0,100}",
        id in "\\PC{0,40}",
        ts in any::<i64>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        // Refused with a message that never quotes the text, or accepted as a valid secret.
        for t in [&text, &noise] {
            if let Err(e) = CallbackSecret::parse(t) {
                prop_assert!(t.trim().len() < 8 || !e.message.contains(t.as_str()));
            }
        }
        // Any id and any timestamp sign without a panic.
        let secret = CallbackSecret::generate();
        let signature = sign(std::slice::from_ref(&secret), &id, ts, &body);
        prop_assert!(signature.starts_with("v1,"));
        // A receiver handed garbage in place of our signature refuses it.
        prop_assert!(!verifies(&secret, "msg_1", chrono::Utc::now().timestamp(), &body, &text));
    }
}
