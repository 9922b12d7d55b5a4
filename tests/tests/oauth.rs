//! OAuth2 connections end to end against the fake providers, one module per provider: Shopify
//! ([`shopify`]: the flow and every callback failure, one refresh across two workers keeping
//! the rotated refresh token, outcomes through the worker, an expired refresh token), HubSpot
//! ([`hubspot`]: by private app token and by OAuth) and Haravan ([`haravan`]: tokens that never
//! expire, no refresh token). The helpers here are the browser's and the operator's part.

#[path = "oauth/haravan.rs"]
mod haravan;
#[path = "oauth/hubspot.rs"]
mod hubspot;
#[path = "oauth/shopify.rs"]
mod shopify;

use std::collections::BTreeMap;

use dispatcher::config::OAuthAppAction;
use dispatcher::oauth::{apps, state::Pending};
use fake_provider::ecommerce::shopify::{self as fake_shopify, ShopifyStats};
use fake_provider::{FakeConfig, FakeProvider};
use integration_tests::fleet::Fleet;
use integration_tests::{shipping_base_url_args, ApiClient, Harness};
use integrations_core::catalog::Catalog;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const ORDER: &str = "gid://shopify/Order/1001";

fn start_body() -> Value {
    json!({"integrationId": "ecommerce-shopify", "name": "Fake shop",
           "config": {"shop": fake_shopify::SHOP}, "redirectUri": REDIRECT})
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The user's browser at the provider: the query the provider sends it back with.
async fn consent(authorize_url: &str) -> BTreeMap<String, String> {
    let resp = no_redirects()
        .get(authorize_url)
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().expect("location");
    let url = url::Url::parse(location).expect("callback URL");
    assert!(location.starts_with(REDIRECT), "{location}");
    url.query_pairs().into_owned().collect()
}

/// The browser arriving at the callback (public: no API key).
async fn callback(base: &str, query: &BTreeMap<String, String>) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}/oauth/callback"))
        .query(query)
        .send()
        .await
        .expect("callback");
    let status = resp.status();
    (status, resp.json().await.expect("JSON"))
}

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

async fn shopify_stats(fake: &FakeProvider) -> ShopifyStats {
    reqwest::get(format!("{}/__shopify/stats", fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

/// A fake platform's control endpoint, `POST /__<platform>/<what>`.
async fn control(fake: &FakeProvider, platform: &str, what: &str) {
    reqwest::Client::new()
        .post(format!("{}/__{platform}/{what}", fake.url()))
        .send()
        .await
        .expect("control");
}

fn secret_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("shopify-client-secret");
    std::fs::write(&path, format!("{}\n", fake_shopify::CLIENT_SECRET)).expect("write");
    path
}

fn assert_output(action: &str, done: &Value) {
    assert_eq!(done["status"], "succeeded", "{done}");
    let catalog = Catalog::embedded().expect("catalog");
    let integration = match action {
        "create_contact" | "get_contact" => "crm-hubspot",
        _ => "ecommerce-shopify",
    };
    let a = catalog.action(integration, action).expect("action");
    let problems = a.output_mismatches(&done["output"]);
    assert!(problems.is_empty(), "{action} output: {problems:?}");
}

async fn run(h: &Harness, conn: &str, action: &str, input: Value) -> Value {
    let body = json!({"connectionId": conn, "actionId": action, "input": input});
    let (s, b) = h.execute("t1", body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    h.wait_terminal("t1", b["executionId"].as_str().expect("id"))
        .await
}

fn failed_with(done: &Value, code: &str) {
    assert_eq!(
        (done["status"].as_str(), done["error"]["code"].as_str()),
        (Some("failed"), Some(code)),
        "{done}"
    );
}
