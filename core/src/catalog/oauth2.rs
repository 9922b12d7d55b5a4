//! An `oauth2` integration's authorization server, as its catalog document declares it
//! (`oauth2`): where consent is asked and codes are exchanged, the scopes, and what the
//! provider supports. Parsed once with the catalog.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuth2Spec {
    /// The authorize endpoint; `{field}` stands for the connection config's `field` (a
    /// Shopify shop's domain).
    pub authorize_url: String,
    /// The token endpoint, with the same placeholders.
    pub token_url: String,
    pub scopes: Vec<String>,
    /// How scopes are joined in the authorize URL (RFC 6749: a space; Shopify: a comma).
    #[serde(default = "space")]
    pub scope_separator: String,
    /// Whether the provider takes a PKCE (S256) challenge.
    pub pkce: bool,
    /// Whether access tokens expire (and are renewed with the refresh-token grant).
    pub tokens_expire: bool,
    /// Whether the callback's query carries the provider's `hmac` over it (Shopify).
    #[serde(default)]
    pub callback_hmac: bool,
    /// The provider's own fields sent with the code exchange (Shopify's `expiring: 1`, which
    /// asks for expiring offline tokens).
    #[serde(default)]
    pub exchange_params: serde_json::Map<String, Value>,
}

fn space() -> String {
    " ".into()
}

impl OAuth2Spec {
    pub(super) fn load(doc: &Value, path: &str) -> Result<Option<Self>> {
        match doc.get("oauth2") {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| Error::internal(format!("{path}: oauth2: {e}"))),
        }
    }

    /// `url` with each `{field}` replaced by the config's string `field`.
    pub fn expand(url: &str, config: &Value) -> Result<String> {
        let mut out = String::new();
        let mut rest = url;
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .ok_or_else(|| Error::internal(format!("unclosed placeholder in {url}")))?;
            let field = &rest[start + 1..start + end];
            let value = config.get(field).and_then(Value::as_str).ok_or_else(|| {
                Error::validation(format!("config/{field}: is required to authorize"))
            })?;
            out.push_str(&rest[..start]);
            out.push_str(value);
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn placeholders_take_the_config_values() {
        let config = json!({"shop": "a.myshopify.com"});
        assert_eq!(
            OAuth2Spec::expand("https://{shop}/admin/oauth/authorize", &config).expect("ok"),
            "https://a.myshopify.com/admin/oauth/authorize"
        );
        let e = OAuth2Spec::expand("https://{store}/x", &config).expect_err("missing");
        assert!(e.message.contains("config/store"), "{e}");
    }
}
