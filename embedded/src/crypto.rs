//! Sealing secrets: AES-256-GCM, a fresh random 96-bit nonce for every write, and the secret's
//! name as associated data, so that a ciphertext copied to another name does not decrypt.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};
use integrations_core::{Error, Result};

use crate::config::SECRET_KEY_LEN;

/// Format of a sealed value: this byte, the nonce, then ciphertext and tag.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// A sealed value's nonce, as SQL (`substr` counts from 1): see [`nonce_of`].
pub(crate) const NONCE_SQL: &str = "substr(sealed, 2, 12)";
const _: () = assert!(NONCE_LEN == 12, "NONCE_SQL spells out the nonce's place");

/// The nonce of a sealed value. Fresh and random for every write, it names that write: the
/// secret's version for a compare-and-set. (AES-GCM's security already rests on nonces never
/// repeating under one key, so it is as unique as the encryption needs it to be.)
pub(crate) fn nonce_of(sealed: &[u8]) -> Option<&[u8]> {
    sealed.get(1..1 + NONCE_LEN)
}

pub(crate) struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    pub(crate) fn new(key: &[u8; SECRET_KEY_LEN]) -> Self {
        Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    pub(crate) fn seal(&self, name: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let payload = Payload {
            msg: plaintext,
            aad: name.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| Error::internal(format!("cannot encrypt secret {name}")))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// Fails (never panics) on a wrong key, a value stored under another name, or tampering.
    pub(crate) fn open(&self, name: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        let undecryptable = || {
            Error::internal(format!(
                "cannot decrypt secret {name}: wrong secret key, or the stored value was altered"
            ))
        };
        let (version, rest) = sealed.split_first().ok_or_else(undecryptable)?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: name.as_bytes(),
        };
        self.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| undecryptable())
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}
