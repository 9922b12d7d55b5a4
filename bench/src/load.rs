//! The load generator: closed loop (N callers, each sending its next request when the previous
//! answered) or open loop (requests started on a fixed schedule, whatever the answers), against
//! either the service's HTTP API or the fake provider directly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed {
        concurrency: usize,
    },
    /// `rate` requests per second; at most `max_outstanding` in flight (a start that finds no
    /// room waits and counts as late; its latency still runs from its scheduled time).
    Open {
        rate: f64,
        max_outstanding: usize,
    },
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Succeeded,
    /// A terminal execution that did not succeed: its status and error code.
    Failed(String),
    /// An HTTP error answer: status and error code.
    Http(u16, String),
    /// No answer: timeout, refused connection, broken connection.
    Transport(&'static str),
    /// Still not terminal after the bounded waits.
    NotTerminal,
    /// Submitted without waiting (`--no-wait`): queued, with this execution id.
    Accepted(String),
}

impl Outcome {
    pub fn label(&self) -> String {
        match self {
            Outcome::Succeeded => "succeeded".into(),
            Outcome::Failed(s) => format!("terminal {s}"),
            Outcome::Http(status, code) if code.is_empty() => format!("http {status}"),
            Outcome::Http(status, code) => format!("http {status} {code}"),
            Outcome::Transport(kind) => format!("transport {kind}"),
            Outcome::NotTerminal => "not terminal after waiting".into(),
            Outcome::Accepted(_) => "accepted (queued)".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sample {
    /// Scheduled (open loop) or actual (closed loop) start to terminal answer.
    pub latency: Duration,
    pub outcome: Outcome,
    /// When it ended, from the phase's start.
    pub done_at: Duration,
    /// Where the time went, from the execution's own timestamps (service target, succeeded).
    pub stages: Option<Stages>,
}

/// One execution's latency cut at the service's timestamps (milliseconds, wall clock of the
/// same machine; the service stores timestamps to the millisecond).
#[derive(Debug, Clone, Copy)]
pub struct Stages {
    /// Request sent -> `createdAt` (HTTP, auth, connection lookup, input validation).
    pub ingress: f64,
    /// `createdAt` -> provider call started (record + enqueue writes, queue wait, receive,
    /// claim, loading connection and secret).
    pub before_call: f64,
    /// The connector's call (`latencyMs`: HTTP client and the provider's own time).
    pub call: f64,
    /// `finishedAt` -> answer received (terminal write, completion wake-up, re-read, response).
    pub after_call: f64,
}

/// What one request sends.
pub enum Target {
    /// `POST /execute` with waitMs, then `GET /executions/{id}?waitMs=` while not terminal.
    Service {
        client: reqwest::Client,
        base: String,
        key: String,
        tenant: String,
        /// Prebuilt JSON bodies, used round-robin.
        bodies: Vec<Bytes>,
        wait_ms: u64,
    },
    /// `GET /executions/{id}` without waiting: the record of an execution submitted earlier.
    /// Its stages run from `createdAt` to `finishedAt` (ingress and reply are not seen).
    Record {
        client: reqwest::Client,
        base: String,
        key: String,
        tenant: String,
        ids: Vec<String>,
    },
    /// The same provider call the connector makes, straight to the fake.
    Provider {
        client: reqwest::Client,
        url: String,
        token: String,
        shop_id: String,
        bodies: Vec<Bytes>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionView {
    execution_id: Option<String>,
    status: Option<String>,
    error: Option<ErrorView>,
    created_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    latency_ms: Option<u64>,
}

impl ExecutionView {
    fn stages(&self, sent: DateTime<Utc>, received: DateTime<Utc>) -> Option<Stages> {
        let ms =
            |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_microseconds().map(|u| u as f64 / 1e3);
        let (created, finished) = (self.created_at?, self.finished_at?);
        let call = self.latency_ms? as f64;
        let after_call = ms(finished, received)?;
        let ingress = ms(sent, created)?;
        let before_call = ms(created, finished)? - call;
        Some(Stages {
            ingress,
            before_call,
            call,
            after_call,
        })
    }
}

#[derive(Deserialize)]
struct ErrorView {
    code: Option<String>,
}

#[derive(Deserialize)]
struct ApiErrorView {
    error: Option<ErrorView>,
}

#[derive(Deserialize)]
struct GhnEnvelope {
    code: Option<i64>,
    code_message: Option<String>,
}

const TERMINAL: &[&str] = &["succeeded", "failed", "timed_out", "dead_lettered"];
/// Follow-up waits on an execution that was not terminal within the first waitMs.
const MAX_FOLLOW_UPS: usize = 3;

fn transport(e: &reqwest::Error) -> Outcome {
    Outcome::Transport(if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "request"
    })
}

impl Target {
    async fn call(&self, i: usize) -> (Outcome, Option<Stages>) {
        match self {
            Target::Service {
                client,
                base,
                key,
                tenant,
                bodies,
                wait_ms,
            } => {
                let body = bodies[i % bodies.len()].clone();
                let sent_at = Utc::now();
                let sent = client
                    .post(format!("{base}/execute"))
                    .bearer_auth(key)
                    .header("X-Tenant-Id", tenant)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let mut resp = match sent {
                    Ok(r) => r,
                    Err(e) => return (transport(&e), None),
                };
                for _ in 0..=MAX_FOLLOW_UPS {
                    let status = resp.status().as_u16();
                    let bytes = match resp.bytes().await {
                        Ok(b) => b,
                        Err(e) => return (transport(&e), None),
                    };
                    let received_at = Utc::now();
                    if !(200..300).contains(&status) {
                        let code = serde_json::from_slice::<ApiErrorView>(&bytes)
                            .ok()
                            .and_then(|v| v.error)
                            .and_then(|e| e.code)
                            .unwrap_or_default();
                        return (Outcome::Http(status, code), None);
                    }
                    let Ok(view) = serde_json::from_slice::<ExecutionView>(&bytes) else {
                        return (Outcome::Http(status, "UNPARSEABLE_BODY".into()), None);
                    };
                    let state = view.status.clone().unwrap_or_default();
                    if state == "succeeded" {
                        return (Outcome::Succeeded, view.stages(sent_at, received_at));
                    }
                    if TERMINAL.contains(&state.as_str()) {
                        let code = view.error.and_then(|e| e.code).unwrap_or_default();
                        let outcome = Outcome::Failed(format!("{state} {code}").trim().to_string());
                        return (outcome, None);
                    }
                    let Some(id) = view.execution_id else {
                        return (Outcome::Http(status, "NO_EXECUTION_ID".into()), None);
                    };
                    if *wait_ms == 0 {
                        return (Outcome::Accepted(id), None);
                    }
                    resp = match client
                        .get(format!("{base}/executions/{id}?waitMs={wait_ms}"))
                        .bearer_auth(key)
                        .header("X-Tenant-Id", tenant)
                        .send()
                        .await
                    {
                        Ok(r) => r,
                        Err(e) => return (transport(&e), None),
                    };
                }
                (Outcome::NotTerminal, None)
            }
            Target::Record {
                client,
                base,
                key,
                tenant,
                ids,
            } => {
                let Some(id) = ids.get(i) else {
                    return (Outcome::Http(0, "NO_SUCH_SAMPLE".into()), None);
                };
                let sent = client
                    .get(format!("{base}/executions/{id}"))
                    .bearer_auth(key)
                    .header("X-Tenant-Id", tenant)
                    .send()
                    .await;
                let resp = match sent {
                    Ok(r) => r,
                    Err(e) => return (transport(&e), None),
                };
                let status = resp.status().as_u16();
                let bytes = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => return (transport(&e), None),
                };
                let Ok(view) = serde_json::from_slice::<ExecutionView>(&bytes) else {
                    return (Outcome::Http(status, "UNPARSEABLE_BODY".into()), None);
                };
                let state = view.status.clone().unwrap_or_default();
                let stages = view
                    .created_at
                    .zip(view.finished_at)
                    .and_then(|(c, f)| view.stages(c, f));
                match state.as_str() {
                    "succeeded" => (Outcome::Succeeded, stages),
                    s if TERMINAL.contains(&s) => {
                        let code = view.error.and_then(|e| e.code).unwrap_or_default();
                        (
                            Outcome::Failed(format!("{s} {code}").trim().to_string()),
                            None,
                        )
                    }
                    _ => (Outcome::NotTerminal, None),
                }
            }
            Target::Provider {
                client,
                url,
                token,
                shop_id,
                bodies,
            } => {
                let body = bodies[i % bodies.len()].clone();
                let sent = client
                    .post(url)
                    .header("Token", token)
                    .header("ShopId", shop_id)
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let resp = match sent {
                    Ok(r) => r,
                    Err(e) => return (transport(&e), None),
                };
                let status = resp.status().as_u16();
                let bytes = match resp.bytes().await {
                    Ok(b) => b,
                    Err(e) => return (transport(&e), None),
                };
                let env = serde_json::from_slice::<GhnEnvelope>(&bytes).ok();
                let outcome = match env {
                    Some(GhnEnvelope {
                        code: Some(200), ..
                    }) if status == 200 => Outcome::Succeeded,
                    Some(env) => Outcome::Http(
                        status,
                        format!(
                            "ghn code {} {}",
                            env.code.unwrap_or(0),
                            env.code_message.unwrap_or_default()
                        )
                        .trim()
                        .to_string(),
                    ),
                    None => Outcome::Http(status, "UNPARSEABLE_BODY".into()),
                };
                (outcome, None)
            }
        }
    }
}

/// A probe read every `SAMPLE_EVERY` while a phase runs (e.g. calls the fake has received).
pub type Probe = Box<dyn Fn() -> Option<f64> + Send + Sync>;

pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct Phase {
    pub samples: Vec<Sample>,
    /// First start to last answer.
    pub elapsed: Duration,
    /// Requests not started because the phase's time bound ran out.
    pub not_started: usize,
    /// Open loop: starts that found no room under max_outstanding.
    pub late_starts: usize,
    /// (time since start, requests outstanding, probe values...)
    pub timeline: Timeline,
}

impl Phase {
    /// The phase ended at `end` (the last execution finished), not at the last submission.
    pub fn with_end(mut self, end: Duration) -> Self {
        self.elapsed = self.elapsed.max(end);
        self
    }

    /// Replace the submissions' samples by the records read afterwards: outcome from the
    /// record, latency `createdAt` -> `finishedAt`. Submissions that were refused stay.
    pub fn with_records(mut self, records: Phase) -> Self {
        let end = self.elapsed;
        let mut samples: Vec<Sample> = self
            .samples
            .into_iter()
            .filter(|s| !matches!(s.outcome, Outcome::Accepted(_)))
            .collect();
        samples.extend(records.samples.into_iter().map(|r| {
            let ms = r.stages.map_or(0.0, |st| st.before_call + st.call).max(0.0);
            Sample {
                latency: Duration::from_secs_f64(ms / 1e3),
                done_at: end,
                ..r
            }
        }));
        self.samples = samples;
        self
    }

    pub fn outcomes(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in &self.samples {
            *out.entry(s.outcome.label()).or_insert(0) += 1;
        }
        out
    }

    /// Submissions queued without waiting (answered 202).
    pub fn accepted(&self) -> usize {
        self.samples
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Accepted(_)))
            .count()
    }

    pub fn succeeded(&self) -> usize {
        self.samples
            .iter()
            .filter(|s| s.outcome == Outcome::Succeeded)
            .count()
    }
}

pub type Timeline = Vec<(Duration, usize, Vec<Option<f64>>)>;

/// Reads `outstanding` and the probes every `SAMPLE_EVERY`, from `start` until finished.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Timeline>,
}

