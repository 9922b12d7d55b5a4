//! Signing primitives and the canonical strings providers sign: sorted `k=v&…`, pipe-joined
//! fields, and body digests. Providers differ only in which of these they combine, so each
//! connector composes its canonical string from these helpers instead of re-deriving them.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};

use super::request::encode_pairs;

/// The HMAC hash functions providers use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacAlgorithm {
    Sha256,
    Sha512,
}

/// How a MAC or digest is written into the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hex.
    Hex,
    /// Uppercase hex (some providers compare case-sensitively).
    HexUpper,
    /// Standard base64 with padding.
    Base64,
}

impl Encoding {
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::HexUpper => hex::encode_upper(bytes),
            Self::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// HMAC of `message` under `key`.
pub fn hmac(algorithm: HmacAlgorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length (long ones are hashed), so `new_from_slice` cannot fail
    // here; the fallback keeps this total without an unwrap.
    match algorithm {
        HmacAlgorithm::Sha256 => match Hmac::<Sha256>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        },
        HmacAlgorithm::Sha512 => match Hmac::<Sha512>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(message);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        },
    }
}

pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    hex::encode(hmac(HmacAlgorithm::Sha256, key, message))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of a body, hex: the digest providers put in a signed header or canonical string.
pub fn body_digest_hex(body: &[u8]) -> String {
    hex::encode(sha256(body))
}

/// SHA-256 of a body, base64 (the `Digest: SHA-256=…` style).
pub fn body_digest_base64(body: &[u8]) -> String {
    Encoding::Base64.encode(&sha256(body))
}

/// Whether the value of a pair is written raw or form-urlencoded in a canonical string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairEncoding {
    /// `a=x y&b=1` — values exactly as given (MoMo, ZaloPay style).
    Raw,
    /// `a=x+y&b=1` — keys and values form-urlencoded (VNPay style).
    FormUrlencoded,
}

/// `k=v&…` sorted by key (then value, so duplicates are stable), skipping pairs whose value is
/// empty when `skip_empty` (several providers leave empty fields out of what they sign).
pub fn sorted_pairs<K: AsRef<str>, V: AsRef<str>>(
    pairs: &[(K, V)],
    encoding: PairEncoding,
    skip_empty: bool,
) -> String {
    let mut sorted: Vec<(String, String)> = pairs
        .iter()
        .filter(|(_, v)| !(skip_empty && v.as_ref().is_empty()))
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect();
    sorted.sort();
    match encoding {
        PairEncoding::FormUrlencoded => encode_pairs(&sorted),
        PairEncoding::Raw => sorted
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&"),
    }
}

/// Fields joined with `|`, in the order the provider specifies.
pub fn pipe_joined<S: AsRef<str>>(fields: &[S]) -> String {
    fields
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("|")
}

/// Compare two signatures without an early exit, so timing does not reveal a prefix (used
/// when verifying what a provider sent us).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4231 §4.2 and §4.3: test cases 1 and 2.
    #[test]
    fn hmac_matches_rfc_4231() {
        let key1 = [0x0b_u8; 20];
        assert_eq!(
            hex::encode(hmac(HmacAlgorithm::Sha256, &key1, b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex::encode(hmac(HmacAlgorithm::Sha512, &key1, b"Hi There")),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        );
        let msg = b"what do ya want for nothing?";
        assert_eq!(
            hmac_sha256_hex(b"Jefe", msg),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac(HmacAlgorithm::Sha512, b"Jefe", msg)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
    }

    /// RFC 4231 §4.8, test case 6: a key longer than the block size is hashed first.
    #[test]
    fn hmac_accepts_keys_longer_than_a_block() {
        let key = [0xaa_u8; 131];
        assert_eq!(
            hmac_sha256_hex(
                &key,
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// FIPS 180-2 / NIST examples.
    #[test]
    fn body_digests_match_sha256_vectors() {
        assert_eq!(
            body_digest_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            body_digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            body_digest_base64(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }

    #[test]
    fn encodings() {
        assert_eq!(Encoding::Hex.encode(&[0xab, 0x01]), "ab01");
        assert_eq!(Encoding::HexUpper.encode(&[0xab, 0x01]), "AB01");
        assert_eq!(Encoding::Base64.encode(b"hi"), "aGk=");
    }

    #[test]
    fn canonical_strings() {
        let pairs = [("b", "2"), ("a", "x y"), ("c", ""), ("a", "1")];
        assert_eq!(
            sorted_pairs(&pairs, PairEncoding::Raw, false),
            "a=1&a=x y&b=2&c="
        );
        assert_eq!(
            sorted_pairs(&pairs, PairEncoding::FormUrlencoded, true),
            "a=1&a=x+y&b=2"
        );
        assert_eq!(pipe_joined(&["553", "exec-1", "10000"]), "553|exec-1|10000");
        assert_eq!(pipe_joined::<&str>(&[]), "");
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
