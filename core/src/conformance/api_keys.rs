//! [`ApiKeyStore`] conformance.
//!
//! Semantics pinned here, beyond the trait docs: `put_api_key` creates or replaces the key with
//! the same hash (rotating a key's scope is a put); `tenants: None` (all tenants) and an explicit
//! list round-trip distinctly.

use std::sync::Arc;

use super::fresh_id;
use crate::backend::ApiKeyStore;
use crate::model::{now, ApiKey};

/// Every API key case.
pub async fn api_keys_suite(store: Arc<dyn ApiKeyStore>) {
    put_find(store.clone()).await;
    list_and_revoke(store).await;
}

/// Listed oldest first (other cases' keys may be there too); a revoked key is found no more,
/// and revoking it again, or an unknown id, answers false.
pub async fn list_and_revoke(store: Arc<dyn ApiKeyStore>) {
    let first = ApiKey {
        key_id: fresh_id(),
        key_hash: hash(),
        caller_service: "flows".to_string(),
        tenants: Some(vec!["tenant-a".to_string()]),
        created_at: now() - chrono::Duration::seconds(5),
    };
    let second = ApiKey {
        key_id: fresh_id(),
        key_hash: hash(),
        caller_service: "agents".to_string(),
        tenants: None,
        created_at: now(),
    };
    for key in [&second, &first] {
        store.put_api_key(key).await.expect("put");
    }
    let ours = |keys: Vec<ApiKey>| -> Vec<ApiKey> {
        keys.into_iter()
            .filter(|k| k.key_id == first.key_id || k.key_id == second.key_id)
            .collect()
    };
    let listed = ours(store.list_api_keys().await.expect("list"));
    assert_eq!(listed, vec![first.clone(), second.clone()], "oldest first");

    assert!(store.revoke_api_key(&first.key_id).await.expect("revoke"));
    assert_eq!(
        store.find_api_key(&first.key_hash).await.expect("find"),
        None
    );
    let listed = ours(store.list_api_keys().await.expect("list"));
    assert_eq!(listed, vec![second.clone()]);
    assert!(!store.revoke_api_key(&first.key_id).await.expect("again"));
    assert!(!store.revoke_api_key(&fresh_id()).await.expect("unknown"));
    let kept = store.find_api_key(&second.key_hash).await.expect("find");
    assert_eq!(kept, Some(second));
}

/// Stored by hash, found by hash, replaced by a second put; unknown hashes are not found.
pub async fn put_find(store: Arc<dyn ApiKeyStore>) {
    let scoped = ApiKey {
        key_id: fresh_id(),
        key_hash: hash(),
        caller_service: "flows".to_string(),
        tenants: Some(vec!["tenant-a".to_string(), "tenant-b".to_string()]),
        created_at: now(),
    };
    let global = ApiKey {
        key_id: fresh_id(),
        key_hash: hash(),
        caller_service: "ops".to_string(),
        tenants: None,
        created_at: now(),
    };
    for key in [&scoped, &global] {
        store.put_api_key(key).await.expect("put");
        let found = store.find_api_key(&key.key_hash).await.expect("find");
        assert_eq!(found.as_ref(), Some(key));
    }

    let rescoped = ApiKey {
        tenants: Some(vec!["tenant-c".to_string()]),
        caller_service: "agents".to_string(),
        ..scoped.clone()
    };
    store.put_api_key(&rescoped).await.expect("put again");
    let found = store.find_api_key(&scoped.key_hash).await.expect("find");
    assert_eq!(found, Some(rescoped));

    let missing = store.find_api_key(&hash()).await.expect("find");
    assert_eq!(missing, None);
}

/// A fresh, hex SHA-256-shaped hash.
fn hash() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}
