//! The catalog's closed sets, typed: what `integration.schema.json` enumerates.

use serde::{Deserialize, Serialize};

macro_rules! closed_set {
    // `tt`, not `literal`: the ToSchema derive reads `rename = $text` only as a bare literal.
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
    };
}

closed_set!(
    /// What an integration is for (`category`).
    IntegrationCategory {
        Shipping => "shipping",
        Payment => "payment",
        Ecommerce => "ecommerce",
        Crm => "crm",
        Calendar => "calendar",
        Communication => "communication",
    }
);

closed_set!(
    /// Whether tenants should build on an integration (`status`).
    IntegrationStatus {
        Available => "available",
        Beta => "beta",
        Deprecated => "deprecated",
    }
);

closed_set!(
    /// How a connection authenticates (`authType`); each connector declares its own and a test
    /// holds it to the catalog's, so the document and the code cannot drift apart.
    AuthType {
        ApiKey => "api_key",
        OAuth2 => "oauth2",
        Basic => "basic",
        Hmac => "hmac",
        TokenExchange => "token_exchange",
    }
);

closed_set!(
    /// What an action's rate limit is counted by (`rateLimitScope`).
    RateLimitScope {
        Connection => "connection",
        Account => "account",
        Integration => "integration",
    }
);
