//! `bench`: how fast and how cheap an execution is, end to end, against the best the machine can
//! do. See docs/benchmarks.md.
//!
//! It starts the fake provider (in this process) with a configurable latency and the service
//! (`integrations serve`, a child process) on the embedded or AWS backend, creates an API key and
//! connections, warms up, then submits executions through the HTTP API in a closed loop
//! (`--concurrency`) or an open loop (`--rate`). Then it makes the same provider calls straight
//! to the fake under the same load: the limit. Everything binds 127.0.0.1 and every loop is
//! bounded in count and time.

mod backlog;
mod load;
mod procfs;
mod prom;
mod receiver;
mod report;
mod service;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

use load::{Mode, Phase, Probe, Target};
use report::{AwsReport, Meta, Overhead, ProcessReport, Report};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    Embedded,
    Aws,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Aws => "aws",
        }
    }
}

/// Benchmark the integrations service end to end against a fake provider, and against the
/// provider alone (the limit).
#[derive(Debug, Clone, Parser)]
#[command(name = "bench", version)]
struct Args {
    /// Executions in the measured phase (and calls in the limit phase).
    #[arg(long, default_value_t = 20_000)]
    executions: usize,
    /// Executions before measuring (connections, caches, SQLite pages warm up).
    #[arg(long, default_value_t = 2_000)]
    warmup: usize,
    /// Closed loop: this many callers, each submitting its next execution when the last ended.
    /// Also the concurrency of the warm-up.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Open loop: submit this many executions per second on a fixed schedule instead.
    #[arg(long)]
    rate: Option<f64>,
    /// Open loop: bound on submissions in flight.
    #[arg(long, default_value_t = 4_096)]
    max_outstanding: usize,
    /// Latency the fake provider adds to every call.
    #[arg(long, default_value_t = 0)]
    provider_latency_ms: u64,
    /// Executions in flight per worker process (`serve --concurrency`).
    #[arg(long, default_value_t = 256)]
    worker_concurrency: usize,
    #[arg(long, value_enum, default_value = "embedded")]
    backend: Backend,
    /// Connections to spread executions over; default: one per 250 executions, under the
    /// catalog's per-connection rate limit of calculate_fee (300 per minute, burst 300).
    #[arg(long)]
    connections: Option<usize>,
    /// waitMs of each submission (the service caps it, 30 s by default).
    #[arg(long, default_value_t = 30_000)]
    wait_ms: u64,
    /// Time bound of each phase's submissions, in seconds.
    #[arg(long, default_value_t = 600)]
    max_seconds: u64,
    /// Submit without waitMs (202) and take outcomes and latencies (createdAt -> finishedAt)
    /// from the records afterwards: the cost of executing, without callers waiting on the API.
    /// Throughput runs until the last execution finished (read from /metrics).
    #[arg(long)]
    no_wait: bool,
    /// One worker process and a full queue: queue the executions (202) while the worker
    /// process (`integrations worker`, beside `integrations api`) is stopped, then time it
    /// draining them. Reports the worker's throughput, provider calls in flight, CPU and memory;
    /// the warm-up is a backlog too. Submissions use `--concurrency`.
    #[arg(long, conflicts_with_all = ["rate", "no_wait"])]
    backlog: bool,
    /// Every execution carries a callbackUrl to a receiver in the bench process (answering 204);
    /// the report counts the callbacks that arrived.
    #[arg(long)]
    callback: bool,
    /// Skip the limit phase (direct calls to the fake).
    #[arg(long)]
    no_limit: bool,
    /// Keep the data directory (database, keys, service.log) and print where it is.
    #[arg(long)]
    keep: bool,
    /// Data directory of the service; default: a new directory under the system's temp dir.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// The `integrations` binary; default: next to this executable.
    #[arg(long)]
    service_bin: Option<PathBuf>,
    /// Extra argument for `integrations serve` (repeatable), e.g. `--service-arg=--lease-ms=60000`.
    #[arg(long = "service-arg", allow_hyphen_values = true)]
    service_args: Vec<String>,
    /// RUST_LOG of the service (logging costs CPU: the default keeps it quiet).
    #[arg(long, default_value = "warn")]
    service_log: String,
    /// AWS backend: a running emulator (moto) for the service
    /// (`--aws-emulator-endpoint` of the service; its resources are provisioned under a fresh
    /// `--aws-prefix`).
    #[arg(long)]
    aws_emulator_endpoint: Option<String>,
    /// AWS backend: start `moto_server` on a free loopback port and point the service at it.
    #[arg(long, conflicts_with = "aws_emulator_endpoint")]
    start_moto: bool,
}

