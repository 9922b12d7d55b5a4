//! Hostile callers of the HTTP API: another tenant's ids, forged and out-of-scope keys, ids
//! with path traversal, encoded slashes, odd Unicode and great length, oversized bodies and
//! headers. Every answer is a 4xx with the error envelope, never a 5xx, never another
//! tenant's data, and the service keeps answering. (Missing and unknown keys on a single
//! route, and the 413 of `/execute`'s input, are in `api.rs`.)

use integration_tests::{create_key, fee_input, Harness};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A 4xx with `{"error": {"code", "message", "retryable"}}`; returns the code.
fn refused(what: &str, status: StatusCode, body: &Value) -> String {
    assert!(status.is_client_error(), "{what}: {status} {body}");
    let e = &body["error"];
    assert!(
        e["code"].is_string() && e["message"].is_string() && e["retryable"].is_boolean(),
        "{what}: not the error envelope: {body}"
    );
    e["code"].as_str().unwrap_or_default().to_string()
}

/// Every route that takes an id, with t1's ids and a body it accepts.
fn id_routes(conn: &str, exec: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, format!("/connections/{conn}"), None),
        (
            Method::PATCH,
            format!("/connections/{conn}"),
            Some(json!({"name": "taken over"})),
        ),
        (Method::POST, format!("/connections/{conn}/test"), None),
        (Method::GET, format!("/executions/{exec}"), None),
        (Method::POST, format!("/executions/{exec}/callback"), None),
        (
            Method::POST,
            "/execute".to_string(),
            Some(json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()})),
        ),
        (Method::DELETE, format!("/connections/{conn}"), None),
    ]
}

#[tokio::test]
async fn another_tenants_ids_answer_404_and_out_of_scope_keys_403_on_every_route() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let (s, done) = h
        .execute(
            "t1",
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000}),
        )
        .await;
    assert!(s.is_success(), "{done}");
    let exec = done["executionId"].as_str().expect("id").to_string();

    // The same key acting for t2: t1's ids do not exist there.
    for (method, path, body) in id_routes(&conn, &exec) {
        let (s, b) = h.call(method.clone(), &path, "t2", body).await;
        let code = refused(&format!("{method} {path} as t2"), s, &b);
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {b}");
        assert!(code.ends_with("NOT_FOUND"), "{method} {path}: {code}");
    }
    // Nor does any list or tool of t2 show them.
    for path in ["/connections", "/executions", "/tools?format=mcp"] {
        let (s, b) = h.call(Method::GET, path, "t2", None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        let text = b.to_string();
        assert!(
            !text.contains(&conn) && !text.contains(&exec),
            "{path}: {b}"
        );
    }
    let (s, b) = h
        .call(
            Method::POST,
            "/tools/call",
            "t2",
            Some(json!({"name": format!("shipping_ghn_calculate_fee_{conn}"), "arguments": fee_input()})),
        )
        .await;
    refused("a tool of t1's connection as t2", s, &b);

    // A key restricted to t2 cannot act for t1 at all, on any route.
    let t2_only = create_key(&h.backend, "flows", Some(vec!["t2".into()])).await;
    let mut routes = id_routes(&conn, &exec);
    routes.push((Method::GET, "/connections".into(), None));
    routes.push((Method::GET, "/executions".into(), None));
    routes.push((Method::GET, "/catalog".into(), None));
    for (method, path, body) in routes {
        let (s, b) = h
            .call_with_key(method.clone(), &path, Some(&t2_only), Some("t1"), body)
            .await;
        assert_eq!(
            (s, refused(&path, s, &b).as_str()),
            (StatusCode::FORBIDDEN, "FORBIDDEN"),
            "{method} {path}"
        );
    }
    // None of that changed t1's connection or execution.
    let (s, c) = h
        .call(Method::GET, &format!("/connections/{conn}"), "t1", None)
        .await;
    assert_eq!(
        (s, c["name"].as_str()),
        (StatusCode::OK, Some("GHN test shop"))
    );
    let (s, e) = h
        .call(Method::GET, &format!("/executions/{exec}"), "t1", None)
        .await;
    assert_eq!(
        (s, e["status"].as_str()),
        (StatusCode::OK, Some("succeeded"))
    );
    h.stop().await;
}

#[tokio::test]
async fn forged_keys_are_unauthenticated_everywhere() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let mut flipped = h.key.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'a' { b'b' } else { b'a' };
    let flipped = String::from_utf8(flipped).expect("ASCII key");
    let forged = [
        flipped,
        format!("{}x", h.key),
        h.key[..h.key.len() - 1].to_string(),
        h.key.to_uppercase(),
        "isk_".to_string() + &"0".repeat(64),
        "' OR 1=1 --".to_string(),
        "ключ-🔑".to_string(),
        "k".repeat(8 * 1024),
    ];
    let routes = [
        (Method::GET, "/catalog".to_string()),
        (Method::GET, "/connections".to_string()),
        (Method::GET, format!("/connections/{conn}")),
        (Method::POST, "/execute".to_string()),
        (Method::GET, "/executions".to_string()),
        (Method::GET, "/tools".to_string()),
        (Method::POST, "/tools/call".to_string()),
    ];
    for key in &forged {
        for (method, path) in &routes {
            // A non-ASCII key cannot be a header value as text: its bytes go raw.
            let auth =
                HeaderValue::from_bytes(format!("Bearer {key}").as_bytes()).expect("header bytes");
            let resp = h
                .http
                .request(method.clone(), format!("{}{path}", h.base))
                .header("authorization", auth)
                .header("x-tenant-id", "t1")
                .json(&json!({}))
                .send()
                .await
                .expect("send");
            let s = resp.status();
            let b: Value = resp.json().await.expect("JSON error");
            assert_eq!(
                (s, refused(path, s, &b).as_str()),
                (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
                "{method} {path} with a forged key"
            );
            assert!(!b.to_string().contains(key.as_str()), "the key is echoed");
        }
    }
    h.stop().await;
}

