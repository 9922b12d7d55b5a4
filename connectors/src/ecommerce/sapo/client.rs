//! Sapo for one call: the store's `<name>.mysapo.net` domain, a private app's Basic key and
//! secret or an installed app's `X-Sapo-Access-Token`, and the Shopify-style Admin API
//! protocol shared with Haravan.

use integrations_core::connector::CallContext;
use integrations_core::{Error, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::ecommerce::admin_api::AdminApi;
use crate::kit::config;
use crate::kit::{Auth, AuthSpec, KeyPlace, ProviderClient, Request};

pub(crate) const PROVIDER: &str = "Sapo";

/// `basic` with the private app's key and secret, or the installed app's token.
pub(crate) const AUTH: AuthSpec = AuthSpec::BasicOrToken {
    username_field: "apiKey",
    password_field: "apiSecret",
    token_field: "accessToken",
    token_place: KeyPlace::Header("X-Sapo-Access-Token"),
};

static SAPO: AdminApi = AdminApi(PROVIDER);

/// Sapo stores live under this domain; only its subdomains are called, so a tenant cannot
/// point the connector (and its credentials) anywhere else.
const STORE_SUFFIX: &str = ".mysapo.net";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SapoConfig {
    store_domain: String,
}

pub(crate) struct SapoApi {
    client: ProviderClient,
    store: String,
}

fn store_domain(raw: &str) -> Result<String> {
    let domain = raw.trim().to_ascii_lowercase();
    let name = domain.strip_suffix(STORE_SUFFIX).unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(Error::validation(format!(
            "the Sapo connection is misconfigured: `storeDomain` must be <name>{STORE_SUFFIX}"
        )));
    }
    Ok(domain)
}

impl SapoApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: SapoConfig = config::load(PROVIDER, ctx)?;
        let store = store_domain(&config.store_domain)?;
        let base = match base_url_override {
            Some(url) => url.to_string(),
            None => format!("https://{store}"),
        };
        let client = ProviderClient::new(http, &base, &SAPO, auth, ctx.timeout);
        Ok(Self { client, store })
    }

    pub(crate) fn store(&self) -> &str {
        &self.store
    }

    pub(crate) async fn call(&self, request: Request) -> Result<Value> {
        self.client.call(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mysapo_subdomains_are_stores() {
        assert_eq!(
            store_domain(" MyShop.mysapo.net").ok().as_deref(),
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
            assert!(store_domain(bad).is_err(), "{bad}");
        }
    }
}
