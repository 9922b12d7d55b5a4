//! The client end to end against the shared raw TCP server, which records what it received: the bytes a
//! signer signed are the bytes that arrive, and errors leave without credentials.

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::http::ConnectorSettings;
use crate::kit::auth::{canonical, HmacAuth, SignaturePlace};
use crate::kit::sign::{self, Encoding, HmacAlgorithm};
use crate::kit::{Envelope, Match, ResultCode, Secret};
use crate::testing::tcp::serve_fixed as server;

const KEY: &str = "hmac-key-SECRET-77";

/// `{ok, msg, data}`; small answers only, to exercise the protocol's cap.
struct Tiny;

impl Protocol for Tiny {
    fn provider(&self) -> &'static str {
        "Tiny"
    }

    fn envelope(&self, _status: StatusCode, mut body: Value) -> Option<Envelope> {
        let ok = body.get("ok")?.as_bool()?;
        Some(Envelope {
            success: ok,
            code: if ok { "0" } else { "1" }.to_string(),
            message: body["msg"].as_str().unwrap_or_default().to_string(),
            tag: None,
            data: body.get_mut("data").map(Value::take).unwrap_or(Value::Null),
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        TINY_CODES
    }

    fn max_response_bytes(&self) -> usize {
        256
    }
}

static TINY: Tiny = Tiny;

const TINY_CODES: &[ResultCode] = &[ResultCode::on(Match::Any, ErrorKind::ProviderRejected)];

fn hmac_auth() -> Auth {
    Auth::Hmac(HmacAuth {
        key: Secret::new(KEY),
        algorithm: HmacAlgorithm::Sha256,
        encoding: Encoding::Hex,
        canonical: canonical::request_digest,
        place: SignaturePlace::Header {
            name: "X-Signature",
            prefix: "",
        },
    })
}

fn client(addr: SocketAddr, auth: Auth, budget: Duration) -> ProviderClient {
    let settings = ConnectorSettings::new().expect("HTTP client");
    ProviderClient::new(
        &settings.client,
        &format!("http://{addr}/base/"),
        &TINY,
        auth,
        budget,
    )
    .with_header("X-Shop", "885")
}

#[tokio::test]
async fn the_signature_covers_exactly_the_bytes_that_arrive() {
    let (addr, mut seen) = server(r#"{"ok": true, "data": {"id": 9}}"#.to_string()).await;
    let api = client(addr, hmac_auth(), Duration::from_secs(5));
    let request = Request::put("/orders")
        .query("lang", "vi")
        .query("q", "a b")
        .form([("name", "Nguyễn"), ("amount", "10000")]);
    let data = api.call(request).await.expect("call");
    assert_eq!(data, json!({"id": 9}));

    let got = seen.recv().await.expect("request received");
    assert_eq!(got.request_line, "PUT /base/orders?lang=vi&q=a+b HTTP/1.1");
    assert_eq!(got.body, b"name=Nguy%E1%BB%85n&amount=10000");
    assert_eq!(
        got.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(got.header("x-shop"), Some("885"));
    // Recomputed from what arrived, independently of the client's Outgoing.
    let canonical = format!(
        "PUT|/orders?lang=vi&q=a+b|{}",
        sign::body_digest_hex(&got.body)
    );
    let expected = sign::hmac_sha256_hex(KEY.as_bytes(), canonical.as_bytes());
    assert_eq!(got.header("x-signature"), Some(expected.as_str()));
}

#[tokio::test]
async fn provider_text_echoing_a_credential_is_redacted() {
    let reply = json!({"ok": false, "msg": format!("bad token {KEY}")}).to_string();
    let (addr, _seen) = server(reply).await;
    let api = client(addr, Auth::Bearer(Secret::new(KEY)), Duration::from_secs(5));
    let e = api.call(Request::get("/x")).await.expect_err("rejected");
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    assert_eq!(e.message, "Tiny error 1: bad token ***");
}

#[tokio::test]
async fn the_protocols_size_cap_applies() {
    let reply = json!({"ok": true, "data": "x".repeat(300)}).to_string();
    let (addr, _seen) = server(reply).await;
    let api = client(addr, Auth::None, Duration::from_secs(5));
    let e = api.call(Request::get("/x")).await.expect_err("too large");
    assert_eq!(e.kind, ErrorKind::ProviderBadResponse);
    assert!(e.message.contains("256 bytes"), "{}", e.message);
}

#[tokio::test]
async fn a_spent_budget_sends_nothing() {
    let (addr, mut seen) = server(r#"{"ok": true}"#.to_string()).await;
    let api = client(addr, Auth::None, Duration::ZERO);
    let e = api.call(Request::get("/x")).await.expect_err("no time");
    assert_eq!(e.kind, ErrorKind::ProviderTimeout);
    assert!(!e.request_sent);
    assert!(seen.try_recv().is_err());
    assert_eq!(api.base_url(), format!("http://{addr}/base"));
}
