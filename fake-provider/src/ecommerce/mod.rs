//! Fake e-commerce platforms, one module each under its own path prefix (the real path shape
//! after it), each with its own in-memory state and control endpoints under `/__<provider>/…`.
//!
//! | endpoint | effect |
//! |---|---|
//! | `GET /__shopify/stats` | [`shopify::ShopifyStats`]: authorizations, code exchanges, refreshes, GraphQL calls |
//! | `POST /__shopify/expire-tokens` | every access token issued so far has expired |
//! | `POST /__shopify/revoke` | the merchant uninstalled the app: every token and refresh token is refused |
//! | `POST /__shopify/deny-next` | the next authorization is declined (`error=access_denied`) |
//! | `POST /__shopify/throttle` | `{"times": n}`: the next n GraphQL queries answer `THROTTLED` |

pub mod shopify;

use std::sync::Arc;

use axum::Router;

use crate::state::State;

pub(crate) fn routes() -> Router<Arc<State>> {
    let shopify = Arc::new(shopify::Shopify::default());
    Router::new()
        .nest(crate::SHOPIFY_PREFIX, shopify::routes(shopify.clone()))
        .nest("/__shopify", shopify::control(shopify))
}

/// The Shopify base URL (for `https://{shop}`): `http://HOST:PORT/shopify`.
pub fn shopify_base_url(fake: &crate::FakeProvider) -> String {
    format!("{}{}", fake.url(), crate::SHOPIFY_PREFIX)
}
