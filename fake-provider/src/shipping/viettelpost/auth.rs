//! Viettel Post's two-step login: `user/Login` answers a short token, `user/ownerconnect`
//! (called with it) a long-lived one for every other call. Tokens can be expired on demand.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::faults::lock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Short,
    Long,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Valid,
    Unknown,
    Expired,
    /// A login token where the long-lived one is needed (or the reverse).
    WrongKind,
}

struct Token {
    kind: Kind,
    expired: bool,
}

#[derive(Default)]
pub(crate) struct Tokens {
    seq: AtomicU64,
    pub logins: AtomicU64,
    pub exchanges: AtomicU64,
    pub rejected: AtomicU64,
    issued: Mutex<HashMap<String, Token>>,
}

impl Tokens {
    pub(crate) fn issue(&self, kind: Kind) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let counter = match kind {
            Kind::Short => &self.logins,
            Kind::Long => &self.exchanges,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let prefix = if kind == Kind::Short { "s" } else { "l" };
        // Shaped like VTP's JWTs only in being long and opaque.
        let token = format!(
            "vtp.{prefix}{n:06}.{:016x}",
            n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        lock(&self.issued).insert(
            token.clone(),
            Token {
                kind,
                expired: false,
            },
        );
        token
    }

    pub(crate) fn check(&self, token: &str, want: Kind) -> Check {
        let verdict = match lock(&self.issued).get(token) {
            None => Check::Unknown,
            Some(t) if t.expired => Check::Expired,
            Some(t) if t.kind != want => Check::WrongKind,
            Some(_) => Check::Valid,
        };
        if verdict != Check::Valid {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
        verdict
    }

    /// Every token issued so far now answers "expired"; returns how many.
    pub(crate) fn expire_all(&self) -> usize {
        let mut issued = lock(&self.issued);
        issued.values_mut().for_each(|t| t.expired = true);
        issued.len()
    }
}
