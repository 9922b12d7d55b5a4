//! `--callback`: a callback receiver in the bench process (127.0.0.1), answering 204 at once and
//! counting deliveries, so that every execution of a run carries a callback to a live endpoint.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Receiver {
    pub url: String,
    received: Arc<AtomicU64>,
}

impl Receiver {
    pub async fn start() -> Result<Self, String> {
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        let app = axum::Router::new().route(
            "/cb",
            axum::routing::post(move || {
                count.fetch_add(1, Ordering::Relaxed);
                async { axum::http::StatusCode::NO_CONTENT }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("callback receiver: bind: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("callback receiver: {e}"))?;
        tokio::spawn(async move { axum::serve(listener, app).await });
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
