//! Shared by the shop worker tests, besides the payment tests' helpers (`common`): the
//! connection test route and the fakes' control and stats endpoints.

use integration_tests::Harness;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub async fn connection_test(h: &Harness, conn: &str) -> Value {
    let path = format!("/connections/{conn}/test");
    let (s, b) = h.call(Method::POST, &path, "t1", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

pub async fn control(h: &Harness, path: &str, body: Value) {
    let resp = h
        .http
        .post(format!("{}{path}", h.fake.url()))
        .json(&body)
        .send()
        .await
        .expect("control");
    assert!(resp.status().is_success(), "{path}");
}

pub async fn fake_stats(h: &Harness, path: &str) -> Value {
    reqwest::get(format!("{}{path}", h.fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}
