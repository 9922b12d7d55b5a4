//! The shop connectors through the real API and worker against their fakes: success, business
//! errors, auth failure, the platform's own throttling then success, a server error, and a
//! write whose answer is lost (OUTCOME_UNKNOWN for writes without an idempotency key, a safe
//! retry for the others). Every succeeded output checks against its outputSchema (`run`).

#[path = "payment/common.rs"]
mod common;
#[path = "ecommerce/haravan.rs"]
mod haravan;
#[path = "ecommerce/prestashop.rs"]
mod prestashop;
#[path = "ecommerce/sapo.rs"]
mod sapo;
#[path = "ecommerce/shops.rs"]
mod shops;
#[path = "ecommerce/woocommerce.rs"]
mod woocommerce;
