//! The client end to end against a raw TCP server that records what it received: the bytes a
//! signer signed are the bytes that arrive, and errors leave without credentials.

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::*;
use crate::http::ConnectorSettings;
use crate::kit::auth::{canonical, HmacAuth, SignaturePlace};
use crate::kit::sign::{self, Encoding, HmacAlgorithm};
use crate::kit::{Envelope, Match, ResultCode, Secret};

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

/// What the server saw.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parse one request from what was read so far; None until it is complete.
fn parse(buf: &[u8]) -> Option<Received> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let body = buf.get(end + 4..end + 4 + len)?.to_vec();
    Some(Received {
        request_line,
        headers,
        body,
    })
}

async fn server(reply_body: String) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = stream.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(received) = parse(&buf) {
                    let _ = tx.send(received);
                    break;
                }
            }
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply_body}",
                reply_body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        }
    });
    (addr, rx)
}

fn hmac_auth() -> Auth {
    Auth::Hmac(HmacAuth {
        key: Secret::new(KEY),
        algorithm: HmacAlgorithm::Sha256,
        encoding: Encoding::Hex,
        canonical: canonical::request_digest,
        place: SignaturePlace::Header {
            name: "X-Signature".into(),
            prefix: String::new(),
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
    assert_eq!(e.message, "Tiny error 1: bad token [REDACTED]");
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
