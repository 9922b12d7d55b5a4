//! Callback receivers on 127.0.0.1 that record each request (its webhook-id, headers and body).

use std::sync::{Arc, Mutex};

/// One callback as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    /// Every header, for checking the Standard Webhooks signature.
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

pub type Log = Arc<Mutex<Vec<Received>>>;

/// Serve `POST /cb`; with `hang_first`, the first request is never answered.
pub(crate) async fn start(hang_first: bool) -> (String, Log) {
    let got: Log = Arc::default();
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/cb",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                let webhook_id = headers
                    .get("webhook-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let first = {
                    let mut got = sink.lock().expect("sink");
                    got.push(Received {
                        webhook_id,
                        headers,
                        body,
                    });
                    got.len() == 1
                };
                if first && hang_first {
                    std::future::pending::<()>().await;
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/cb", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}