const TENANT: &str = "bench-tenant";
/// Executions per connection over the whole run, under calculate_fee's burst of 300.
const PER_CONNECTION: usize = 250;

/// calculate_fee inputs (API, camelCase); the limit phase sends the GHN bodies the connector
/// makes of them.
fn inputs() -> Vec<Value> {
    vec![
        json!({"toDistrictId": 1461, "toWardCode": "21302", "weight": 1000, "insuranceValue": 1_000_000}),
        json!({"toDistrictId": 1493, "toWardCode": "1A0701", "weight": 500, "length": 20, "width": 15, "height": 10}),
        json!({"fromDistrictId": 1526, "fromWardCode": "40101", "toDistrictId": 1442, "toWardCode": "20109", "weight": 2500, "codValue": 350_000}),
    ]
}

fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// What the GHN connector sends for a calculate_fee input: snake_case fields and the default
/// service type (2, light goods).
fn ghn_fee_body(input: &Value) -> Value {
    let mut body = serde_json::Map::new();
    if let Some(obj) = input.as_object() {
        for (k, v) in obj {
            body.insert(snake(k), v.clone());
        }
    }
    body.insert("service_type_id".into(), json!(2));
    Value::Object(body)
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[bench] {}", msg.as_ref());
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `git rev-parse --short HEAD` of the repository the service binary was built in (its target
/// directory is inside it), whatever the bench's working directory; marked when the work tree
/// differs from it (read-only calls).
fn commit(binary: &std::path::Path) -> String {
    let dir = binary
        .parent()
        .map_or_else(|| ".".to_string(), |d| d.display().to_string());
    let Some(head) = command_output("git", &["-C", &dir, "rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    let dirty = std::process::Command::new("git")
        .args(["-C", &dir, "diff", "--quiet", "HEAD", "--"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.code() == Some(1));
    if dirty {
        format!("{head} + uncommitted changes")
    } else {
        head
    }
}

fn http_client(pool: usize, wait_ms: u64) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(pool)
        .pool_idle_timeout(Duration::from_secs(90))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_millis(wait_ms) + Duration::from_secs(30))
        .build()
        .map_err(|e| format!("http client: {e}"))
}

/// The AWS requests a process made between two readings of its /metrics, per execution.
fn api_requests(
    before: &[prom::Series],
    after: &[prom::Series],
    executions: usize,
) -> Option<report::ApiRequests> {
    let requests = prom::sum(after, "aws_requests_total")?
        - prom::sum(before, "aws_requests_total").unwrap_or(0.0);
    let before = counters(before);
    let by_operation = counters(after)
        .remove("aws_requests_total")
        .map(|after| {
            prom::delta(
                before.get("aws_requests_total").unwrap_or(&BTreeMap::new()),
                &after,
            )
        })
        .unwrap_or_default();
    let capacity = counters(after)
        .remove("aws_consumed_capacity_total")
        .map(|after| {
            prom::delta(
                before
                    .get("aws_consumed_capacity_total")
                    .unwrap_or(&BTreeMap::new()),
                &after,
            )
        });
    Some(report::ApiRequests {
        requests,
        per_queued_execution: requests / executions.max(1) as f64,
        by_operation,
        capacity: capacity_per_execution(capacity.as_ref(), executions),
    })
}

/// DynamoDB write and read units per succeeded execution, from the moves of
/// `aws_consumed_capacity_total` during the phase (reads: GetItem, Query, Scan).
fn capacity_per_execution(
    moved: Option<&BTreeMap<String, f64>>,
    succeeded: usize,
) -> Option<report::Capacity> {
    let moved = moved.filter(|m| !m.is_empty())?;
    let (mut write, mut read) = (0.0, 0.0);
    for (labels, units) in moved {
        let is_read = ["GetItem", "Query", "Scan"]
            .iter()
            .any(|op| labels.contains(&format!("operation={op}")));
        if is_read {
            read += units;
        } else {
            write += units;
        }
    }
    let n = succeeded.max(1) as f64;
    Some(report::Capacity {
        write_units_per_execution: write / n,
        read_units_per_execution: read / n,
    })
}

/// Wait until `executions_finished_total` has grown by `n` since `before` (or the time bound),
/// keeping `remaining` (what has not finished yet) up to date for the samplers.
async fn wait_finished(
    client: &reqwest::Client,
    metrics_url: &str,
    before: &[prom::Series],
    n: usize,
    until: Instant,
    remaining: &std::sync::atomic::AtomicUsize,
) -> bool {
    let base = prom::sum(before, "executions_finished_total").unwrap_or(0.0);
    while Instant::now() < until {
        let now = prom::parse(&get_text(client, metrics_url).await.unwrap_or_default());
        let finished = prom::sum(&now, "executions_finished_total").unwrap_or(base) - base;
        remaining.store(
            n.saturating_sub(finished as usize),
            std::sync::atomic::Ordering::Relaxed,
        );
        if finished >= n as f64 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

async fn get_text(client: &reqwest::Client, url: &str) -> Option<String> {
    let resp = client.get(url).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.text().await.ok()
}

async fn create_connections(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    shop_id: i64,
    token: &str,
    n: usize,
) -> Result<Vec<String>, String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({
            "integrationId": "shipping-ghn",
            "name": format!("bench-{i}"),
            "config": {"shopId": shop_id},
            "credentials": {"apiKey": token},
        });
        let resp = client
            .post(format!("{base}/connections"))
            .bearer_auth(key)
            .header("X-Tenant-Id", TENANT)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("POST /connections: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.as_u16() != 201 && !status.is_success() {
            return Err(format!("POST /connections answered {status}: {text}"));
        }
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("POST /connections: {e}: {text}"))?;
        let id = v
            .get("connectionId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("POST /connections: no connectionId in {text}"))?;
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// Counters worth showing when they move during the measured phase.
const COUNTERS: &[&str] = &[
    "executions_submitted_total",
    "executions_finished_total",
    "executions_retried_total",
    "worker_received_total",
    "worker_acked_total",
    "worker_delays_total",
    "worker_duplicates_total",
    "worker_poison_messages_total",
    "outbox_published_total",
    "http_requests_total",
    "aws_requests_total",
    "aws_consumed_capacity_total",
];

fn counters(series: &[prom::Series]) -> BTreeMap<String, BTreeMap<String, f64>> {
    COUNTERS
        .iter()
        .map(|name| (name.to_string(), prom::by_labels(series, name)))
        .collect()
}

struct Moto {
    _child: tokio::process::Child,
    url: String,
}

async fn start_moto() -> Result<Moto, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port for moto: {e}"))?
        .port();
    // Through the repository's wrapper, which applies DynamoDB requests one at a time as DynamoDB
    // does (plain moto_server lets concurrent conditional writes to one item both pass).
    let wrapper = concat!(env!("CARGO_MANIFEST_DIR"), "/../aws/moto_server.py");
    let mut child = tokio::process::Command::new("python3")
        .arg(wrapper)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start python3 {wrapper}: {e}"))?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{wrapper} exited ({status}): is moto installed? `scripts/moto.sh start` installs it"
            ));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(Moto {
                _child: child,
                url: format!("http://127.0.0.1:{port}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("moto did not answer within 30 s".into())
}

/// The service's AWS settings for an emulator: its endpoint, provisioning on start, and a
/// prefix of this run's own so that runs on one emulator never share a queue or a table.
fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    vec![
        (
            "INTEGRATIONS_AWS_EMULATOR_ENDPOINT".to_string(),
            endpoint.to_string(),
        ),
        ("INTEGRATIONS_AWS_PROVISION".to_string(), "true".to_string()),
        (
            "INTEGRATIONS_AWS_PREFIX".to_string(),
            format!("bench-{}-{millis}", std::process::id()),
        ),
    ]
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    if args.executions == 0 || args.concurrency == 0 || args.worker_concurrency == 0 {
        return Err("--executions, --concurrency and --worker-concurrency must be positive".into());
    }
    if let Some(rate) = args.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err("--rate must be a positive number of executions per second".into());
        }
    }
    let mode = match args.rate {
        Some(rate) => Mode::Open {
            rate,
            max_outstanding: args.max_outstanding.max(1),
        },
        None => Mode::Closed {
            concurrency: args.concurrency,
        },
    };
    let peak_requests = match mode {
        Mode::Closed { concurrency } => concurrency,
        Mode::Open {
            max_outstanding, ..
        } => max_outstanding,
    };
    let mut warnings = Vec::new();
    if let Some(limit) = procfs::open_files_limit() {
        let needed = 2 * peak_requests.max(args.worker_concurrency) as u64 + 256;
        if limit < needed {
            warnings.push(format!(
                "open-files limit {limit} is below ~{needed}: raise `ulimit -n` or expect connection errors"
            ));
        }
    }

    let ticks = procfs::clock_ticks();
    let binary = args
        .service_bin
        .clone()
        .unwrap_or_else(service::default_binary);
    if !binary.exists() {
        return Err(format!(
            "service binary {} not found: build it with `cargo build --release --bin integrations --bin bench`, or pass --service-bin",
            binary.display()
        ));
    }
    let latency = Duration::from_millis(args.provider_latency_ms);
    let fake = Arc::new(
        fake_provider::start(fake_provider::FakeConfig {
            latency,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("fake provider: {e}"))?,
    );
    log(format!(
        "fake provider at {} (latency {} ms)",
        fake.base_url(),
        args.provider_latency_ms
    ));

    let data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0);
            std::env::temp_dir().join(format!(
                "integrations-bench-{}-{millis}",
                std::process::id()
            ))
        }
    };
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("data dir {}: {e}", data_dir.display()))?;

    let _moto;
    let mut env = Vec::new();
    if args.backend == Backend::Aws {
        let endpoint = if args.start_moto {
            let m = start_moto().await?;
            log(format!("moto at {}", m.url));
            let url = m.url.clone();
            _moto = Some(m);
            Some(url)
        } else {
            args.aws_emulator_endpoint.clone()
        };
        if let Some(endpoint) = endpoint {
            env = aws_env(&endpoint);
        }
    }
    let launcher = service::Launcher {
        binary,
        data_dir: data_dir.clone(),
        backend: args.backend,
        provider_base_url: fake.base_url(),
        log_filter: args.service_log.clone(),
        env,
    };

    let result = bench(&args, mode, &launcher, fake.clone(), ticks, warnings).await;
    if args.keep || result.is_err() {
        log(format!("data directory kept: {}", data_dir.display()));
    } else if args.data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    let report = result?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", report::text(&report));
    }
    Ok(())
}

