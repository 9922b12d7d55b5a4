//! Opaque page cursors for execution listings.
//!
//! A cursor is the position of the last item returned (its `createdKey`) and the tenant it was
//! issued to, base64url-encoded. It is never turned back into a DynamoDB key of its own: the
//! next query is always on the requesting tenant's partition, with the position only as a
//! sort-key bound, so a cursor cannot reach another tenant's items; one issued to another tenant
//! is refused outright.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use integrations_core::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    #[serde(rename = "v")]
    version: u8,
    #[serde(rename = "t")]
    tenant_id: String,
    #[serde(rename = "k")]
    created_key: String,
}

pub(crate) fn encode(tenant_id: &str, created_key: &str) -> String {
    let c = Cursor {
        version: 1,
        tenant_id: tenant_id.to_string(),
        created_key: created_key.to_string(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap_or_default())
}

/// The position in `cursor`, if it was issued to `tenant_id`.
pub(crate) fn decode(tenant_id: &str, cursor: &str) -> Result<String> {
    let invalid = || Error::validation("invalid cursor: pass next_cursor from a previous page");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if c.version != 1 || c.tenant_id != tenant_id {
        return Err(invalid());
    }
    Ok(c.created_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_works_only_for_its_tenant() {
        let c = encode("tenant-a", "2024-01-01T00:00:00.000000000Z#01HX");
        assert_eq!(
            decode("tenant-a", &c).expect("same tenant"),
            "2024-01-01T00:00:00.000000000Z#01HX"
        );
        assert!(decode("tenant-b", &c).is_err());
        assert!(decode("tenant-a", "not a cursor").is_err());
    }
}
