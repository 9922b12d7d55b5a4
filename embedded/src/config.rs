//! How to open the embedded backend.

use std::fmt;
use std::path::PathBuf;

use base64::Engine as _;
use integrations_core::{Error, Result};

/// How many times a message is delivered before it moves to the dead-letter queue.
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 10;

/// Length of the AES-256-GCM key that encrypts secrets.
pub const SECRET_KEY_LEN: usize = 32;

#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// The SQLite file; created (with its directory) on first run.
    pub path: PathBuf,
    pub secret_key: SecretKeySource,
    /// Deliveries of a message before it is dead-lettered; at least 1.
    pub max_receive_count: u32,
}

impl EmbeddedConfig {
    /// A configuration with the default maximum receive count.
    pub fn new(path: impl Into<PathBuf>, secret_key: SecretKeySource) -> Self {
        Self {
            path: path.into(),
            secret_key,
            max_receive_count: DEFAULT_MAX_RECEIVE_COUNT,
        }
    }
}

/// Where the key that encrypts secrets comes from.
#[derive(Clone)]
pub enum SecretKeySource {
    /// A file of 32 raw bytes. Created with random bytes and mode 0600 when missing; refused when
    /// it exists and group or others may read it.
    File(PathBuf),
    /// The key itself (32 bytes), e.g. decoded from an environment variable by the caller.
    Raw(Vec<u8>),
}

impl SecretKeySource {
    /// A raw key from its base64 form (standard or URL-safe alphabet, padded or not).
    pub fn from_base64(encoded: &str) -> Result<Self> {
        let encoded = encoded.trim();
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        let key = engines
            .iter()
            .find_map(|engine| engine.decode(encoded).ok())
            .ok_or_else(|| Error::validation("the secret key is not valid base64"))?;
        check_len(&key)?;
        Ok(Self::Raw(key))
    }
}

pub(crate) fn check_len(key: &[u8]) -> Result<()> {
    if key.len() == SECRET_KEY_LEN {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "the secret key must be {SECRET_KEY_LEN} bytes, not {}",
            key.len()
        )))
    }
}

/// Never prints key bytes.
impl fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Raw(_) => f.write_str("Raw(<redacted>)"),
        }
    }
}