async fn bench(
    args: &Args,
    mode: Mode,
    launcher: &service::Launcher,
    fake: Arc<fake_provider::FakeProvider>,
    ticks: f64,
    mut warnings: Vec<String>,
) -> Result<Report, String> {
    let latency = Duration::from_millis(args.provider_latency_ms);
    let max_time = Duration::from_secs(args.max_seconds);
    let pool = match mode {
        Mode::Closed { concurrency } => concurrency,
        Mode::Open {
            max_outstanding, ..
        } => max_outstanding,
    }
    .max(args.concurrency);
    let client = http_client(pool, args.wait_ms)?;

    let key = launcher.create_key(TENANT).await?;
    // The process serving the API, and the worker process in backlog mode.
    let (mut svc, mut worker) = if args.backlog {
        let api = launcher.api().await?;
        log(format!("api pid {} at {}", api.pid, api.url));
        let worker = launcher
            .worker(args.worker_concurrency, &args.service_args)
            .await?;
        log(format!(
            "worker pid {} with metrics at {}",
            worker.pid, worker.url
        ));
        (api, Some(worker))
    } else {
        let svc = launcher
            .serve(args.worker_concurrency, &args.service_args)
            .await?;
        log(format!("service pid {} at {}", svc.pid, svc.url));
        (svc, None)
    };
    // The process measured: the one running the workers.
    let (pid, measured_url, measured_log) = match &worker {
        Some(w) => (w.pid.clone(), w.url.clone(), w.log_path.clone()),
        None => (svc.pid.clone(), svc.url.clone(), svc.log_path.clone()),
    };
    let outcome = async {
        let n_conns = args
            .connections
            .unwrap_or_else(|| (args.warmup + args.executions).div_ceil(PER_CONNECTION))
            .max(1);
        let conns = create_connections(
            &client,
            &svc.url,
            &key,
            fake.shop_id(),
            fake.token(),
            n_conns,
        )
        .await?;
        log(format!("{} connections created", conns.len()));

        // Body i % len: consecutive executions go to different connections.
        let inputs = inputs();
        let receiver = match args.callback {
            true => Some(receiver::Receiver::start()?),
            false => None,
        };
        let callback_url = receiver.as_ref().map(|r| r.url.clone());
        let service_target = |wait_ms: u64| {
            let mut bodies = Vec::with_capacity(inputs.len() * conns.len());
            for input in &inputs {
                for c in &conns {
                    let mut b = json!({"connectionId": c, "actionId": "calculate_fee", "input": input, "waitMs": wait_ms});
                    if let Some(url) = &callback_url {
                        b["callbackUrl"] = json!(url);
                    }
                    bodies.push(Bytes::from(b.to_string()));
                }
            }
            Arc::new(Target::Service {
                client: client.clone(),
                base: svc.url.clone(),
                key: key.clone(),
                tenant: TENANT.to_string(),
                bodies,
                wait_ms,
            })
        };
        // The warm-up always waits, so that the measured phase starts from a drained queue.
        let target = service_target(args.wait_ms);
        let metrics_url = format!("{measured_url}/metrics");
        let backlog = worker.as_ref().map(|w| backlog::Backlog {
            client: &client,
            worker: w,
            metrics_url: metrics_url.clone(),
            target: service_target(0),
            concurrency: args.concurrency,
            max_time,
        });

        if let (Some(b), true) = (&backlog, args.warmup > 0) {
            log(format!("warm-up: a backlog of {} executions", args.warmup));
            let before = prom::parse(&get_text(&client, &metrics_url).await.unwrap_or_default());
            let fill = b.fill(0, args.warmup).await?;
            let drained = b.drain(&before, fill.accepted(), vec![]).await;
            log(format!("warm-up: {} queued, drained in {:.2} s", fill.accepted(), drained.elapsed.as_secs_f64()));
            if fill.accepted() == 0 || !drained.complete {
                return Err(format!(
                    "the warm-up backlog did not drain: {:?}\n{}",
                    fill.outcomes(),
                    service::tail(&measured_log, 20)
                ));
            }
        } else if args.warmup > 0 {
            log(format!("warm-up: {} executions at concurrency {}", args.warmup, args.concurrency));
            let w = load::run(
                target.clone(),
                Mode::Closed {
                    concurrency: args.concurrency,
                },
                0,
                args.warmup,
                max_time,
                vec![],
            )
            .await;
            let ok = w.succeeded();
            log(format!("warm-up: {ok} of {} succeeded in {:.2} s", args.warmup, w.elapsed.as_secs_f64()));
            if ok == 0 {
                return Err(format!(
                    "no warm-up execution succeeded: {:?}\n{}",
                    w.outcomes(),
                    service::tail(&measured_log, 20)
                ));
            }
        }

        let metrics_before = prom::parse(&get_text(&client, &metrics_url).await.unwrap_or_default());
        // Backlog: queue everything first, while the worker is stopped (and its counters still).
        let api_metrics = format!("{}/metrics", svc.url);
        let (fill, api_requests) = match &backlog {
            Some(b) => {
                log(format!("filling the queue: {} executions", args.executions));
                let before = prom::parse(&get_text(&client, &api_metrics).await.unwrap_or_default());
                let fill = b.fill(args.warmup, args.executions).await?;
                let after = prom::parse(&get_text(&client, &api_metrics).await.unwrap_or_default());
                log(format!(
                    "{} queued in {:.2} s; letting the worker go",
                    fill.accepted(),
                    fill.elapsed.as_secs_f64()
                ));
                let api = api_requests(&before, &after, fill.accepted());
                (Some(fill), api)
            }
            None => (None, None),
        };
        let cpu_before = procfs::cpu_seconds(&pid, ticks);
        let me = std::process::id().to_string();
        let bench_cpu_before = procfs::cpu_seconds(&me, ticks);
        let machine_before = procfs::MachineCpu::read();

        log(format!("measured phase: {} executions", args.executions));
        let probes: Vec<Probe> = {
            let fake = fake.clone();
            let pid = pid.clone();
            vec![
                Box::new(move || Some(fake.stats().calls.values().sum::<u64>() as f64)),
                Box::new({
                    let pid = pid.clone();
                    move || procfs::vm_mib(&pid, "VmRSS")
                }),
                Box::new(move || procfs::status_number(&pid, "Threads")),
            ]
        };
        let started = Instant::now();
        let measured = if let (Some(b), Some(fill)) = (&backlog, fill) {
            let drained = b.drain(&metrics_before, fill.accepted(), probes).await;
            if !drained.complete {
                warnings.push(
                    "--backlog: not every queued execution finished within --max-seconds".into(),
                );
            }
            Phase {
                elapsed: drained.elapsed,
                timeline: drained.timeline,
                ..fill
            }
        } else if args.no_wait {
            let submitted = load::run(
                service_target(0),
                mode,
                args.warmup,
                args.executions,
                max_time,
                probes,
            )
            .await;
            let accepted = submitted.accepted();
            log(format!(
                "submitted {accepted} in {:.2} s; waiting for them to finish",
                submitted.elapsed.as_secs_f64()
            ));
            let drained = wait_finished(
                &client,
                &metrics_url,
                &metrics_before,
                accepted,
                started + max_time + Duration::from_secs(60),
                &std::sync::atomic::AtomicUsize::new(accepted),
            )
            .await;
            if !drained {
                warnings.push(
                    "--no-wait: not every accepted execution finished within --max-seconds".into(),
                );
            }
            submitted.with_end(started.elapsed())
        } else {
            load::run(target.clone(), mode, args.warmup, args.executions, max_time, probes).await
        };

        let machine_after = procfs::MachineCpu::read();
        let cpu_after = procfs::cpu_seconds(&pid, ticks);
        let bench_cpu_after = procfs::cpu_seconds(&me, ticks);
        let peak_rss = procfs::vm_mib(&pid, "VmHWM");
        let metrics_after = prom::parse(&get_text(&client, &metrics_url).await.unwrap_or_default());
        if !svc.alive() || !worker.as_mut().is_none_or(service::Service::alive) {
            warnings.push(format!(
                "the service exited during the run\n{}",
                service::tail(&measured_log, 20)
            ));
        }
        // --no-wait: the outcomes and latencies come from the records (createdAt -> finishedAt),
        // read after the measurement so that the reads cost nothing measured.
        let measured = if args.no_wait || args.backlog {
            let ids: Vec<String> = measured
                .samples
                .iter()
                .filter_map(|s| match &s.outcome {
                    load::Outcome::Accepted(id) => Some(id.clone()),
                    _ => None,
                })
                .collect();
            let n = ids.len();
            let records = Arc::new(Target::Record {
                client: client.clone(),
                base: svc.url.clone(),
                key: key.clone(),
                tenant: TENANT.to_string(),
                ids,
            });
            let read = load::run(records, Mode::Closed { concurrency: args.concurrency.min(64) }, 0, n, max_time, vec![]).await;
            measured.with_records(read)
        } else {
            measured
        };
        let service = report::phase_report(&measured, args.executions, latency, Some(0));
        log(format!(
            "measured phase: {} of {} succeeded, {:.1}/s",
            service.succeeded, args.executions, service.succeeded_per_s
        ));

        let cpu = cpu_before.zip(cpu_after).map(|(b, a)| a - b);
        let process = ProcessReport {
            peak_rss_mib: peak_rss,
            peak_rss_in_phase_mib: measured
                .timeline
                .iter()
                .filter_map(|(_, _, v)| v.get(1).copied().flatten())
                .reduce(f64::max),
            peak_threads: measured
                .timeline
                .iter()
                .filter_map(|(_, _, v)| v.get(2).copied().flatten())
                .reduce(f64::max),
            cpu_seconds: cpu,
            cpu_seconds_per_1000: cpu
                .filter(|_| service.completed > 0)
                .map(|c| c * 1000.0 / service.completed as f64),
            machine_busy_percent: machine_after
                .zip(machine_before)
                .and_then(|(a, b)| a.busy_since(&b))
                .map(|x| x * 100.0),
            bench_cpu_seconds: bench_cpu_before.zip(bench_cpu_after).map(|(b, a)| a - b),
            other_cpu_seconds: machine_after
                .zip(machine_before)
                .and_then(|(a, b)| a.busy_seconds_since(&b, ticks))
                .zip(cpu.zip(bench_cpu_before.zip(bench_cpu_after)))
                .map(|(busy, (svc, (b0, b1)))| (busy - svc - (b1 - b0)).max(0.0)),
        };

        let before = counters(&metrics_before);
        let service_counters: BTreeMap<_, _> = counters(&metrics_after)
            .into_iter()
            .map(|(name, after)| {
                let d = prom::delta(before.get(&name).unwrap_or(&BTreeMap::new()), &after);
                (name, d)
            })
            .filter(|(_, d)| !d.is_empty())
            .collect();
        if metrics_after.is_empty() {
            warnings.push("GET /metrics answered nothing: no service counters".into());
        }
        if let Some(delays) = service_counters.get("worker_delays_total") {
            warnings.push(format!(
                "the worker delayed executions for rate limits or breakers during the phase ({delays:?}): latency includes those waits"
            ));
        }

        let aws = (args.backend == Backend::Aws).then(|| {
            let before = prom::sum(&metrics_before, "aws_requests_total");
            let after = prom::sum(&metrics_after, "aws_requests_total");
            match after {
                Some(after) => {
                    let n = after - before.unwrap_or(0.0);
                    AwsReport {
                        requests: Some(n),
                        requests_per_succeeded_execution: (service.succeeded > 0)
                            .then(|| n / service.succeeded as f64),
                        by_operation: service_counters
                            .get("aws_requests_total")
                            .cloned()
                            .unwrap_or_default(),
                        capacity: capacity_per_execution(
                            service_counters.get("aws_consumed_capacity_total"),
                            service.succeeded,
                        ),
                        api: api_requests.clone(),
                        note: "every SDK request attempt during the measured phase (idle polling included), over succeeded executions".into(),
                    }
                }
                None => AwsReport {
                    note: "the service exports no aws_requests_total metric yet: AWS requests per execution UNAVAILABLE".into(),
                    ..Default::default()
                },
            }
        });

        if let Some(r) = &receiver {
            // Every execution so far (warm-up included) asked for a callback; they trail the
            // results by a moment.
            let expected = (args.warmup + service.succeeded) as u64;
            let got = r.wait_for(expected, Duration::from_secs(60)).await;
            log(format!("callbacks received: {got} of {expected}"));
            if got < expected {
                warnings.push(format!(
                    "{got} callbacks arrived of {expected} expected within 60 s of the phase's end"
                ));
            }
        }

        Ok::<_, String>((service, process, service_counters, aws, measured))
    }
    .await;
    if let Some(w) = worker {
        w.stop(Duration::from_secs(10)).await;
    }
    svc.stop(Duration::from_secs(10)).await;
    let (service, process, service_counters, aws, _measured) = outcome?;

    let limit = if args.no_limit {
        None
    } else {
        let bodies: Vec<Bytes> = inputs()
            .iter()
            .map(|i| Bytes::from(ghn_fee_body(i).to_string()))
            .collect();
        let direct = Arc::new(Target::Provider {
            client: client.clone(),
            url: format!("{}/v2/shipping-order/fee", fake.base_url()),
            token: fake.token().to_string(),
            shop_id: fake.shop_id().to_string(),
            bodies,
        });
        let warm = args.warmup.min(2_000);
        if warm > 0 {
            load::run(
                direct.clone(),
                Mode::Closed {
                    concurrency: args.concurrency,
                },
                0,
                warm,
                max_time,
                vec![],
            )
            .await;
        }
        log(format!(
            "limit phase: {} direct calls to the fake",
            args.executions
        ));
        let probes: Vec<Probe> = {
            let fake = fake.clone();
            vec![Box::new(move || {
                Some(fake.stats().calls.values().sum::<u64>() as f64)
            })]
        };
        let phase = load::run(direct, mode, 0, args.executions, max_time, probes).await;
        Some(report::phase_report(
            &phase,
            args.executions,
            latency,
            Some(0),
        ))
    };

    let ratio_to_limit = limit
        .as_ref()
        .filter(|l| l.succeeded_per_s > 0.0)
        .map(|l| service.succeeded_per_s / l.succeeded_per_s);
    let overhead_ms = limit
        .as_ref()
        .and_then(|l| l.latency_ms)
        .zip(service.latency_ms)
        .map(|(p, o)| Overhead {
            p50: o.p50 - p.p50,
            p95: o.p95 - p.p95,
            p99: o.p99 - p.p99,
        });
    let expected_from_in_flight_per_s = service
        .provider_in_flight_mean
        .filter(|_| !latency.is_zero() && !args.no_wait)
        .map(|n| n / latency.as_secs_f64());
    let failed = service.completed - service.succeeded;
    if failed > 0 || service.not_started > 0 {
        warnings.push(format!(
            "{failed} executions did not succeed and {} were not started: see outcomes",
            service.not_started
        ));
    }

    let (concurrency, rate_per_s, max_outstanding, mode_name) = match mode {
        Mode::Closed { concurrency } if args.backlog => (Some(concurrency), None, None, "backlog"),
        Mode::Closed { concurrency } => (Some(concurrency), None, None, "closed"),
        Mode::Open {
            rate,
            max_outstanding,
        } => (None, Some(rate), Some(max_outstanding), "open"),
    };
    let meta = Meta {
        date: command_output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]).unwrap_or_default(),
        commit: commit(&launcher.binary),
        service_binary_built: std::fs::metadata(&launcher.binary)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
            .unwrap_or_default(),
        cpus: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model: procfs::cpu_model().unwrap_or_default(),
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        backend: args.backend.as_str().into(),
        mode: mode_name.into(),
        concurrency,
        rate_per_s,
        max_outstanding,
        provider_latency_ms: args.provider_latency_ms,
        worker_concurrency: args.worker_concurrency,
        no_wait: args.no_wait,
        executions: args.executions,
        warmup: args.warmup,
        connections: args
            .connections
            .unwrap_or_else(|| (args.warmup + args.executions).div_ceil(PER_CONNECTION))
            .max(1),
        data_dir: launcher.data_dir.display().to_string(),
    };
    Ok(Report {
        meta,
        service,
        limit,
        ratio_to_limit,
        overhead_ms,
        expected_from_in_flight_per_s,
        process,
        service_counters,
        aws,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghn_body_mirrors_the_connector() {
        let body =
            ghn_fee_body(&json!({"toDistrictId": 1461, "toWardCode": "21302", "weight": 1000}));
        assert_eq!(
            body,
            json!({"to_district_id": 1461, "to_ward_code": "21302", "weight": 1000, "service_type_id": 2})
        );
    }

    #[test]
    fn backlog_excludes_the_open_loop_and_no_wait() {
        assert!(
            Args::try_parse_from(["bench", "--backlog", "--worker-concurrency", "1500"])
                .is_ok_and(|a| a.backlog && a.worker_concurrency == 1500)
        );
        assert!(Args::try_parse_from(["bench", "--backlog", "--rate", "100"]).is_err());
        assert!(Args::try_parse_from(["bench", "--backlog", "--no-wait"]).is_err());
    }

    #[test]
    fn flags_parse() {
        let a = Args::try_parse_from([
            "bench",
            "--rate",
            "500",
            "--service-arg=--lease-ms=60000",
            "--provider-latency-ms",
            "200",
        ]);
        let a = a.map_err(|e| e.to_string());
        assert!(a.is_ok(), "{a:?}");
        if let Ok(a) = a {
            assert_eq!(a.rate, Some(500.0));
            assert_eq!(a.service_args, vec!["--lease-ms=60000".to_string()]);
        }
    }
}
