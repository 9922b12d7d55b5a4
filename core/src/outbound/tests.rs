//! The outbound policy end to end: URL checks, and the client against a local server.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

#[test]
fn private_targets_are_refused_unless_allowed() {
    for bad in [
        "https://127.0.0.1/cb",
        "https://10.1.2.3/cb",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/cb",
        "https://[::ffff:127.0.0.1]/cb",
        "https://[::ffff:a9fe:a9fe]/cb",
        "https://[64:ff9b::10.0.0.1]/cb",
        "https://0x7f.1/cb",
        "https://2130706433/cb",
        "https://localhost/cb",
        "https://localhost./cb",
        "https://metadata.google.internal/cb",
        "http://example.com/cb",
        "ftp://example.com/cb",
        "https://user:pw@example.com/cb",
    ] {
        assert!(check_url(bad, false).is_err(), "{bad} must be refused");
    }
    assert!(check_url("https://example.com/cb", false).is_ok());
    assert!(check_url("https://93.184.216.34/cb", false).is_ok());
    assert!(check_url("http://127.0.0.1:8080/cb", true).is_ok());
}

#[test]
fn literal_addresses_are_checked_at_delivery() {
    let url = |s: &str| url::Url::parse(s).expect("test url");
    for bad in [
        "https://127.0.0.1/cb",
        "https://[::ffff:127.0.0.1]/cb",
        "https://[::ffff:7f00:1]/cb",
        "https://[::127.0.0.1]/cb",
        "https://[2002:a00:1::]/cb",
        "https://[fd00::1]/cb",
        "https://0177.0.0.1/cb",
        "https://localhost/cb",
    ] {
        let err = check_target(&url(bad), false).expect_err(bad);
        assert_eq!(err.kind, crate::ErrorKind::ValidationFailed, "{bad}");
        assert!(check_target(&url(bad), true).is_ok(), "{bad} when allowed");
    }
    // Names are the resolver's to judge.
    for good in [
        "https://93.184.216.34/cb",
        "https://callbacks.example.com/cb",
    ] {
        assert!(check_target(&url(good), false).is_ok(), "{good}");
    }
}

/// A local HTTP server that answers every request with `response` and records each
/// connection's request line.
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    async fn start(response: &'static str) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf);
                    let line = text.lines().next().unwrap_or_default().to_string();
                    seen.lock().expect("requests").push(line);
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { addr, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

fn policy(allow_private: bool) -> OutboundPolicy {
    OutboundPolicy {
        allow_private,
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
    }
}

/// `callbacks.example.test` resolves to the loopback address, as a hostile DNS answer would.
fn loopback_lookup() -> Arc<dyn Lookup> {
    Arc::new(StaticLookup(HashMap::from([(
        "callbacks.example.test".to_string(),
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    )])))
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
    let server = Server::start(OK).await;
    let url = format!("http://callbacks.example.test:{}/cb", server.addr.port());
    let client = client_with_lookup(&policy(false), loopback_lookup()).expect("client");
    let err = client
        .post(&url)
        .body("{}")
        .send()
        .await
        .expect_err("a loopback answer must be refused");
    let text = describe(&err);
    assert!(
        text.contains("callbacks.example.test resolves only to non-public addresses"),
        "{text}"
    );
    let refused = refused_by_policy(&err).expect("the refusal is in the error's causes");
    assert_eq!(refused.host, "callbacks.example.test");
    assert!(server.requests().is_empty(), "the server saw a connection");

    let allowed = client_with_lookup(&policy(true), loopback_lookup()).expect("client");
    let response = allowed.post(&url).body("{}").send().await.expect("allowed");
    assert_eq!(response.status(), 200);
    assert_eq!(server.requests(), vec!["POST /cb HTTP/1.1".to_string()]);
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let server = Server::start(
        "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n",
    )
    .await;
    let url = format!("http://callbacks.example.test:{}/cb", server.addr.port());
    let client = client_with_lookup(&policy(true), loopback_lookup()).expect("client");
    let response = client.post(&url).body("{}").send().await.expect("answer");
    assert_eq!(response.status(), 302);
    assert_eq!(server.requests(), vec!["POST /cb HTTP/1.1".to_string()]);
}

/// Through the system resolver: `localhost` is in every /etc/hosts. (No name that `check_url`
/// lets through maps to loopback on every Debian machine: `ip6-localhost` is missing from some
/// container images, and the machine's own name is not always listed.)
#[tokio::test]
async fn the_default_client_refuses_a_system_name_for_loopback() {
    let server = Server::start(OK).await;
    let client = client(&policy(false)).expect("client");
    let url = format!("http://localhost:{}/cb", server.addr.port());
    let err = client.get(&url).send().await.expect_err("loopback refused");
    let text = describe(&err);
    assert!(
        text.contains("localhost resolves only to non-public addresses"),
        "{text}"
    );
    assert!(server.requests().is_empty(), "the server saw a connection");
}

/// An error that repeats its cause's text, as some do.
#[derive(Debug)]
struct Wrapper(NonPublicAddress);

impl std::fmt::Display for Wrapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "connect: {}", self.0)
    }
}

impl std::error::Error for Wrapper {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn describe_joins_the_causes_once() {
    let err = Wrapper(NonPublicAddress {
        host: "h.example".to_string(),
    });
    let text = describe(&err);
    assert_eq!(text.matches("h.example").count(), 1, "{text}");
    assert!(refused_by_policy(&err).is_some());
}
