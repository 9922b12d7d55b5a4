//! `integrations keys list | revoke` as an operator runs them, against a running API process on
//! the same store: the listing never shows a key or its hash; a revoked key is refused (401) by
//! the running API within its key cache's lifetime; revoking an unknown id fails.

use std::time::Duration;

use integration_tests::fleet::Fleet;
use reqwest::StatusCode;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");

#[tokio::test]
async fn a_revoked_key_is_refused_by_the_running_api_and_listings_show_no_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::embedded(BIN, &[], dir.path(), &[]);
    let create = |service: &str| {
        fleet
            .run(&["create-key", "--caller-service", service, "--tenants", "t1"])
            .trim()
            .to_string()
    };
    let revoked = create("flows");
    let kept = create("ai-agents");
    let (_api_process, api) = fleet.api(revoked.clone());
    let status = |key: String| {
        let http = api.http.clone();
        let url = format!("{}/connections", api.base);
        async move {
            http.get(url)
                .bearer_auth(key)
                .header("x-tenant-id", "t1")
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    assert_eq!(status(revoked.clone()).await, StatusCode::OK);

    let listed: Vec<Value> = fleet
        .run(&["keys", "list"])
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["callerService"], "flows", "oldest first");
    assert_eq!(listed[0]["tenants"], serde_json::json!(["t1"]));
    let text = fleet.run(&["keys", "list"]);
    for key in [&revoked, &kept] {
        assert!(!text.contains(key.as_str()), "a key in the listing: {text}");
        let hash = dispatcher::auth::hash_key(key);
        assert!(!text.contains(&hash), "a key's hash in the listing: {text}");
    }

    let key_id = listed[0]["keyId"].as_str().expect("keyId").to_string();
    let said = fleet.run(&["keys", "revoke", "--key-id", &key_id]);
    assert!(said.contains(&key_id), "{said}");
    // The API process reuses a found key for KEY_CACHE_TTL; after that it asks the store again.
    let deadline = tokio::time::Instant::now() + dispatcher::auth::KEY_CACHE_TTL * 3;
    while status(revoked.clone()).await != StatusCode::UNAUTHORIZED {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revoked key still works"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        status(kept).await,
        StatusCode::OK,
        "the other key still works"
    );

    let again = fleet
        .command(&["keys", "revoke", "--key-id", &key_id])
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run");
    assert!(!again.status.success(), "revoking twice must fail");
    assert!(String::from_utf8_lossy(&again.stderr).contains("NOT_FOUND"));
}
