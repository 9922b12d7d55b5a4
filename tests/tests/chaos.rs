//! Chaos (issue 10): executions — reads and writes, each with a callback — run while two worker
//! processes are SIGKILLed at random moments and restarted. Every execution ends terminal
//! exactly once (one result event id), no write takes effect twice at the provider (the fake
//! counts side effects per idempotency key), no callback and no event is lost; repeated
//! deliveries are counted and printed. One body runs on one embedded file and on a stack on moto
//! (events read through an EventBridge rule into a queue, as a consumer reads them).
//! `CHAOS_SEED` replays a run, `CHAOS_EXECUTIONS` resizes it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend_aws::testing::{moto, Subscriber};
use backend_aws::AwsConfig;
use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};
use fake_provider::FakeProvider;
use integration_tests::fleet::{fake_ghn, Fleet};
use integration_tests::{fee_input, order_input, ApiClient, KillOnDrop};
use integrations_core::model::{EventType, EVENT_SOURCE};
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
/// How hard a chaos run drives its backend.
struct Pace {
    /// The worker's command line (`worker_args`).
    worker: Vec<&'static str>,
    /// The pause between two kills, at random in this range.
    pause_ms: std::ops::Range<u64>,
}

/// The worker's command line. The lease is short, so that a killed worker's executions are taken
/// over soon, yet longer than a completion takes on the backend (else the workers take
/// executions from each other); the concurrency is what the backend serves without slowing
/// every request down.
fn worker_args(
    lease_ms: &'static str,
    concurrency: &'static str,
    max_attempts: &'static str,
) -> Vec<&'static str> {
    vec![
        "worker",
        "--concurrency",
        concurrency,
        "--lease-ms",
        lease_ms,
        "--backoff-base-ms",
        "50",
        "--backoff-max-ms",
        "1000",
        // Room for an execution killed under several times in a row.
        "--max-attempts",
        max_attempts,
        // A killed deliverer's callback leases (twice this) end soon.
        "--callback-timeout-ms",
        "1000",
        "--no-catalog-rate-limits",
    ]
}

/// SplitMix64: a seeded, reproducible choice of kill moments and victims.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a chaos run left to check.
struct Run {
    /// Execution id → whether it is a write (create_order).
    executions: BTreeMap<String, bool>,
    callbacks: integration_tests::receiver::Log,
    kills: usize,
}

/// Submit `n` executions through the API (with `key`) while the chaos loop kills and restarts
/// the workers; returns once every execution is terminal and succeeded, with the workers still
/// running.
async fn run_chaos(
    fleet: Arc<Fleet>,
    key: String,
    pace: Pace,
    n: usize,
) -> (Run, Vec<KillOnDrop>, KillOnDrop) {
    let seed = env_or("CHAOS_SEED", rand_seed());
    println!("chaos seed: {seed} (CHAOS_SEED={seed} replays the kills)");
    let (api_proc, base) = fleet.start_api();
    let api = ApiClient {
        http: reqwest::Client::new(),
        base,
        key,
    };
    let conn = api.create_ghn_connection("t1", "chaos").await;
    let (url, callbacks) = integration_tests::recording_receiver().await;

    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (fleet, stop) = (fleet.clone(), stop.clone());
        tokio::spawn(async move {
            let mut rng = Rng(seed);
            let Pace { worker, pause_ms } = pace;
            let mut workers: Vec<KillOnDrop> = (0..2).map(|_| fleet.spawn(&worker).0).collect();
            let mut kills = 0;
            while !stop.load(Ordering::SeqCst) {
                let pause = pause_ms.start + rng.below(pause_ms.end - pause_ms.start);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                let victim = rng.below(2) as usize;
                workers[victim].kill();
                kills += 1;
                let (fleet, worker) = (fleet.clone(), worker.clone());
                workers[victim] = tokio::task::spawn_blocking(move || fleet.spawn(&worker).0)
                    .await
                    .expect("restart");
            }
            (workers, kills)
        })
    };

    let started = Instant::now();
    let mut executions = BTreeMap::new();
    for chunk in 0..n.div_ceil(50) {
        let submits = (chunk * 50..n.min(chunk * 50 + 50)).map(|i| {
            let write = i % 2 == 1;
            let (action, input) = if write {
                ("create_order", order_input())
            } else {
                ("calculate_fee", fee_input())
            };
            let api = &api;
            let body = json!({"connectionId": conn, "actionId": action, "input": input,
                              "callbackUrl": url});
            async move { (write, api.call(Method::POST, "/execute", Some(body)).await) }
        });
        for (write, b) in futures::future::join_all(submits).await {
            let id = b["executionId"].as_str().unwrap_or_else(|| panic!("{b}"));
            executions.insert(id.to_string(), write);
        }
    }
    for id in executions.keys() {
        let e = api.terminal(id).await;
        assert_eq!(e["status"], "succeeded", "{e}");
    }
    println!("every execution terminal after {:?}", started.elapsed());
    stop.store(true, Ordering::SeqCst);
    let (workers, kills) = chaos.await.expect("chaos loop");
    let run = Run {
        executions,
        callbacks,
        kills,
    };
    (run, workers, api_proc)
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
}

