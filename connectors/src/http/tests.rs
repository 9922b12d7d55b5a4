//! The kit against the shared raw TCP server, so each failure shape is exact.

use std::net::SocketAddr;

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::kit::Request;
use crate::testing::tcp::serve_raw as server;
use tokio::net::TcpListener;

fn http_reply(status: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn call(addr: SocketAddr, timeout: Duration) -> Result<HttpReply> {
    let base_url = format!("http://{addr}");
    let request = Request::post("/x")
        .header("Token", "s3cret")
        .json(json!({"a": 1}))
        .encode()?;
    let settings = ConnectorSettings::new().expect("HTTP client");
    let call = Call {
        provider: "Acme",
        base_url: &base_url,
        request: &request,
        timeout,
        max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
    };
    send(&settings.client, &call).await
}

#[test]
fn retry_after_accepts_seconds_and_http_dates() {
    let now = Utc
        .with_ymd_and_hms(2015, 10, 21, 7, 28, 0)
        .single()
        .expect("date");
    assert_eq!(
        parse_retry_after(" 120 ", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
}

#[test]
fn redact_error_scrubs_the_message_in_any_casing() {
    let err = redact_error(
        Error::new(ErrorKind::ProviderRejected, "tok=abc123 (ABC123)"),
        &["abc123"],
    );
    assert_eq!(err.message, "tok=*** (***)");
}

#[test]
fn statuses_map_to_kinds_with_retry_hints() {
    let after = Some(Duration::from_secs(3));
    let cases = [
        (429, ErrorKind::ProviderRateLimited, true),
        (500, ErrorKind::ProviderUnavailable, true),
        (503, ErrorKind::ProviderUnavailable, true),
        (408, ErrorKind::ProviderTimeout, true),
        (401, ErrorKind::ProviderAuthFailed, false),
        (403, ErrorKind::ProviderAuthFailed, false),
        (404, ErrorKind::ProviderNotFound, false),
        (400, ErrorKind::ProviderRejected, false),
        (422, ErrorKind::ProviderRejected, false),
        (302, ErrorKind::ProviderBadResponse, false),
    ];
    for (code, kind, retryable) in cases {
        let status = StatusCode::from_u16(code).expect("status");
        let e = status_error("Acme", status, after, Some("nope"));
        assert_eq!((e.kind, e.retryable), (kind, retryable), "HTTP {code}");
        assert!(e.request_sent);
        assert_eq!(e.retry_after.is_some(), retryable, "HTTP {code}");
        assert_eq!(e.message, format!("Acme answered HTTP {code}: nope"));
    }
}

#[tokio::test]
async fn refused_connection_is_a_network_error_before_sending() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        l.local_addr().expect("addr")
    };
    let e = call(addr, Duration::from_secs(2))
        .await
        .expect_err("refused");
    assert_eq!(e.kind, ErrorKind::NetworkError);
    assert!(e.retryable && !e.request_sent, "{e:?}");
}

#[tokio::test]
async fn silence_after_sending_is_a_timeout_with_request_sent() {
    let addr = server(None, true).await;
    let e = call(addr, Duration::from_millis(200))
        .await
        .expect_err("timeout");
    assert_eq!(e.kind, ErrorKind::ProviderTimeout);
    assert!(e.retryable && e.request_sent, "{e:?}");
}

#[tokio::test]
async fn a_closed_connection_without_answer_is_a_network_error_after_sending() {
    let addr = server(None, false).await;
    let e = call(addr, Duration::from_secs(2))
        .await
        .expect_err("dropped");
    assert_eq!(e.kind, ErrorKind::NetworkError);
    assert!(e.retryable && e.request_sent, "{e:?}");
    assert!(!e.message.contains("s3cret"));
}

#[tokio::test]
async fn oversized_answers_are_refused_with_or_without_content_length() {
    let big = "x".repeat(DEFAULT_MAX_RESPONSE_BYTES + 1);
    let addr = server(Some(http_reply("200 OK", "", &big)), false).await;
    let e = call(addr, Duration::from_secs(5))
        .await
        .expect_err("too large");
    assert_eq!(e.kind, ErrorKind::ProviderBadResponse);
    assert!(e.request_sent);

    // Chunked, so only counting the bytes catches it.
    let mut chunked =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..17 {
        chunked.extend_from_slice(format!("{:x}\r\n{}\r\n", 65536, "y".repeat(65536)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let addr = server(Some(chunked), false).await;
    let e = call(addr, Duration::from_secs(5))
        .await
        .expect_err("too large");
    assert_eq!(e.kind, ErrorKind::ProviderBadResponse);
}

#[tokio::test]
async fn replies_carry_status_retry_after_and_body() {
    let reply = http_reply(
        "429 Too Many Requests",
        "Retry-After: 7\r\n",
        r#"{"message":"slow down"}"#,
    );
    let addr = server(Some(reply), false).await;
    let r = call(addr, Duration::from_secs(2)).await.expect("reply");
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(r.json("Acme").expect("json")["message"], "slow down");
}

#[tokio::test]
async fn malformed_json_is_a_retryable_bad_response() {
    let addr = server(Some(http_reply("200 OK", "", "{\"code\":")), false).await;
    let r = call(addr, Duration::from_secs(2)).await.expect("reply");
    let e = r.json("Acme").expect_err("malformed");
    assert_eq!(e.kind, ErrorKind::ProviderBadResponse);
    assert!(e.retryable && e.request_sent);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let reply = http_reply(
        "302 Found",
        "Location: http://127.0.0.1:9/elsewhere\r\n",
        "",
    );
    let addr = server(Some(reply), false).await;
    let r = call(addr, Duration::from_secs(2)).await.expect("reply");
    assert_eq!(r.status, StatusCode::FOUND);
}
