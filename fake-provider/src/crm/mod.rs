//! Fake CRMs, one module each under its own path prefix (the real path shape after it), with
//! their control endpoints under `/__<provider>/…`.
//!
//! | endpoint | effect |
//! |---|---|
//! | `GET /__hubspot/stats` | [`hubspot::HubSpotStats`]: authorizations, code exchanges, refreshes, refused calls, throttled calls |
//! | `POST /__hubspot/expire-tokens` | every OAuth access token issued so far has expired |
//! | `POST /__hubspot/revoke` | the app uninstalled: OAuth tokens and refresh tokens are refused |
//! | `POST /__hubspot/throttle` | `{"times": n, "daily": false}`: the next n API calls answer 429 (the ten-second or the daily limit) |

pub mod hubspot;

use std::sync::Arc;

use axum::Router;

use crate::state::State;

pub(crate) fn routes() -> Router<Arc<State>> {
    let hubspot = Arc::new(hubspot::HubSpot::default());
    Router::new()
        .nest(crate::HUBSPOT_PREFIX, hubspot::routes(hubspot.clone()))
        .nest("/__hubspot", hubspot::control(hubspot))
}

/// The HubSpot base URL (for `https://api.hubapi.com`): `http://HOST:PORT/hubspot`.
pub fn hubspot_base_url(fake: &crate::FakeProvider) -> String {
    format!("{}{}", fake.url(), crate::HUBSPOT_PREFIX)
}