impl Sampler {
    pub fn start(
        start: Instant,
        outstanding: Arc<AtomicUsize>,
        probes: Vec<Probe>,
        max_time: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut timeline = Vec::new();
                let mut tick = tokio::time::interval(SAMPLE_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                // Bounded: the phase's time bound plus the clients' timeouts, at 100 samples/s.
                let max_samples = ((max_time.as_secs() + 300) * 100) as usize;
                while !stop.load(Ordering::Relaxed) && timeline.len() < max_samples {
                    tick.tick().await;
                    let values = probes.iter().map(|p| p()).collect();
                    timeline.push((start.elapsed(), outstanding.load(Ordering::Relaxed), values));
                }
                timeline
            }
        });
        Self { stop, task }
    }

    pub async fn finish(self) -> Timeline {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

/// Run `count` requests (numbered from `first`, which picks the body) under `mode`, for at most
/// `max_time` of starts. Requests in flight at the bound still finish (each has a client timeout).
pub async fn run(
    target: Arc<Target>,
    mode: Mode,
    first: usize,
    count: usize,
    max_time: Duration,
    probes: Vec<Probe>,
) -> Phase {
    let start = Instant::now();
    let outstanding = Arc::new(AtomicUsize::new(0));
    let sampler = Sampler::start(start, outstanding.clone(), probes, max_time);

    let (samples, not_started, late_starts) = match mode {
        Mode::Closed { concurrency } => {
            closed(
                &target,
                concurrency,
                first,
                count,
                start,
                max_time,
                &outstanding,
            )
            .await
        }
        Mode::Open {
            rate,
            max_outstanding,
        } => {
            open(
                &target,
                rate,
                max_outstanding,
                first,
                count,
                start,
                max_time,
                &outstanding,
            )
            .await
        }
    };
    let elapsed = samples.iter().map(|s| s.done_at).max().unwrap_or_default();
    let timeline = sampler.finish().await;
    Phase {
        samples,
        elapsed,
        not_started,
        late_starts,
        timeline,
    }
}

async fn closed(
    target: &Arc<Target>,
    concurrency: usize,
    first: usize,
    count: usize,
    start: Instant,
    max_time: Duration,
    outstanding: &Arc<AtomicUsize>,
) -> (Vec<Sample>, usize, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut callers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.max(1) {
        let (target, next, outstanding) = (target.clone(), next.clone(), outstanding.clone());
        callers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                if start.elapsed() >= max_time {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let began = Instant::now();
                outstanding.fetch_add(1, Ordering::Relaxed);
                let (outcome, stages) = target.call(first + i).await;
                outstanding.fetch_sub(1, Ordering::Relaxed);
                mine.push(Sample {
                    latency: began.elapsed(),
                    outcome,
                    done_at: start.elapsed(),
                    stages,
                });
            }
            mine
        }));
    }
    let mut samples = Vec::with_capacity(count);
    for c in callers {
        samples.extend(c.await.unwrap_or_default());
    }
    let not_started = count.saturating_sub(samples.len());
    (samples, not_started, 0)
}

