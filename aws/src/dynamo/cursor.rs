//! Opaque page cursors for execution listings.
//!
//! A cursor is the position of the last item returned (its `createdKey`), the listing shards
//! known to hold nothing below it, and the tenant it was issued to, base64url-encoded. Every
//! shard's next query starts below that one position (a global one: items of all shards are
//! merged in `createdKey` order), and the shards marked done are skipped. The position is never
//! turned back into a DynamoDB key of its own: the next queries are always on the requesting
//! tenant's partitions, with the position only as a sort-key bound, so a cursor cannot reach
//! another tenant's items; one issued to another tenant is refused outright.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use integrations_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where the next page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Exclusive upper bound on `createdKey`.
    pub key: String,
    /// Shards with nothing left below `key` (sorted).
    pub done: Vec<u16>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    #[serde(rename = "v")]
    version: u8,
    #[serde(rename = "t")]
    tenant_id: String,
    #[serde(rename = "k")]
    created_key: String,
    /// Version 1 (the one-partition layout) has none.
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    done: Vec<u16>,
}

pub(crate) fn encode(tenant_id: &str, position: &Position) -> String {
    let c = Cursor {
        version: 2,
        tenant_id: tenant_id.to_string(),
        created_key: position.key.clone(),
        done: position.done.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

/// The position in `cursor`, if it was issued to `tenant_id`. Cursors of the one-partition
/// layout (version 1) still work: a position with no shard marked done.
pub(crate) fn decode(tenant_id: &str, cursor: &str) -> Result<Position> {
    let invalid = || Error::validation("invalid cursor: pass next_cursor from a previous page");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if !(1..=2).contains(&c.version) || c.tenant_id != tenant_id {
        return Err(invalid());
    }
    Ok(Position {
        key: c.created_key,
        done: c.done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_works_only_for_its_tenant() {
        let position = Position {
            key: "2024-01-01T00:00:00.000000000Z#01HX".into(),
            done: vec![1, 5],
        };
        let c = encode("tenant-a", &position);
        assert_eq!(decode("tenant-a", &c).expect("same tenant"), position);
        assert!(decode("tenant-b", &c).is_err());
        assert!(decode("tenant-a", "not a cursor").is_err());
    }

    #[test]
    fn cursors_of_the_previous_layout_still_decode() {
        let v1 = URL_SAFE_NO_PAD.encode(br#"{"v":1,"t":"tenant-a","k":"2024#01HX"}"#);
        let position = decode("tenant-a", &v1).expect("v1");
        assert_eq!(position.key, "2024#01HX");
        assert!(position.done.is_empty());
        let v9 = URL_SAFE_NO_PAD.encode(br#"{"v":9,"t":"tenant-a","k":"2024#01HX"}"#);
        assert!(decode("tenant-a", &v9).is_err());
    }
}
