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

/// The API base of a shop on its own domain: `<checked shop URL><api_path>`, or the operator's
/// override. The shop URL is checked ([`tenant_base_url`]) even when an override replaces it:
/// a connection that could not run against its own shop is refused the same everywhere.
/// Answers `(api base, shop URL)`.
pub fn tenant_api_base(
    provider: &str,
    field: &str,
    raw: &str,
    api_path: &str,
    base_url_override: Option<&str>,
) -> Result<(String, String)> {
    let shop = tenant_base_url(provider, field, raw)?;
    let base = match base_url_override {
        Some(url) => url.to_string(),
        None => format!("{shop}{api_path}"),
    };
    Ok((base, shop))
}

/// A platform's shop domain, `<name><suffix>` with one DNS label as the name, lowercased:
/// the connector only ever calls the platform's own subdomains, so a tenant cannot point it
/// (and its credentials) anywhere else.
pub fn platform_subdomain(provider: &str, field: &str, raw: &str, suffix: &str) -> Result<String> {
    let domain = raw.trim().to_ascii_lowercase();
    let name = domain.strip_suffix(suffix).unwrap_or_default();
    let label = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !label {
        return Err(Error::validation(format!(
            "the {provider} connection is misconfigured: `{field}` must be <name>{suffix}"
        )));
    }
    Ok(domain)
}

/// A base URL the tenant chose (a shop's own domain): `https` only, as the credentials travel
/// in its `Authorization` header; plain `http` only to a loopback host (a local test fake,
/// never reachable from another machine). No user-info, query or fragment, so the URL cannot
/// smuggle credentials or parameters into every call. Answered without a trailing slash.
pub fn tenant_base_url(provider: &str, field: &str, raw: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::validation(format!(
            "the {provider} connection is misconfigured: `{field}` {why}"
        ))
    };
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(bad("has no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => return Err(bad(&format!("must use https, not {other}"))),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
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

    #[test]
    fn platform_subdomains_are_one_label_under_the_platform() {
        let check = |raw: &str| platform_subdomain("Sapo", "storeDomain", raw, ".mysapo.net");
        assert_eq!(
            check(" MyShop.mysapo.net").ok().as_deref(),
            Some("myshop.mysapo.net")
        );
        for bad in [
            "mysapo.net",
            ".mysapo.net",
            "evil.example.com",
            "a.b.mysapo.net",
            "-x.mysapo.net",
            "shop.mysapo.net.evil.com",
        ] {
            let e = check(bad).expect_err(bad);
            assert!(e.message.contains("storeDomain"), "{e}");
        }
    }

    #[test]
    fn tenant_urls_are_https_except_on_loopback() {
        let ok = |raw: &str| tenant_base_url("Shop", "storeUrl", raw);
        assert_eq!(
            ok("https://shop.example.vn/").ok().as_deref(),
            Some("https://shop.example.vn")
        );
        assert_eq!(
            ok("https://shop.example.vn/store").ok().as_deref(),
            Some("https://shop.example.vn/store")
        );
        for local in [
            "http://127.0.0.1:8080/woo",
            "http://localhost:1",
            "http://[::1]:2",
        ] {
            assert!(ok(local).is_ok(), "{local}");
        }
        for bad in [
            "http://shop.example.vn",
            "http://10.0.0.1",
            "ftp://shop.example.vn",
            "https://u:p@shop.example.vn",
            "https://shop.example.vn/?a=1",
            "https://shop.example.vn/#x",
            "shop.example.vn",
        ] {
            let e = ok(bad).expect_err(bad);
            assert_eq!(e.kind, ErrorKind::ValidationFailed, "{bad}");
            assert!(e.message.contains("storeUrl"), "{e}");
        }
    }
}
