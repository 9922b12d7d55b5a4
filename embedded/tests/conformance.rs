//! The backend conformance suites, each case on a fresh database file, plus every suite together
//! on one file (as the AWS backend runs them, on shared tables and queues).

use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};

/// Small, so that the dead-letter cases are quick.
const MAX_RECEIVE_COUNT: u32 = 3;

async fn fresh() -> (tempfile::TempDir, EmbeddedBackend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = EmbeddedConfig::new(
        dir.path().join("integrations.db"),
        SecretKeySource::Raw(vec![7; 32]),
    );
    config.max_receive_count = MAX_RECEIVE_COUNT;
    let backend = EmbeddedBackend::open(&config).await.expect("open");
    (dir, backend)
}

async fn setup() -> (
    (tempfile::TempDir, EmbeddedBackend),
    integrations_core::backend::Backend,
) {
    let (dir, embedded) = fresh().await;
    let backend = embedded.backend();
    ((dir, embedded), backend)
}

integrations_core::conformance_tests!(setup, MAX_RECEIVE_COUNT);
