//! Test harness: the real service (HTTP API + workers on the embedded backend, started through the
//! same code path as the `integrations serve` command) against the fake GHN server, with helpers
//! to call the API as a client would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use dispatcher::config::{Cli, Command};
use dispatcher::service::{self, Running};
use fake_provider::{FakeConfig, FakeProvider};
use integrations_core::backend::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub mod fleet;
pub mod receiver;

pub const TOKEN: &str = "ghn-token-7c1f0e9a4b";
pub const SHOP_ID: i64 = 885;

/// Every log line of the test process, for scanning.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Capture every log line (debug level and up) of this test process.
pub fn capture_logs() -> LogBuffer {
    let buf = LogBuffer::default();
    let writer = buf.clone();
    let _ = tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,h2=info,reqwest=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init();
    buf
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub fake: FakeProvider,
    pub base: String,
    /// A key scoped to tenants t1 and t2.
    pub key: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    running: Option<Running>,
    args: Vec<String>,
    /// Every response body seen, for the credential scan.
    pub responses: Arc<Mutex<Vec<String>>>,
}

/// Service flags tuned for tests: fast retries and leases.
pub const FAST: &[&str] = &[
    "--backoff-base-ms",
    "50",
    "--backoff-max-ms",
    "200",
    "--lease-ms",
    "2000",
    "--poison-delay-ms",
    "100",
];

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(FakeConfig::default(), &[]).await
    }

    /// Start the fake provider and the service; `extra` are additional `serve` flags.
    pub async fn start_with(mut fake: FakeConfig, extra: &[&str]) -> Self {
        fake.token = TOKEN.to_string();
        fake.shop_id = SHOP_ID;
        let fake = fake_provider::start(fake).await.expect("fake provider");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut args: Vec<String> = vec![
            "integrations".into(),
            "--data-dir".into(),
            dir.path().display().to_string(),
            "--allow-private-urls".into(),
            "--provider-base-url".into(),
            format!("shipping-ghn={}", fake.base_url()),
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(FAST.iter().map(|s| s.to_string()));
        args.extend(payment_base_url_args(&fake));
        args.extend(shipping_base_url_args(&fake));
        args.extend(ecommerce_base_url_args(&fake));
        args.extend(extra.iter().map(|s| s.to_string()));
        let running = start_service(&args).await;
        let base = format!("http://{}", running.addr.expect("API address"));
        let backend = running.backend.clone();
        let key = create_key(&backend, "flows", Some(vec!["t1".into(), "t2".into()])).await;
        Self {
            dir,
            fake,
            base,
            key,
            http: reqwest::Client::new(),
            backend,
            running: Some(running),
            args,
            responses: Arc::default(),
        }
    }

    /// Stop the service gracefully and start it again on the same data.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        let running = start_service(&self.args).await;
        self.base = format!("http://{}", running.addr.expect("API address"));
        self.backend = running.backend.clone();
        self.running = Some(running);
    }

    /// Stop the service; the data directory lives as long as the returned handle.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        self.dir
    }

    /// A request as the `flows` caller for `tenant`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        tenant: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with_key(method, path, Some(&self.key), Some(tenant), body)
            .await
    }

    pub async fn call_with_key(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(t) = tenant {
            req = req.header("x-tenant-id", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        self.responses.lock().expect("responses").push(text.clone());
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// Create a GHN connection for `tenant`; returns its id.
    pub async fn create_connection(&self, tenant: &str) -> String {
        let (status, body) = self
            .call(
                Method::POST,
                "/connections",
                tenant,
                Some(json!({
                    "integrationId": "shipping-ghn",
                    "name": "GHN test shop",
                    "config": {"shopId": SHOP_ID, "environment": "sandbox"},
                    "credentials": {"apiKey": TOKEN}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["connectionId"].as_str().expect("id").to_string()
    }

    /// Submit an action; returns (status, body).
    pub async fn execute(&self, tenant: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/execute", tenant, Some(body))
            .await
    }

    /// Poll until the execution is terminal (bounded). A producer's execution may not be
    /// recorded yet: 404 is retried too.
    pub async fn wait_terminal(&self, tenant: &str, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = self
                .call(
                    Method::GET,
                    &format!("/executions/{id}?waitMs=5000"),
                    tenant,
                    None,
                )
                .await;
            assert!(
                status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                "{body}"
            );
            if status == StatusCode::NOT_FOUND {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let s = body["status"].as_str().unwrap_or("queued");
            if !matches!(s, "queued" | "running") {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "execution {id} still {s} after 60 s"
            );
        }
    }

    /// Inject a fault into the fake provider through its control endpoint.
    pub async fn fault(&self, fault: Value) {
        let url = format!("{}/__faults", self.fake_root());
        let resp = self
            .http
            .post(url)
            .json(&fault)
            .send()
            .await
            .expect("fault");
        assert!(resp.status().is_success(), "fault injection refused");
    }

    /// The service's Prometheus text from `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// One series' value in the service's `/metrics` (0 when it is not exported yet), e.g.
    /// `executions_retried_total{code="PROVIDER_TIMEOUT"}`.
    pub async fn metric(&self, series: &str) -> f64 {
        let prefix = format!("{series} ");
        self.metrics()
            .await
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }

    /// How many times the fake served `path` (under the GHN prefix).
    pub async fn provider_calls(&self, path: &str) -> u64 {
        self.fake.stats().calls(path)
    }

    pub fn fake_root(&self) -> String {
        self.fake
            .base_url()
            .trim_end_matches(fake_provider::GHN_PREFIX)
            .to_string()
    }
}

/// The README's trigger mapping: a Shopify order (its shipping address and line items) → GHN
/// `create_order`'s input, as JMESPath expressions.
pub fn shopify_order_to_ghn_input() -> Value {
    json!({
        "toName": "data.shipping_address.name",
        "toPhone": "data.shipping_address.phone",
        "toAddress": "data.shipping_address.address1",
        "toWardCode": "data.shipping_address.ward_code",
        "toDistrictId": "data.shipping_address.district_id",
        "weight": "sum(data.line_items[].grams)",
        "requiredNote": "'KHONGCHOXEMHANG'",
        "paymentTypeId": "`1`",
        "items": "data.line_items[].{name: title, quantity: quantity, weight: grams}"
    })
}

/// `--provider-base-url` flags pointing the payment integrations (MoMo, ZaloPay, VNPay,
/// Stripe) at the fake, which serves each under its own prefix. Global flags, so they may
/// follow the subcommand.
pub fn payment_base_url_args(fake: &FakeProvider) -> Vec<String> {
    [
        ("payment-momo", fake_provider::MOMO_PREFIX),
        ("payment-zalopay", fake_provider::ZALOPAY_PREFIX),
        ("payment-vnpay", fake_provider::VNPAY_PREFIX),
        ("payment-stripe", fake_provider::STRIPE_PREFIX),
    ]
    .iter()
    .flat_map(|(id, prefix)| {
        [
            "--provider-base-url".to_string(),
            format!("{id}={}{prefix}", fake.url()),
        ]
    })
    .collect()
}

/// `--provider-base-url` flags pointing the shipping integrations (and Shopify, HubSpot) at
/// the fake. GHN is repeated here because clap keeps only the occurrences of a global flag
/// that follow the subcommand once any do, which would drop the one before `serve`.
pub fn shipping_base_url_args(fake: &FakeProvider) -> Vec<String> {
    [
        format!("shipping-ghn={}", fake.base_url()),
        format!(
            "shipping-ghtk={}",
            fake_provider::shipping::ghtk_base_url(fake)
        ),
        format!(
            "shipping-viettelpost={}",
            fake_provider::shipping::viettelpost_base_url(fake)
        ),
        format!(
            "ecommerce-shopify={}",
            fake_provider::ecommerce::shopify_base_url(fake)
        ),
        format!("crm-hubspot={}", fake_provider::crm::hubspot_base_url(fake)),
    ]
    .into_iter()
    .flat_map(|flag| ["--provider-base-url".to_string(), flag])
    .collect()
}

/// `--provider-base-url` flags pointing the shop integrations at the fake: each replaces the
/// API base under the shop's own URL (the connection's store URL is still checked).
pub fn ecommerce_base_url_args(fake: &FakeProvider) -> Vec<String> {
    [
        format!(
            "ecommerce-woocommerce={}",
            fake_provider::ecommerce::woocommerce_api_url(fake)
        ),
        format!(
            "ecommerce-sapo={}",
            fake_provider::ecommerce::sapo_base_url(fake)
        ),
        format!(
            "ecommerce-haravan={}",
            fake_provider::ecommerce::haravan_base_url(fake)
        ),
        format!(
            "ecommerce-prestashop={}",
            fake_provider::ecommerce::prestashop_api_url(fake)
        ),
    ]
    .into_iter()
    .flat_map(|flag| ["--provider-base-url".to_string(), flag])
    .collect()
}

pub async fn start_service(args: &[String]) -> Running {
    let cli = Cli::try_parse_from(args).expect("valid arguments");
    match &cli.command {
        Command::Serve { api, worker } => service::start(&cli.common, Some(api), Some(worker))
            .await
            .expect("service starts"),
        other => panic!("harness runs `serve`, not {other:?}"),
    }
}

/// A key for `service`, and the service's callback signing secret (as `create-key` does).
pub async fn create_key(backend: &Backend, service: &str, tenants: Option<Vec<String>>) -> String {
    let (key, record) = dispatcher::auth::generate_key(service, tenants);
    backend
        .api_keys
        .put_api_key(&record)
        .await
        .expect("store key");
    caller_secrets(backend)
        .ensure(service)
        .await
        .expect("callback secret");
    key
}

/// The caller services' signing secrets, read straight from the store.
pub fn caller_secrets(backend: &Backend) -> integrations_core::caller_secrets::CallerSecrets {
    integrations_core::caller_secrets::CallerSecrets::new(backend.secrets.clone(), Duration::ZERO)
}

/// A valid calculate_fee input.
pub fn fee_input() -> Value {
    json!({"fromDistrictId": 1442, "toDistrictId": 1485, "toWardCode": "1A0101", "weight": 500})
}

/// A valid create_order input, with PII the sanitizer must mask.
pub fn order_input() -> Value {
    json!({
        "toName": "Nguyen Van A",
        "toPhone": "0912345678",
        "toAddress": "12 Ly Thuong Kiet, Hoan Kiem",
        "toWardCode": "1A0101",
        "toDistrictId": 1485,
        "weight": 500,
        "requiredNote": "KHONGCHOXEMHANG",
        "paymentTypeId": 1,
        "items": [{"name": "T-shirt", "quantity": 1, "weight": 500}]
    })
}

/// A child process that is killed when dropped, so a failing test leaves no server behind.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    /// SIGKILL now, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Spawn a long-running command with stdout piped and return it with its first stdout line
/// (the "listening on" line of `serve` and `api`, "worker running" of `worker`).
pub fn spawn_reading_first_line(command: &mut std::process::Command) -> (KillOnDrop, String) {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    (KillOnDrop(child), line.trim().to_string())
}

/// An API client for a service running as a separate process, acting for tenant `t1`.
pub struct ApiClient {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
}

impl ApiClient {
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        self.call_as("t1", method, path, body).await
    }

    /// A GHN connection of `tenant` against the fake (its token and shop), named `name`.
    pub async fn create_ghn_connection(&self, tenant: &str, name: &str) -> String {
        let body = json!({
            "integrationId": "shipping-ghn", "name": name,
            "config": {"shopId": SHOP_ID}, "credentials": {"apiKey": TOKEN}
        });
        let b = self
            .call_as(tenant, Method::POST, "/connections", Some(body))
            .await;
        b["connectionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no connection: {b}"))
            .to_string()
    }

    /// As [`ApiClient::call`], for `tenant` (the key must cover it).
    pub async fn call_as(
        &self,
        tenant: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .header("x-tenant-id", tenant);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    /// Poll until the execution is terminal (bounded); a producer's execution not recorded yet
    /// answers 404 and is waited for too.
    pub async fn terminal(&self, id: &str) -> Value {
        self.terminal_as("t1", id).await
    }

    /// As [`ApiClient::terminal`], for `tenant`.
    pub async fn terminal_as(&self, tenant: &str, id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let path = format!("/executions/{id}?waitMs=5000");
            let e = self.call_as(tenant, Method::GET, &path, None).await;
            let s = e["status"].as_str().unwrap_or("queued");
            if !matches!(s, "queued" | "running") {
                return e;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} stuck: {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A callback receiver that never answers its first request (the deliverer is killed while it
/// waits) and answers 204 afterwards; it records every request.
pub async fn hanging_receiver() -> (String, receiver::Log) {
    receiver::start(true).await
}

/// A callback receiver answering 204 at once; it records every request.
pub async fn recording_receiver() -> (String, receiver::Log) {
    receiver::start(false).await
}
