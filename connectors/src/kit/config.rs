//! Typed connection config: a connector declares one struct for its config and credentials
//! and gets it deserialized once per call from the (already validated) connection, instead of
//! reading loose JSON fields wherever it needs them.

use std::fmt;

use integrations_core::connector::CallContext;
use integrations_core::{Error, Result};
use serde::de::{self, DeserializeOwned, Deserializer};
use serde::Deserialize;
use serde_json::{Map, Value};

use integrations_core::sanitize::scrub;

/// A credential value. Debug never prints it; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// Blank secrets are refused here: sending an empty token only earns a confusing provider
/// error.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().is_empty() {
            return Err(de::Error::custom("a secret must not be blank"));
        }
        Ok(Self(s))
    }
}

/// The connection's config and credentials merged into one object (credentials win, as they
/// are the only place secret fields may be) and deserialized into `T`. Failures are
/// VALIDATION_FAILED naming the provider, scrubbed of every credential value.
pub fn load<T: DeserializeOwned>(provider: &str, ctx: &CallContext<'_>) -> Result<T> {
    let mut merged = match ctx.config {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => {
            return Err(Error::validation(format!(
                "the {provider} connection config must be an object"
            )))
        }
    };
    for (k, v) in &ctx.credentials.0 {
        merged.insert(k.clone(), Value::String(v.clone()));
    }
    serde_json::from_value(Value::Object(merged)).map_err(|e| {
        let secrets: Vec<&str> = ctx.credentials.values().collect();
        Error::validation(scrub(
            &format!("the {provider} connection is misconfigured: {e}"),
            &secrets,
        ))
    })
}

/// An integer given as a JSON number or a numeric string (forms and older records send ids as
/// strings).
pub fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Int(n) => Ok(n),
        Raw::Text(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom(format!("'{s}' is not an integer"))),
    }
}

/// [`int_or_string`], at least 1 (provider ids start at 1).
pub fn positive_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    let n = int_or_string(d)?;
    if n < 1 {
        return Err(de::Error::custom(format!("{n} is not an id (>= 1)")));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use integrations_core::ErrorKind;
    use serde_json::json;

    use super::*;
    use crate::testing;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Demo {
        api_key: Secret,
        #[serde(deserialize_with = "positive_id")]
        shop_id: i64,
    }

    fn load_demo(config: Value, creds: &[(&str, &str)]) -> Result<Demo> {
        let credentials = testing::credentials(creds);
        load("Demo", &testing::ctx("e", &config, &credentials))
    }

    #[test]
    fn config_and_credentials_load_into_one_typed_struct() {
        let demo = load_demo(json!({"shopId": "885"}), &[("apiKey", "k-1")]).expect("loads");
        assert_eq!((demo.api_key.expose(), demo.shop_id), ("k-1", 885));
        assert!(!format!("{demo:?}").contains("k-1"));
        let demo = load_demo(json!({"shopId": 7}), &[("apiKey", "k")]).expect("loads");
        assert_eq!(demo.shop_id, 7);
    }

    #[test]
    fn bad_config_is_a_validation_error_without_secrets() {
        for (config, creds) in [
            (json!({"shopId": 1}), vec![]),
            (json!({"shopId": 0}), vec![("apiKey", "k")]),
            (json!({"shopId": "x"}), vec![("apiKey", "k")]),
            (json!({"shopId": 1}), vec![("apiKey", "  ")]),
            (json!([1]), vec![("apiKey", "k")]),
        ] {
            let e = load_demo(config.clone(), &creds).expect_err("invalid");
            assert_eq!(e.kind, ErrorKind::ValidationFailed, "{config}");
        }
        // A credential of the wrong shape must not be echoed.
        let e = load_demo(json!({"shopId": 1, "apiKey": 5}), &[("shopId", "sec-42")])
            .expect_err("invalid");
        assert!(!e.message.contains("sec-42"), "{}", e.message);
    }
}
