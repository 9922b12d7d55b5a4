//! [`SecretStore`] conformance.
//!
//! Semantics pinned here, beyond the trait docs: a put replaces the whole value (rotation drops
//! fields that are no longer there); secrets are independent of each other; a deleted secret reads
//! as `None` (polled: remote stores may take a moment). Names are never reused after deletion,
//! because remote stores may keep a deleted name reserved for a while.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{eventually, fresh_id, fresh_tenant};
use crate::backend::SecretStore;
use crate::model::{secret_name, Credentials};

/// Every secret case.
pub async fn secrets_suite(store: Arc<dyn SecretStore>) {
    put_get_rotate_delete(store.clone()).await;
    missing_secrets(store).await;
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