#[allow(clippy::too_many_arguments)]
async fn open(
    target: &Arc<Target>,
    rate: f64,
    max_outstanding: usize,
    first: usize,
    count: usize,
    start: Instant,
    max_time: Duration,
    outstanding: &Arc<AtomicUsize>,
) -> (Vec<Sample>, usize, usize) {
    let room = Arc::new(Semaphore::new(max_outstanding.max(1)));
    let t0 = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(count);
    let mut late = 0;
    for i in 0..count {
        let offset = Duration::from_secs_f64(i as f64 / rate);
        if offset >= max_time {
            break;
        }
        tokio::time::sleep_until(t0 + offset).await;
        let scheduled = start + offset;
        let permit = match room.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                late += 1;
                match room.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => break,
                }
            }
        };
        let (target, outstanding) = (target.clone(), outstanding.clone());
        outstanding.fetch_add(1, Ordering::Relaxed);
        tasks.push(tokio::spawn(async move {
            let (outcome, stages) = target.call(first + i).await;
            outstanding.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
            Sample {
                latency: scheduled.elapsed(),
                outcome,
                done_at: start.elapsed(),
                stages,
            }
        }));
    }
    let mut samples = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(s) = t.await {
            samples.push(s);
        }
    }
    let not_started = count.saturating_sub(samples.len());
    (samples, not_started, late)
}
