//! A raw HTTP/1.1 server on 127.0.0.1 for exact wire shapes: it records every request as
//! received (request line, headers, body bytes) and answers each with what a handler returns,
//! so a test can be a tiny provider (a login that issues tokens, a signer's counterpart)
//! without the kit's own HTTP stack on the other side; or, for transport failures, with raw
//! bytes, nothing, or never ([`serve_raw`]).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path with its query, from the request line.
    pub(crate) fn target(&self) -> &str {
        self.request_line.split(' ').nth(1).unwrap_or_default()
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

/// One whole request from the stream; None if it closes first.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(received) = parse(&buf) {
            return Some(received);
        }
    }
}

/// A server that reads each request whole, then writes `reply` as it is (None: closes
/// without answering) or, with `hang`, holds the connection open without answering.
pub(crate) async fn serve_raw(reply: Option<Vec<u8>>, hang: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let reply = reply.clone();
            tokio::spawn(async move {
                read_request(&mut stream).await;
                if hang {
                    // Until the client gives up: the test's own timeout ends it.
                    std::future::pending::<()>().await;
                }
                if let Some(r) = reply {
                    let _ = stream.write_all(&r).await;
                }
            });
        }
    });
    addr
}

/// The status and JSON body to answer a request with.
pub(crate) type Handler = Arc<dyn Fn(&Received) -> (u16, String) + Send + Sync>;

/// Serve until the test ends; every request is answered by `handler` and sent to the
/// returned receiver.
pub(crate) async fn serve(handler: Handler) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (tx, handler) = (tx.clone(), handler.clone());
            tokio::spawn(async move {
                let Some(received) = read_request(&mut stream).await else {
                    return;
                };
                let (status, body) = handler(&received);
                let _ = tx.send(received);
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    (addr, rx)
}

/// [`serve`] answering every request 200 with `body`.
pub(crate) async fn serve_fixed(body: String) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    serve(Arc::new(move |_| (200, body.clone()))).await
}
