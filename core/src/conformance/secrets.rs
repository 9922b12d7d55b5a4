//! [`SecretStore`] conformance.
//!
//! Semantics pinned here, beyond the trait docs: a put replaces the whole value (rotation drops
//! fields that are no longer there); secrets are independent of each other; a deleted secret reads
//! as `None` (polled: remote stores may take a moment). Names are never reused after deletion,
//! because remote stores may keep a deleted name reserved for a while.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{eventually, fresh_id, fresh_tenant};
use crate::backend::{SecretStore, SecretVersion};
use crate::model::{secret_name, Credentials};

/// Every secret case.
pub async fn secrets_suite(store: Arc<dyn SecretStore>) {
    put_get_rotate_delete(store.clone()).await;
    missing_secrets(store.clone()).await;
    compare_and_set_one_of_two_wins(store.clone()).await;
    compare_and_set_stale_version_loses(store).await;
}

/// Create, read, replace (rotation), delete; other secrets are untouched.
pub async fn put_get_rotate_delete(store: Arc<dyn SecretStore>) {
    let tenant = fresh_tenant();
    let name = secret_name(&tenant, &fresh_id());
    let neighbour = secret_name(&tenant, &fresh_id());
    let first = credentials(&[("apiKey", "sk_live_first"), ("webhookSecret", "whsec_1")]);
    let rotated = credentials(&[("apiKey", "sk_live_rotated ✓")]);

    store.put_secret(&name, &first).await.expect("put");
    store.put_secret(&neighbour, &first).await.expect("put");
    assert_eq!(get(&store, &name).await, Some(first.clone()));

    store.put_secret(&name, &rotated).await.expect("rotate");
    let (store_ref, name_ref, rotated_ref) = (&store, &name, &rotated);
    eventually("the rotated value", move || async move {
        (get(store_ref, name_ref).await.as_ref() == Some(rotated_ref)).then_some(())
    })
    .await;

    store.delete_secret(&name).await.expect("delete");
    eventually("the secret to be gone", move || async move {
        get(store_ref, name_ref).await.is_none().then_some(())
    })
    .await;
    assert_eq!(get(&store, &neighbour).await, Some(first));
    store.delete_secret(&neighbour).await.expect("delete");
}

/// A missing secret reads as `None`, and deleting it is not an error.
pub async fn missing_secrets(store: Arc<dyn SecretStore>) {
    let name = secret_name(&fresh_tenant(), &fresh_id());
    assert_eq!(get(&store, &name).await, None);
    store
        .delete_secret(&name)
        .await
        .expect("deleting a missing secret is not an error");
}

/// Two writers with the same expected version at once: exactly one wins, its value is stored
/// under a new version, and the loser wrote nothing.
pub async fn compare_and_set_one_of_two_wins(store: Arc<dyn SecretStore>) {
    let name = secret_name(&fresh_tenant(), &fresh_id());
    let first = credentials(&[("refreshToken", "rt-0")]);
    store.put_secret(&name, &first).await.expect("put");
    let (read, version) = versioned(&store, &name).await.expect("the secret exists");
    assert_eq!(read, first);
    let writers = ["rt-a", "rt-b"].map(|token| {
        let (store, name, version) = (store.clone(), name.clone(), version.clone());
        tokio::spawn(async move {
            let value = credentials(&[("refreshToken", token)]);
            let won = store
                .put_secret_if(&name, &value, &version)
                .await
                .expect("put_secret_if");
            (won, value)
        })
    });
    let mut winners = Vec::new();
    for writer in writers {
        let (won, value) = writer.await.expect("join");
        if won {
            winners.push(value);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of two writers wins");
    let (stored, now) = versioned(&store, &name).await.expect("the secret exists");
    assert_eq!(stored, winners[0]);
    assert_ne!(now, version, "a write makes a new version");
    assert_eq!(store.get_secret(&name).await.expect("get"), Some(stored));
    store.delete_secret(&name).await.expect("delete");
}

/// A version read before another write (a conditional one, or a plain put) loses and writes
/// nothing; a missing secret is never created by a conditional write.
pub async fn compare_and_set_stale_version_loses(store: Arc<dyn SecretStore>) {
    let name = secret_name(&fresh_tenant(), &fresh_id());
    store
        .put_secret(&name, &credentials(&[("refreshToken", "rt-0")]))
        .await
        .expect("put");
    let (_, old) = versioned(&store, &name).await.expect("the secret exists");
    let newer = credentials(&[("refreshToken", "rt-1")]);
    assert!(store
        .put_secret_if(&name, &newer, &old)
        .await
        .expect("put_secret_if"));
    let (_, current) = versioned(&store, &name).await.expect("the secret exists");

    let stale_write = credentials(&[("refreshToken", "rt-stale")]);
    assert!(!store
        .put_secret_if(&name, &stale_write, &old)
        .await
        .expect("put_secret_if"));
    assert_eq!(
        versioned(&store, &name).await,
        Some((newer, current.clone()))
    );

    let rotated = credentials(&[("refreshToken", "rt-2")]);
    store.put_secret(&name, &rotated).await.expect("rotate");
    assert!(!store
        .put_secret_if(&name, &stale_write, &current)
        .await
        .expect("put_secret_if"));
    assert_eq!(
        versioned(&store, &name).await.map(|(value, _)| value),
        Some(rotated)
    );
    assert_eq!(
        store
            .get_secret(&name)
            .await
            .expect("get")
            .as_ref()
            .and_then(|c| c.get("refreshToken")),
        Some("rt-2")
    );

    store.delete_secret(&name).await.expect("delete");
    let missing = secret_name(&fresh_tenant(), &fresh_id());
    assert!(!store
        .put_secret_if(&missing, &stale_write, &current)
        .await
        .expect("put_secret_if on a missing secret"));
    assert_eq!(get(&store, &missing).await, None);
}

async fn versioned(
    store: &Arc<dyn SecretStore>,
    name: &str,
) -> Option<(Credentials, SecretVersion)> {
    store
        .get_secret_versioned(name)
        .await
        .expect("get_secret_versioned")
}

async fn get(store: &Arc<dyn SecretStore>, name: &str) -> Option<Credentials> {
    store.get_secret(name).await.expect("get_secret")
}

fn credentials(fields: &[(&str, &str)]) -> Credentials {
    let map: BTreeMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Credentials(map)
}
