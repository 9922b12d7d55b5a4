//! Viettel Post's token renewal across a fleet: an API process and two worker processes share
//! one embedded file (then moto), 50 executions run on a connection whose token VTP has
//! expired, and exactly one login renews it for everyone — the named lease in the store admits
//! one renewer, the others pick the renewed token from the secret store.

use fake_provider::shipping::viettelpost::{self as vtp, VtpStats};
use fake_provider::shipping::viettelpost_base_url;
use fake_provider::{FakeConfig, FakeProvider};
use integration_tests::fleet::Fleet;
use integration_tests::ApiClient;
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");

fn route() -> Value {
    json!({"receiverProvinceId": 2, "receiverDistrictId": 43, "weight": 1200})
}

async fn stats(fake: &FakeProvider) -> VtpStats {
    reqwest::get(format!("{}/__viettelpost/stats", fake.url()))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json")
}

async fn submit(api: &ApiClient, conn: &str) -> String {
    let body = json!({"connectionId": conn, "actionId": "list_services", "input": route()});
    let b = api.call(Method::POST, "/execute", Some(body)).await;
    b["executionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"))
        .to_string()
}

/// One login, expiry, 50 executions across two workers: one more login.
async fn one_login_renews_for_the_fleet(fleet: &Fleet, fake: &FakeProvider) {
    let key = fleet
        .run(&["create-key", "--caller-service", "flows", "--tenants", "t1"])
        .trim()
        .to_string();
    let worker = ["--concurrency", "32", "--backoff-base-ms", "50"];
    let (_procs, api) = fleet.start(key, 2, &worker);
    let conn = api
        .call(
            Method::POST,
            "/connections",
            Some(json!({
                "integrationId": "shipping-viettelpost", "name": "fleet",
                "config": {"username": vtp::USERNAME,
                           "sender": {"provinceId": 1, "districtId": 4}},
                "credentials": {"password": vtp::PASSWORD}
            })),
        )
        .await["connectionId"]
        .as_str()
        .expect("connection")
        .to_string();
    let first = submit(&api, &conn).await;
    assert_eq!(api.terminal(&first).await["status"], "succeeded");
    assert_eq!(stats(fake).await.logins, 1);

    reqwest::Client::new()
        .post(format!("{}/__viettelpost/expire-tokens", fake.url()))
        .send()
        .await
        .expect("expire");
    let batch = (0..50).map(|_| submit(&api, &conn));
    let ids = futures::future::join_all(batch).await;
    for id in &ids {
        let e = api.terminal(id).await;
        assert_eq!(e["status"], "succeeded", "{e}");
    }
    let s = stats(fake).await;
    assert_eq!((s.logins, s.token_exchanges), (2, 2), "one renewal: {s:?}");
}

fn provider_args(fake: &FakeProvider) -> Vec<String> {
    vec![
        "--provider-base-url".into(),
        format!("shipping-viettelpost={}", viettelpost_base_url(fake)),
    ]
}

#[tokio::test]
async fn two_workers_on_one_embedded_file_log_in_once() {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::embedded(BIN, &provider_args(&fake), dir.path(), &[]);
    one_login_renews_for_the_fleet(&fleet, &fake).await;
}

#[tokio::test]
async fn two_workers_on_moto_log_in_once() {
    let moto = backend_aws::testing::moto().await;
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("fake");
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::on_moto(BIN, moto.url(), &provider_args(&fake), dir.path(), &[]);
    // Provision the stack once, as an operator would.
    fleet.run(&[
        "--aws-provision",
        "create-key",
        "--caller-service",
        "setup",
        "--tenants",
        "t1",
    ]);
    one_login_renews_for_the_fleet(&fleet, &fake).await;
}
