//! Fake provider servers for tests, the quickstart and benchmarks.
//!
//! It fakes every provider of the catalog, each under its own path prefix with the provider's
//! real paths after it: GHN under `/shiip/public-api` (so a connector pointed at
//! [`FakeProvider::base_url`] talks to it exactly as to GHN), GHTK under `/ghtk`, Viettel Post
//! under `/viettelpost/v2` ([`shipping`]), MoMo, ZaloPay, VNPay and Stripe under `/momo`,
//! `/zalopay`, `/vnpay`, `/stripe` ([`payment`]), the shops WooCommerce, Sapo, Haravan and
//! PrestaShop under `/woocommerce`, `/sapo`, `/haravan`, `/prestashop` ([`ecommerce`]).
//! Each enforces its provider's contract (auth, recomputed signatures, envelopes and result
//! codes, required fields, idempotency keys, throttling) and keeps its state in memory.
//! Shopify under `/shopify` ([`ecommerce`]) and HubSpot under `/hubspot` ([`crm`]) fake their
//! OAuth authorize and token endpoints too.
//!
//! Faults are injected per call, either through the Rust handle ([`FakeProvider::inject`]) or,
//! from another process, through control endpoints that live outside the provider prefixes (they apply to every provider):
//!
//! | endpoint | effect |
//! |---|---|
//! | `POST /__faults` | queue a [`Fault`] (JSON, camelCase); answers `{"pending": n}` |
//! | `GET /__faults` | the pending faults |
//! | `DELETE /__faults` | drop pending faults; answers `{"cleared": n}` |
//! | `GET /__stats` | [`Stats`]: per-path call counts, orders created, faults pending/served |
//! | `POST /__reset` | forget orders, faults and call counts |
//! | `POST /__orders/{orderCode}/status` | `{"status": "delivering"}`: move an order along, as GHN would |
//!
//! Fees are deterministic so tests can assert exact values: see [`ghn::fee`].

pub mod crm;
pub mod ecommerce;
pub mod faults;
pub mod ghn;
pub mod payment;
pub mod shipping;

mod control;
mod server;
mod state;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind};
pub use state::{KeyWrites, Stats};

/// The path prefix of GHN's public API; [`FakeProvider::base_url`] ends with it.
pub const GHN_PREFIX: &str = "/shiip/public-api";
/// The fake GHTK's path prefix (GHTK's own paths follow it): [`shipping::ghtk_base_url`].
pub const GHTK_PREFIX: &str = "/ghtk";
/// The fake Viettel Post's prefix, ending like VTP's base URL: [`shipping::viettelpost_base_url`].
pub const VIETTELPOST_PREFIX: &str = "/viettelpost/v2";
/// Path prefixes of the payment fakes ([`payment`]); each provider's real paths follow.
pub const MOMO_PREFIX: &str = "/momo";
pub const ZALOPAY_PREFIX: &str = "/zalopay";
pub const VNPAY_PREFIX: &str = "/vnpay";
pub const STRIPE_PREFIX: &str = "/stripe";
/// Path prefixes of the shop fakes ([`ecommerce`]): each is a shop's URL, the platform's
/// real paths after it.
pub const WOOCOMMERCE_PREFIX: &str = "/woocommerce";
pub const SAPO_PREFIX: &str = "/sapo";
pub const PRESTASHOP_PREFIX: &str = "/prestashop";
pub const HARAVAN_PREFIX: &str = "/haravan";
/// The fake Shopify's prefix, standing for `https://{shop}` ([`ecommerce::shopify`]).
pub const SHOPIFY_PREFIX: &str = "/shopify";
/// The fake HubSpot's prefix, standing for `https://api.hubapi.com` ([`crm::hubspot`]).
pub const HUBSPOT_PREFIX: &str = "/hubspot";
/// The GHN token the fake accepts unless configured otherwise.
pub const DEFAULT_TOKEN: &str = "test-token";
/// The GHN shop id the fake accepts unless configured otherwise.
pub const DEFAULT_SHOP_ID: i64 = 885;

/// How to run a fake provider.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub host: IpAddr,
    /// 0 picks an ephemeral port.
    pub port: u16,
    /// Added to every provider call (not to control endpoints), to mimic network distance.
    pub latency: Duration,
    /// The only GHN `Token` accepted.
    pub token: String,
    /// The only GHN `ShopId` accepted.
    pub shop_id: i64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            latency: Duration::ZERO,
            token: DEFAULT_TOKEN.to_string(),
            shop_id: DEFAULT_SHOP_ID,
        }
    }
}

/// Bind and start serving in the background of the current tokio runtime.
pub async fn start(config: FakeConfig) -> std::io::Result<FakeProvider> {
    let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(state::State::new(&config));
    let router = server::router(state.clone());
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, state.clone(), router, shutdown_rx));
    Ok(FakeProvider {
        addr,
        state,
        shutdown,
        task: Some(task),
    })
}

/// A running fake. Dropping it stops the server (open connections are closed).
pub struct FakeProvider {
    addr: SocketAddr,
    state: Arc<state::State>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl FakeProvider {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, where the control endpoints live.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The GHN base URL to configure a connector with: `http://HOST:PORT/shiip/public-api`.
    pub fn base_url(&self) -> String {
        format!("{}{GHN_PREFIX}", self.url())
    }

    pub fn token(&self) -> &str {
        &self.state.token
    }

    pub fn shop_id(&self) -> i64 {
        self.state.shop_id
    }

    /// Queue a fault; faults are served in order to the calls they match.
    pub fn inject(&self, fault: Fault) -> Result<(), String> {
        self.state.faults.push(fault)
    }

    /// Drop pending faults, returning how many there were.
    pub fn clear_faults(&self) -> usize {
        self.state.faults.clear()
    }

    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Forget orders, faults and call counts.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Move an order to another GHN status (appended to its log), as GHN's operations would.
    pub fn set_order_status(&self, order_code: &str, status: &str) -> Result<(), String> {
        self.state.orders.set_status(order_code, status)
    }

    /// A GHN order as its detail call answers it (the create request echoed back): what reached
    /// the provider, unmasked, for tests to compare with what the caller meant to send.
    pub fn ghn_order(&self, order_code: &str) -> Option<serde_json::Value> {
        self.state.orders.detail(order_code, self.state.shop_id)
    }

    /// Stop accepting, close connections and wait for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
