//! Caller services' callback signing secrets (core `CallerSecrets`) on the embedded secret
//! store: creation, rotation, the cache, and what a missing or malformed secret says.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use integrations_core::backend::SecretStore;
use integrations_core::caller_secrets::{secret_name, CallerSecrets, CURRENT, NEXT};
use integrations_core::model::Credentials;
use integrations_core::ErrorKind;

async fn store(dir: &std::path::Path) -> Arc<dyn SecretStore> {
    common::open(dir).await.backend().secrets
}

#[tokio::test]
async fn ensure_creates_once_and_signing_uses_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path()).await;
    let secrets = CallerSecrets::new(store.clone(), Duration::from_secs(60));

    assert!(
        secrets.cached_signing_keys("flows").is_none(),
        "nothing read yet"
    );
    let err = secrets
        .signing_keys("flows")
        .await
        .expect_err("no secret yet");
    assert_eq!(err.kind, ErrorKind::CallbackSecretMissing);
    let cached = secrets
        .cached_signing_keys("flows")
        .expect("the miss is cached");
    assert_eq!(
        cached.expect_err("missing").kind,
        ErrorKind::CallbackSecretMissing
    );
    assert!(!err.retryable);
    assert!(err.message.contains("'flows'"), "{err}");
    assert!(
        err.message
            .contains("integrations callback-secret rotate --caller-service flows"),
        "{err}"
    );

    let created = secrets.ensure("flows").await.expect("ensure");
    assert_eq!(secrets.ensure("flows").await.expect("again"), created);
    // This process's own write replaced the cached miss at once.
    assert_eq!(
        secrets.signing_keys("flows").await.expect("keys"),
        vec![created.clone()]
    );
    assert_eq!(
        secrets
            .cached_signing_keys("flows")
            .map(|k| k.expect("keys")),
        Some(vec![created.clone()])
    );

    // Stored where every host finds it, as whsec_ text.
    let stored = store
        .get_secret("/integrations/callers/flows/callback-signing")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.get(CURRENT), Some(created.to_string().as_str()));
    assert_eq!(stored.get(NEXT), None);

    // Another service has its own.
    let other = secrets.ensure("ai-agents").await.expect("ensure other");
    assert_ne!(other, created);
}

#[tokio::test]
async fn a_rotation_signs_with_both_then_with_the_new_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = CallerSecrets::new(store(dir.path()).await, Duration::from_secs(60));
    let old = secrets.ensure("flows").await.expect("ensure");

    let err = secrets
        .finish_rotation("flows")
        .await
        .expect_err("nothing to finish");
    assert!(err.message.contains("no callback secret rotation"), "{err}");

    let next = secrets.rotate("flows").await.expect("rotate");
    assert_ne!(next, old);
    assert_eq!(
        secrets.rotate("flows").await.expect("rotate again"),
        next,
        "a rotation in progress keeps its secret"
    );
    assert_eq!(
        secrets.signing_keys("flows").await.expect("keys"),
        vec![old.clone(), next.clone()]
    );
    let keys = secrets.keys("flows").await.expect("keys");
    assert_eq!((keys.current, keys.next), (old, Some(next.clone())));

    assert_eq!(
        secrets.finish_rotation("flows").await.expect("finish"),
        next
    );
    assert_eq!(
        secrets.signing_keys("flows").await.expect("keys"),
        vec![next.clone()]
    );
    assert!(secrets.finish_rotation("flows").await.is_err());
}

#[tokio::test]
async fn rotate_without_a_secret_creates_the_current_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = CallerSecrets::new(store(dir.path()).await, Duration::from_secs(60));
    let first = secrets.rotate("flows").await.expect("rotate");
    let keys = secrets.keys("flows").await.expect("keys");
    assert_eq!((keys.current, keys.next), (first, None));
    let err = secrets.finish_rotation("billing").await.expect_err("none");
    assert_eq!(err.kind, ErrorKind::CallbackSecretMissing);
}

#[tokio::test]
async fn another_process_rotation_is_seen_after_the_ttl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path()).await;
    let ttl = Duration::from_millis(300);
    let worker = CallerSecrets::new(store.clone(), ttl);
    let operator = CallerSecrets::new(store, ttl);

    let current = operator.ensure("flows").await.expect("ensure");
    assert_eq!(
        worker.signing_keys("flows").await.expect("keys"),
        vec![current.clone()]
    );
    let next = operator.rotate("flows").await.expect("rotate");
    assert_eq!(
        worker.signing_keys("flows").await.expect("cached"),
        vec![current.clone()],
        "served from the cache"
    );
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(
        worker.signing_keys("flows").await.expect("re-read"),
        vec![current, next]
    );
}

#[tokio::test]
async fn malformed_or_invalid_names_fail_without_quoting_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(dir.path()).await;
    let secrets = CallerSecrets::new(store.clone(), Duration::ZERO);
    let leaked = "whsec_c2hvcnQ=";
    store
        .put_secret(
            &secret_name("flows"),
            &Credentials(BTreeMap::from([(CURRENT.to_string(), leaked.to_string())])),
        )
        .await
        .expect("put");
    let err = secrets.signing_keys("flows").await.expect_err("malformed");
    assert_eq!(err.kind, ErrorKind::Internal);
    assert!(err.message.contains("malformed"), "{err}");
    assert!(!err.message.contains(leaked), "{err}");

    for bad in ["", "a/b", "flows callbacks", &"x".repeat(129)] {
        let err = secrets.ensure(bad).await.expect_err("invalid name");
        assert_eq!(err.kind, ErrorKind::ValidationFailed, "{bad}");
    }
    assert!(secrets.ensure(&"x".repeat(128)).await.is_ok());
}
