//! `--callback`: a callback receiver in the bench process (127.0.0.1), answering 204 at once and
//! counting deliveries, so that every execution of a run carries a callback to a live endpoint.
//!
//! It is a minimal HTTP/1.1 responder (requests parsed with `httparse`, the parser hyper uses)
//! rather than an axum server: on the bench's two cores the receiver shares the CPU with the
//! service it measures, and a real deployment's receiver runs elsewhere, so the lighter it is the
//! closer the figure is to the service's own cost. It speaks only what the service sends: POST
//! with a Content-Length body on a keep-alive connection; anything else closes the connection
//! uncounted (the service then records a failed attempt, which the report would show as missing
//! callbacks).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct Receiver {
    pub url: String,
    received: Arc<AtomicU64>,
}

const ANSWER: &[u8] = b"HTTP/1.1 204 No Content\r\n\r\n";
/// Headers parsed per request at most; the service sends about ten.
const MAX_HEADERS: usize = 32;
/// A request head larger than this is refused: the service's are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

impl Receiver {
    pub fn start() -> Result<Self, String> {
        let received = Arc::new(AtomicU64::new(0));
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| format!("callback receiver: bind: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("callback receiver: {e}"))?;
        // A thread and a current-thread runtime of its own: its connections' reads and writes
        // wake no thread of the bench's runtime (the load generator and the fake provider).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|e| format!("callback receiver: runtime: {e}"))?;
        let count = received.clone();
        std::thread::Builder::new()
            .name("callback-receiver".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    while let Ok((stream, _)) = listener.accept().await {
                        let _ = stream.set_nodelay(true);
                        tokio::spawn(serve(stream, count.clone()));
                    }
                })
            })
            .map_err(|e| format!("callback receiver: thread: {e}"))?;
        Ok(Self {
            url: format!("http://{addr}/cb"),
            received,
        })
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Wait (bounded) until `n` callbacks arrived; returns how many did.
    pub async fn wait_for(&self, n: u64, bound: Duration) -> u64 {
        let deadline = tokio::time::Instant::now() + bound;
        while self.received() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}

/// Answer the requests of one connection until it closes or sends something unexpected.
async fn serve(mut stream: TcpStream, received: Arc<AtomicU64>) {
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        // Parse a complete head from what has arrived, reading more until there is one.
        let (head_len, body_len) = loop {
            match parse_head(&buf) {
                Ok(Some(lengths)) => break lengths,
                Ok(None) if buf.len() < MAX_HEAD => {}
                _ => return,
            }
            if !read_more(&mut stream, &mut buf).await {
                return;
            }
        };
        while buf.len() < head_len + body_len {
            if !read_more(&mut stream, &mut buf).await {
                return;
            }
        }
        buf.drain(..head_len + body_len);
        received.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(ANSWER).await.is_err() {
            return;
        }
    }
}

/// `Ok(Some((head length, body length)))` for a complete POST head with a Content-Length,
/// `Ok(None)` while the head is incomplete, `Err` for anything else.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, usize)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf).map_err(|_| ())? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    if request.method != Some("POST") {
        return Err(());
    }
    let body_len = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .ok_or(())?;
    Ok(Some((head_len, body_len)))
}

/// Append what the socket has; false when it closed or failed.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    buf.reserve(8 * 1024);
    matches!(stream.read_buf(buf).await, Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::parse_head;

    #[test]
    fn a_head_is_parsed_only_when_complete_and_a_post_with_a_length() {
        let head = b"POST /cb HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(parse_head(head), Ok(Some((head.len() - 5, 5))));
        assert_eq!(parse_head(&head[..20]), Ok(None));
        assert!(parse_head(b"GET /cb HTTP/1.1\r\n\r\n").is_err());
        assert!(parse_head(b"POST /cb HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
    }
}