/// Each write took effect once at the provider; prints how many reached it more than once.
fn check_writes(fake: &FakeProvider, run: &Run) {
    let stats = fake.stats();
    let mut repeated = 0;
    for (id, _) in run.executions.iter().filter(|(_, write)| **write) {
        let w = stats
            .writes_by_key
            .get(id)
            .unwrap_or_else(|| panic!("write {id} never reached the provider"));
        assert_eq!(w.effects, 1, "write {id}: {w:?}");
        repeated += usize::from(w.requests > 1);
    }
    println!(
        "writes whose request reached the provider again (refused as a duplicate key): {repeated}"
    );
}

/// Wait until every execution's callback arrived; returns how many arrived more than once.
async fn callbacks_delivered(run: &Run) -> usize {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let counts = counts(
            run.callbacks
                .lock()
                .expect("callbacks")
                .iter()
                .map(|r| r.webhook_id.clone()),
        );
        let missing: Vec<&String> = run
            .executions
            .keys()
            .filter(|id| !counts.contains_key(&format!("msg_{id}")))
            .collect();
        if missing.is_empty() {
            return counts.values().filter(|n| **n > 1).count();
        }
        assert!(
            Instant::now() < deadline,
            "{} callbacks never delivered, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn counts(items: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}

/// Where a backend's published events are read from.
enum EventLog {
    /// The event log in the fleet's file.
    Embedded(EmbeddedBackend),
    /// A queue subscribed to the fleet's bus by a rule, and the envelopes it delivered so far.
    Bus(Subscriber, Vec<Value>),
}

impl EventLog {
    /// How many deliveries the subscriber's queue repeated (the same publication again), for
    /// the report line.
    fn redeliveries(&self) -> String {
        match self {
            Self::Embedded(_) => String::new(),
            Self::Bus(_, seen) => {
                let mut publications = std::collections::HashSet::new();
                let repeated = seen
                    .iter()
                    .filter(|e| !publications.insert(e["id"].clone()))
                    .count();
                format!(", {repeated} deliveries repeated by the subscriber's queue")
            }
        }
    }

    async fn embedded(dir: &std::path::Path) -> Self {
        let store = EmbeddedBackend::open(&EmbeddedConfig {
            path: dir.join("integrations.db"),
            secret_key: SecretKeySource::File(dir.join("secret.key")),
            max_receive_count: 10,
        })
        .await
        .expect("open the fleet's file");
        Self::Embedded(store)
    }

    /// (execution id, event id) of every result event published so far, in publishing order,
    /// repeats included (`CallbackFailed` events are not results).
    async fn results(&mut self) -> Vec<(String, String)> {
        match self {
            Self::Embedded(store) => {
                let mut log = Vec::new();
                let mut after = 0;
                loop {
                    let page = store.published_events(after, 1000).await.expect("log");
                    let Some(last) = page.last() else { break };
                    after = last.seq;
                    log.extend(page.iter().filter_map(|p| {
                        p.event
                            .as_result()
                            .filter(|e| e.event_type != EventType::CallbackFailed)
                            .map(|e| (e.execution_id.clone(), e.event_id.clone()))
                    }));
                }
                log
            }
            Self::Bus(queue, seen) => {
                loop {
                    let batch = queue.receive().await;
                    if batch.is_empty() {
                        break;
                    }
                    seen.extend(batch);
                }
                // A publication is an EventBridge event, its `id` new on every PutEvents entry:
                // the same one received twice is the queue redelivering it, not a second
                // publication, and is counted once.
                let mut results = Vec::new();
                let mut counted = std::collections::HashSet::new();
                for e in seen.iter().filter(|e| {
                    !matches!(
                        e["detail-type"].as_str(),
                        Some("CallbackFailed" | "ProviderEvent")
                    )
                }) {
                    if counted.insert(e["id"].clone()) {
                        let field =
                            |name: &str| e["detail"][name].as_str().expect(name).to_string();
                        results.push((field("executionId"), field("eventId")));
                    }
                }
                results
            }
        }
    }
}

/// A chaos run's setting: a provisioned fleet with a key, where its events are read, the pace
/// that suits the backend and how many executions (`CHAOS_EXECUTIONS` overrides).
struct Setup {
    backend: &'static str,
    fleet: Arc<Fleet>,
    key: String,
    events: EventLog,
    pace: Pace,
    executions: usize,
}

/// The chaos run; checks everything and prints the counts.
async fn chaos(setup: Setup, fake: &FakeProvider) {
    let started = Instant::now();
    let n = env_or("CHAOS_EXECUTIONS", setup.executions);
    let mut events = setup.events;
    let (run, _workers, _api) = run_chaos(setup.fleet, setup.key, setup.pace, n).await;
    check_writes(fake, &run);
    let repeated_callbacks = callbacks_delivered(&run).await;

    let deadline = Instant::now() + Duration::from_secs(90);
    let (by_execution, publications) = loop {
        let log = events.results().await;
        let mut by_execution: HashMap<String, Vec<String>> = HashMap::new();
        for (execution, event) in &log {
            by_execution
                .entry(execution.clone())
                .or_default()
                .push(event.clone());
        }
        let missing = run
            .executions
            .keys()
            .filter(|id| !by_execution.contains_key(*id))
            .count();
        if missing == 0 {
            break (by_execution, log.len());
        }
        assert!(
            Instant::now() < deadline,
            "{missing} executions' result events never published"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut duplicated = 0;
    for id in run.executions.keys() {
        let ids = &by_execution[id];
        let distinct = counts(ids.iter().cloned());
        assert_eq!(distinct.len(), 1, "{id} ended more than once: {ids:?}");
        duplicated += usize::from(ids.len() > 1);
    }
    println!(
        "{}: {n} executions, {} kills, {publications} result events published, \
         {duplicated} executions with a duplicated event, {repeated_callbacks} with a repeated \
         callback{}, {:?}",
        setup.backend,
        run.kills,
        events.redeliveries(),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_at_random_on_one_embedded_file_lose_and_repeat_nothing() {
    let (fake, ghn) = fake_ghn(Duration::from_millis(20)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Arc::new(Fleet::embedded(
        BIN,
        &ghn,
        dir.path(),
        &["--allow-private-urls"],
    ));
    let key = fleet.provision_key();
    let setup = Setup {
        backend: "embedded",
        fleet,
        key,
        events: EventLog::embedded(dir.path()).await,
        pace: Pace {
            worker: worker_args("2000", "32", "10"),
            pause_ms: 100..700,
        },
        executions: 1000,
    };
    chaos(setup, &fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_at_random_on_moto_lose_and_repeat_nothing() {
    let moto = moto().await;
    let (fake, ghn) = fake_ghn(Duration::from_millis(20)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // moto serves DynamoDB one request at a time, so an execution spans several kills here:
    // each costs it an attempt and a delivery or two (the redelivery, and one put back while
    // the dead worker's lease runs out). Room for the unluckiest of a thousand, killed under a
    // dozen times in a row, in attempts and receives.
    let fleet = Arc::new(Fleet::on_moto(
        BIN,
        moto.url(),
        &ghn,
        dir.path(),
        &["--allow-private-urls", "--max-receive-count", "100"],
    ));
    let key = fleet.provision_key();
    // Every event on the fleet's bus, as a consumer subscribed to all of them would get it.
    let config = AwsConfig::with_prefix(fleet.prefix.as_deref().expect("a stack on moto"));
    let queue = Subscriber::create(
        moto.url(),
        &config.event_bus_name,
        &format!("{}-chaos-events", config.queue_name),
        &json!({"source": [EVENT_SOURCE]}),
    )
    .await;
    let setup = Setup {
        backend: "moto",
        fleet,
        key,
        events: EventLog::Bus(queue, Vec::new()),
        // moto serves one request at a time: fewer in flight, leases that outlast its slower
        // completions, and kills far enough apart that the fleet gets work done in between.
        pace: Pace {
            worker: worker_args("5000", "8", "40"),
            pause_ms: 1000..4000,
        },
        // Some 4–5 minutes on the 2-core machine, the last 40–60 s of them after the last
        // execution ended (the last killed relay's outbox claims run out, 30 s, before a sweep
        // publishes its events). It fits because `aws/moto_server.py` keeps moto's Query and
        // EventBridge rule delivery from slowing down as the tables fill (docs/reliability.md).
        executions: 1000,
    };
    chaos(setup, &fake).await;
}
