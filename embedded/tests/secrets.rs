//! Secret storage specifics: the key file, the wrong key, and what lands on disk.

mod common;

use std::collections::BTreeMap;

use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};
use integrations_core::backend::SecretStore;
use integrations_core::model::Credentials;

const PLAINTEXT: &str = "sk_live_THIS-MUST-NEVER-BE-ON-DISK";

fn credentials() -> Credentials {
    Credentials(BTreeMap::from([(
        "apiKey".to_string(),
        PLAINTEXT.to_string(),
    )]))
}

#[cfg(unix)]
#[tokio::test]
async fn key_file_is_created_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("keys").join("secret.key");
    let config = EmbeddedConfig::new(
        dir.path().join("integrations.db"),
        SecretKeySource::File(key_path.clone()),
    );
    let backend = EmbeddedBackend::open(&config).await.expect("open");
    let meta = std::fs::metadata(&key_path).expect("key file created");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    backend
        .put_secret("/s/1", &credentials())
        .await
        .expect("put");
    drop(backend);

    let reopened = EmbeddedBackend::open(&config)
        .await
        .expect("reopen with the key file");
    let got = reopened.get_secret("/s/1").await.expect("get");
    assert_eq!(got, Some(credentials()));
}

#[cfg(unix)]
#[tokio::test]
async fn readable_key_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let key_path = dir.path().join("secret.key");
    std::fs::write(&key_path, [1u8; 32]).expect("write key");
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = EmbeddedConfig::new(
        dir.path().join("integrations.db"),
        SecretKeySource::File(key_path),
    );
    let err = EmbeddedBackend::open(&config)
        .await
        .err()
        .expect("a world-readable key file must be refused");
    assert!(err.message.contains("readable by group or others"), "{err}");
}

#[tokio::test]
async fn base64_keys_must_be_32_bytes() {
    let key = SecretKeySource::from_base64("BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=");
    assert!(matches!(key, Ok(SecretKeySource::Raw(k)) if k == common::KEY));
    assert!(SecretKeySource::from_base64("c2hvcnQ=").is_err());
    assert!(SecretKeySource::from_base64("not base64!").is_err());
    let debug = format!("{:?}", SecretKeySource::Raw(common::KEY.to_vec()));
    assert!(
        !debug.contains('7'),
        "Debug must not print key bytes: {debug}"
    );
}

#[tokio::test]
async fn wrong_key_is_refused_at_open() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    backend
        .put_secret("/s/1", &credentials())
        .await
        .expect("put");
    drop(backend);

    let mut config = common::config(dir.path());
    config.secret_key = SecretKeySource::Raw(vec![9; 32]);
    let err = EmbeddedBackend::open(&config)
        .await
        .err()
        .expect("a different key must be refused");
    assert!(err.message.contains("secret key does not match"), "{err}");
}

#[tokio::test]
async fn tampered_or_moved_ciphertext_fails_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    backend
        .put_secret("/t/a", &credentials())
        .await
        .expect("put");
    backend
        .put_secret("/t/b", &credentials())
        .await
        .expect("put");
    let raw = common::raw(dir.path());

    // The same ciphertext under another name: the name is authenticated, so it does not open.
    raw.execute(
        "UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE name = '/t/a')
         WHERE name = '/t/b'",
        [],
    )
    .expect("move ciphertext");
    let err = backend
        .get_secret("/t/b")
        .await
        .expect_err("moved ciphertext");
    assert!(err.message.contains("cannot decrypt secret /t/b"), "{err}");
    assert!(!err.message.contains(PLAINTEXT));

    // One flipped bit.
    let sealed: Vec<u8> = raw
        .query_row("SELECT sealed FROM secrets WHERE name = '/t/a'", [], |r| {
            r.get(0)
        })
        .expect("sealed");
    let mut flipped = sealed;
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    raw.execute(
        "UPDATE secrets SET sealed = ?1 WHERE name = '/t/a'",
        [&flipped],
    )
    .expect("tamper");
    let err = backend
        .get_secret("/t/a")
        .await
        .expect_err("tampered ciphertext");
    assert!(err.message.contains("cannot decrypt"), "{err}");
}

#[tokio::test]
async fn the_file_never_holds_the_plaintext() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    backend
        .put_secret("/p/1", &credentials())
        .await
        .expect("put");
    let rotated = Credentials(BTreeMap::from([(
        "apiKey".to_string(),
        format!("{PLAINTEXT}-2"),
    )]));
    backend.put_secret("/p/1", &rotated).await.expect("rotate");

    // The database, its WAL and anything else the backend wrote in the directory.
    for entry in std::fs::read_dir(dir.path()).expect("read dir") {
        let path = entry.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read file");
        let found = bytes
            .windows(PLAINTEXT.len())
            .any(|w| w == PLAINTEXT.as_bytes());
        assert!(!found, "plaintext secret found in {}", path.display());
    }
    assert_eq!(
        backend.get_secret("/p/1").await.expect("get"),
        Some(rotated)
    );
}