#[tokio::test]
async fn hostile_ids_and_tenants_answer_4xx_with_the_envelope() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let long = "a".repeat(10_000);
    let ids = [
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2fsecrets",
        "..%5C..%5Cwindows",
        "a%2Fb",
        "%00",
        "%FF%FE",
        "%E2%80%AE%F0%9F%98%80%C3%A9",
        "TENANT%23t2%23CONN",
        "*",
        long.as_str(),
    ];
    for id in ids {
        for (method, path, body) in [
            (Method::GET, format!("/connections/{id}"), None),
            (
                Method::PATCH,
                format!("/connections/{id}"),
                Some(json!({"name": "x"})),
            ),
            (Method::DELETE, format!("/connections/{id}"), None),
            (Method::POST, format!("/connections/{id}/test"), None),
            (Method::GET, format!("/executions/{id}"), None),
            (Method::POST, format!("/executions/{id}/callback"), None),
            (Method::GET, format!("/catalog/{id}"), None),
            (
                Method::GET,
                format!("/catalog/shipping-ghn/actions/{id}"),
                None,
            ),
        ] {
            let (s, b) = h.call(method.clone(), &path, "t1", body).await;
            refused(&format!("{method} {path}"), s, &b);
        }
        // As a connection id inside a body, too.
        let (s, b) = h
            .execute(
                "t1",
                json!({"connectionId": decoded(id), "actionId": "calculate_fee", "input": fee_input()}),
            )
            .await;
        refused(&format!("execute with connection {id}"), s, &b);
    }
    // Hostile tenant headers: never in the key's scope.
    for tenant in [
        "../t1",
        "t1/../t2",
        "t1%2F",
        "T1",
        "t1,t2",
        "😀",
        long.as_str(),
    ] {
        let value = HeaderValue::from_bytes(tenant.as_bytes()).expect("header bytes");
        let resp = h
            .http
            .get(format!("{}/connections/{conn}", h.base))
            .bearer_auth(&h.key)
            .header("x-tenant-id", value)
            .send()
            .await
            .expect("send");
        let s = resp.status();
        let b: Value = resp.json().await.expect("JSON error");
        refused(&format!("tenant {tenant:?}"), s, &b);
    }
    h.stop().await;
}

/// An id as a JSON string: its percent-escapes decoded (lossily where not UTF-8).
fn decoded(id: &str) -> String {
    url::form_urlencoded::parse(format!("x={id}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn oversized_bodies_and_headers_are_refused_and_the_service_goes_on() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let big = "x".repeat(300 * 1024);
    for (method, path, body) in [
        (
            Method::POST,
            "/connections".to_string(),
            json!({"integrationId": "shipping-ghn", "name": big, "config": {}, "credentials": {}}),
        ),
        (
            Method::PATCH,
            format!("/connections/{conn}"),
            json!({"name": big}),
        ),
        (
            Method::POST,
            "/tools/call".to_string(),
            json!({"name": "x", "arguments": {"a": big}}),
        ),
        (
            Method::POST,
            "/execute".to_string(),
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "callerRef": big}),
        ),
    ] {
        let (s, b) = h.call(method.clone(), &path, "t1", Some(body)).await;
        assert_eq!(
            (s, refused(&path, s, &b).as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            "{method} {path}"
        );
    }
    // A header far past what the HTTP server takes, and a great many headers: refused by the
    // server (431) or the connection closed, never a 5xx; then the service answers as before.
    let huge = "h".repeat(1024 * 1024);
    let many: HeaderMap = (0..500)
        .map(|i| {
            (
                HeaderName::from_bytes(format!("x-h{i}").as_bytes()).expect("name"),
                HeaderValue::from_static("v"),
            )
        })
        .collect();
    for req in [
        h.http
            .get(format!("{}/connections", h.base))
            .header("x-junk", &huge),
        h.http.get(format!("{}/connections", h.base)).headers(many),
    ] {
        let sent = req
            .bearer_auth(&h.key)
            .header("x-tenant-id", "t1")
            .send()
            .await;
        if let Ok(resp) = sent {
            assert!(resp.status().is_client_error(), "{}", resp.status());
        }
    }
    let (s, b) = h.call(Method::GET, "/connections", "t1", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    h.stop().await;
}
