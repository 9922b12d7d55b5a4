//! The protocol layer on constructed replies: every branch of [`interpret`] and the table.

use chrono::{TimeZone, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;

use super::*;
use crate::http::{parse_rate_limit, RateLimit};

/// `{rc, msg, tag?, data}` with `rc == "00"` meaning success.
struct Acme;

const ACME_CODES: &[ResultCode] = &[
    ResultCode::on(Match::Code("09"), ErrorKind::ProviderUnavailable).not_applied(),
    ResultCode::on(Match::Tag("AUTH"), ErrorKind::ProviderAuthFailed),
    ResultCode::on(Match::CodeRange(90, 99), ErrorKind::ProviderRateLimited),
    ResultCode::on(
        Match::MessageContains("NOT FOUND"),
        ErrorKind::ProviderNotFound,
    ),
    ResultCode::on(Match::Code("77"), ErrorKind::ProviderRejected).retryable(true),
];

impl Protocol for Acme {
    fn provider(&self) -> &'static str {
        "Acme"
    }

    fn envelope(&self, _status: StatusCode, mut body: Value) -> Option<Envelope> {
        let code = body.get("rc")?.as_str()?.to_string();
        Some(Envelope {
            success: code == "00",
            message: body["msg"].as_str().unwrap_or_default().to_string(),
            tag: body["tag"].as_str().map(str::to_string),
            data: body.get_mut("data").map(Value::take).unwrap_or(Value::Null),
            code,
        })
    }

    fn result_codes(&self) -> &'static [ResultCode] {
        ACME_CODES
    }

    fn envelope_shape(&self) -> &'static str {
        "its {rc, msg, data} envelope"
    }
}

fn reply(status: u16, headers: &[(&'static str, &str)], body: Value) -> HttpReply {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            map.insert(*k, v);
        }
    }
    HttpReply {
        status: StatusCode::from_u16(status).expect("status"),
        retry_after: map
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| http::parse_retry_after(v, Utc::now())),
        rate_limit: parse_rate_limit(&map, Utc::now()),
        headers: map,
        body: serde_json::to_vec(&body).expect("body"),
    }
}

fn err(status: u16, headers: &[(&'static str, &str)], body: Value) -> Error {
    interpret(&Acme, &reply(status, headers, body)).expect_err("an error")
}

#[test]
fn success_unwraps_the_data() {
    let data = interpret(
        &Acme,
        &reply(200, &[], json!({"rc": "00", "data": {"id": 7}})),
    );
    assert_eq!(data.ok(), Some(json!({"id": 7})));
}

#[test]
fn http_200_with_an_error_inside_goes_through_the_table() {
    let cases = [
        ("09", None, "", ErrorKind::ProviderUnavailable, true, false),
        (
            "12",
            Some("AUTH"),
            "",
            ErrorKind::ProviderAuthFailed,
            false,
            true,
        ),
        ("95", None, "", ErrorKind::ProviderRateLimited, true, true),
        (
            "40",
            None,
            "order not found",
            ErrorKind::ProviderNotFound,
            false,
            true,
        ),
        ("77", None, "", ErrorKind::ProviderRejected, true, true),
        (
            "41",
            None,
            "no such thing",
            ErrorKind::ProviderRejected,
            false,
            true,
        ),
    ];
    for (rc, tag, msg, kind, retryable, sent) in cases {
        let e = err(200, &[], json!({"rc": rc, "tag": tag, "msg": msg}));
        assert_eq!(
            (e.kind, e.retryable, e.request_sent),
            (kind, retryable, sent),
            "{rc}"
        );
        assert!(
            e.message.starts_with(&format!("Acme error {rc}:")),
            "{}",
            e.message
        );
    }
    let e = err(
        200,
        &[],
        json!({"rc": "12", "tag": "AUTH", "msg": "bad key"}),
    );
    assert_eq!(e.message, "Acme error 12: bad key [AUTH]");
}

#[test]
fn a_success_without_envelope_or_json_is_a_retryable_bad_response() {
    let e = err(200, &[], json!({"hello": 1}));
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderBadResponse, true)
    );
    assert!(e.message.contains("{rc, msg, data}"), "{}", e.message);
    let mut garbled = reply(200, &[], json!(null));
    garbled.body = b"{\"rc\":".to_vec();
    let e = interpret(&Acme, &garbled).expect_err("malformed");
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderBadResponse, true)
    );
}

#[test]
fn a_4xx_envelope_refines_the_status_but_auth_and_throttling_keep_it() {
    let e = err(400, &[], json!({"rc": "40", "msg": "Order NOT FOUND"}));
    assert_eq!(e.kind, ErrorKind::ProviderNotFound);
    let e = err(401, &[], json!({"rc": "40", "msg": "Order NOT FOUND"}));
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed);
    assert_eq!(e.message, "Acme answered HTTP 401: Order NOT FOUND");
    let e = err(503, &[], json!({"unrelated": true}));
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true)
    );
}

#[test]
fn retry_after_and_rate_limit_headers_become_the_retry_hint() {
    let e = err(429, &[("retry-after", "4")], json!({}));
    assert_eq!(e.kind, ErrorKind::ProviderRateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(4)));
    let headers = [("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "9")];
    let e = err(200, &headers, json!({"rc": "95"}));
    assert_eq!(e.retry_after, Some(Duration::from_secs(9)));
    // A hint never makes a non-retryable error look retryable.
    let e = err(200, &headers, json!({"rc": "41"}));
    assert_eq!(e.retry_after, None);
}

#[test]
fn rate_limit_resets_are_delays_or_unix_times() {
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("date");
    let at = (now.timestamp() + 30).to_string();
    let mut map = HeaderMap::new();
    map.insert(
        "ratelimit-reset",
        HeaderValue::from_str(&at).expect("value"),
    );
    map.insert("ratelimit-remaining", HeaderValue::from_static("3"));
    assert_eq!(
        parse_rate_limit(&map, now),
        RateLimit {
            remaining: Some(3),
            reset_after: Some(Duration::from_secs(30))
        }
    );
    let mut map = HeaderMap::new();
    map.insert("x-ratelimit-reset", HeaderValue::from_static("12"));
    assert_eq!(
        parse_rate_limit(&map, now).reset_after,
        Some(Duration::from_secs(12))
    );
    assert_eq!(
        parse_rate_limit(&HeaderMap::new(), now),
        RateLimit::default()
    );
}
