//! Sapo for one call: the store's `<name>.mysapo.net` domain, a private app's Basic key and
//! secret or an installed app's `X-Sapo-Access-Token`, and the Shopify-style Admin API
//! protocol shared with Haravan.

use integrations_core::connector::CallContext;
use integrations_core::Result;
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

impl SapoApi {
    pub(crate) fn new(
        http: &reqwest::Client,
        base_url_override: Option<&str>,
        ctx: &CallContext<'_>,
        auth: Auth,
    ) -> Result<Self> {
        let config: SapoConfig = config::load(PROVIDER, ctx)?;
        let store = config::platform_subdomain(
            PROVIDER,
            "storeDomain",
            &config.store_domain,
            STORE_SUFFIX,
        )?;
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
