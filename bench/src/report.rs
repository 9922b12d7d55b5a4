//! Figures from the phases, and the report (text or JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use crate::load::{Outcome, Phase};

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// Nearest-rank percentiles of latencies, in milliseconds.
pub fn percentiles(latencies: &[Duration]) -> Option<Percentiles> {
    percentiles_ms(latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect())
}

/// Nearest-rank percentiles of values in milliseconds.
pub fn percentiles_ms(mut ms: Vec<f64>) -> Option<Percentiles> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let rank = ((p / 100.0) * ms.len() as f64).ceil() as usize;
        ms[rank.clamp(1, ms.len()) - 1]
    };
    Some(Percentiles {
        p50: at(50.0),
        p95: at(95.0),
        p99: at(99.0),
        max: ms[ms.len() - 1],
        mean: ms.iter().sum::<f64>() / ms.len() as f64,
    })
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseReport {
    pub requested: usize,
    pub completed: usize,
    pub succeeded: usize,
    /// Every outcome with its count: nothing is hidden.
    pub outcomes: BTreeMap<String, u64>,
    pub not_started: usize,
    pub late_starts: usize,
    pub elapsed_s: f64,
    /// Answers (any outcome) per second.
    pub throughput_per_s: f64,
    pub succeeded_per_s: f64,
    /// Over succeeded requests only.
    pub latency_ms: Option<Percentiles>,
    pub outstanding_mean: f64,
    pub outstanding_max: usize,
    /// Provider calls in flight (calls the fake received in the last `latency`), steady state.
    pub provider_in_flight_mean: Option<f64>,
    pub provider_in_flight_max: Option<f64>,
    /// Where the time of succeeded executions went (service phase only).
    pub stages_ms: Option<StagesReport>,
}

/// Percentiles of each stage of [`crate::load::Stages`], each taken on its own.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StagesReport {
    pub ingress: Percentiles,
    pub before_call: Percentiles,
    pub call: Percentiles,
    pub after_call: Percentiles,
    pub samples: usize,
}

fn stages_report(phase: &Phase) -> Option<StagesReport> {
    let stages: Vec<_> = phase.samples.iter().filter_map(|s| s.stages).collect();
    let pick = |f: fn(&crate::load::Stages) -> f64| percentiles_ms(stages.iter().map(f).collect());
    Some(StagesReport {
        ingress: pick(|s| s.ingress)?,
        before_call: pick(|s| s.before_call)?,
        call: pick(|s| s.call)?,
        after_call: pick(|s| s.after_call)?,
        samples: stages.len(),
    })
}

/// `probe` is the index, in the timeline's probe values, of the fake's cumulative call count.
pub fn phase_report(
    phase: &Phase,
    requested: usize,
    provider_latency: Duration,
    probe: Option<usize>,
) -> PhaseReport {
    let ok: Vec<Duration> = phase
        .samples
        .iter()
        .filter(|s| s.outcome == Outcome::Succeeded)
        .map(|s| s.latency)
        .collect();
    let secs = phase.elapsed.as_secs_f64();
    let per_s = |n: usize| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let steady = steady_window(phase);
    let outstanding: Vec<usize> = phase
        .timeline
        .iter()
        .filter(|(t, _, _)| steady.0 <= *t && *t <= steady.1)
        .map(|(_, o, _)| *o)
        .collect();
    let (in_flight_mean, in_flight_max) = match probe {
        Some(i) if !provider_latency.is_zero() => in_flight(phase, i, provider_latency, steady),
        _ => (None, None),
    };
    PhaseReport {
        requested,
        completed: phase.samples.len(),
        succeeded: ok.len(),
        outcomes: phase.outcomes(),
        not_started: phase.not_started,
        late_starts: phase.late_starts,
        elapsed_s: secs,
        throughput_per_s: per_s(phase.samples.len()),
        succeeded_per_s: per_s(ok.len()),
        latency_ms: percentiles(&ok),
        outstanding_mean: mean(outstanding.iter().map(|o| *o as f64)),
        outstanding_max: phase.timeline.iter().map(|(_, o, _)| *o).max().unwrap_or(0),
        provider_in_flight_mean: in_flight_mean,
        provider_in_flight_max: in_flight_max,
        stages_ms: stages_report(phase),
    }
}

/// The middle of the phase: from 10 % to 90 % of its duration (ramp-up and drain left out).
fn steady_window(phase: &Phase) -> (Duration, Duration) {
    (phase.elapsed / 10, phase.elapsed * 9 / 10)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (mut n, mut sum) = (0usize, 0.0);
    for v in values {
        n += 1;
        sum += v;
    }
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

/// Every call the fake answers is held for exactly `latency` after it is counted, so the calls
/// in flight at time t are the calls counted in (t - latency, t].
fn in_flight(
    phase: &Phase,
    probe: usize,
    latency: Duration,
    steady: (Duration, Duration),
) -> (Option<f64>, Option<f64>) {
    let counts: Vec<(Duration, f64)> = phase
        .timeline
        .iter()
        .filter_map(|(t, _, v)| v.get(probe).copied().flatten().map(|c| (*t, c)))
        .collect();
    let count_at = |t: Duration| {
        // The last reading at or before t.
        let idx = counts.partition_point(|(at, _)| *at <= t);
        (idx > 0).then(|| counts[idx - 1].1)
    };
    let mut values = Vec::new();
    let mut all_max: Option<f64> = None;
    for (t, c) in &counts {
        let Some(earlier) = t.checked_sub(latency).and_then(count_at) else {
            continue;
        };
        let v = c - earlier;
        all_max = Some(all_max.map_or(v, |m| m.max(v)));
        if steady.0 <= *t && *t <= steady.1 {
            values.push(v);
        }
    }
    let m = (!values.is_empty()).then(|| mean(values.into_iter()));
    (m, all_max)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Overhead {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessReport {
    /// VmHWM of the service at the end of the measured phase (its lifetime peak).
    pub peak_rss_mib: Option<f64>,
    /// Highest VmRSS sampled during the measured phase.
    pub peak_rss_in_phase_mib: Option<f64>,
    /// Most threads the service had during the measured phase (sampled).
    pub peak_threads: Option<f64>,
    /// User + system CPU seconds of the service during the measured phase.
    pub cpu_seconds: Option<f64>,
    pub cpu_seconds_per_1000: Option<f64>,
    /// Share of the machine's CPUs busy during the measured phase (everything, not only us).
    pub machine_busy_percent: Option<f64>,
    /// CPU of the bench process itself (load generator and in-process fake provider).
    pub bench_cpu_seconds: Option<f64>,
    /// CPU seconds used by everything else on the machine during the phase: noise.
    pub other_cpu_seconds: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AwsReport {
    /// None when the service exports no `aws_requests_total`.
    pub requests: Option<f64>,
    pub requests_per_succeeded_execution: Option<f64>,
    pub by_operation: BTreeMap<String, f64>,
    /// DynamoDB units of the service process (`aws_consumed_capacity_total`); on moto computed
    /// by the backend from item sizes, as moto reports no real capacity.
    pub capacity: Option<Capacity>,
    /// `--backlog`: the API process's requests while it queued the executions (per queued
    /// execution), so that both sides of an execution are counted, each at full load.
    pub api: Option<ApiRequests>,
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Capacity {
    pub write_units_per_execution: f64,
    pub read_units_per_execution: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApiRequests {
    pub requests: f64,
    pub per_queued_execution: f64,
    pub by_operation: BTreeMap<String, f64>,
    /// DynamoDB units of the API process per queued execution.
    pub capacity: Option<Capacity>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Meta {
    pub date: String,
    pub commit: String,
    /// When the service binary was built (its modification time, UTC): HEAD may have moved
    /// since, so this is what ties the figures to the code.
    pub service_binary_built: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub command_line: String,
    pub backend: String,
    pub mode: String,
    pub concurrency: Option<usize>,
    pub rate_per_s: Option<f64>,
    pub max_outstanding: Option<usize>,
    pub provider_latency_ms: u64,
    pub worker_concurrency: usize,
    /// Submitted without waiting; latencies from the records.
    pub no_wait: bool,
    pub executions: usize,
    pub warmup: usize,
    pub connections: usize,
    pub data_dir: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub meta: Meta,
    pub service: PhaseReport,
    pub limit: Option<PhaseReport>,
    /// Our succeeded/s over the limit's succeeded/s.
    pub ratio_to_limit: Option<f64>,
    /// Our latency minus the provider's (limit phase), at the same percentile.
    pub overhead_ms: Option<Overhead>,
    /// Throughput Little's law expects from the provider calls in flight: in flight / latency.
    pub expected_from_in_flight_per_s: Option<f64>,
    pub process: ProcessReport,
    /// Service counters that moved during the measured phase (from /metrics).
    pub service_counters: BTreeMap<String, BTreeMap<String, f64>>,
    pub aws: Option<AwsReport>,
    pub warnings: Vec<String>,
}

fn opt(v: Option<f64>, digits: usize, unit: &str) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}{unit}"))
}

fn lat(p: &Option<Percentiles>) -> String {
    p.map_or_else(
        || "n/a (nothing succeeded)".to_string(),
        |p| {
            format!(
                "p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  (mean {:.2})",
                p.p50, p.p95, p.p99, p.max, p.mean
            )
        },
    )
}

fn outcomes(o: &BTreeMap<String, u64>) -> String {
    if o.is_empty() {
        return "none".into();
    }
    o.iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn phase_text(out: &mut String, p: &PhaseReport) {
    let _ = writeln!(
        out,
        "  throughput           {:.1} exec/s succeeded ({:.1} answers/s; {} of {} in {:.2} s)",
        p.succeeded_per_s, p.throughput_per_s, p.completed, p.requested, p.elapsed_s
    );
    let _ = writeln!(out, "  outcomes             {}", outcomes(&p.outcomes));
    if p.not_started > 0 {
        let _ = writeln!(
            out,
            "  NOT STARTED          {} (phase time bound reached)",
            p.not_started
        );
    }
    if p.late_starts > 0 {
        let _ = writeln!(
            out,
            "  late starts          {} (no room under --max-outstanding; latency counted from schedule)",
            p.late_starts
        );
    }
    let _ = writeln!(out, "  latency ms           {}", lat(&p.latency_ms));
    let _ = writeln!(
        out,
        "  outstanding          mean {:.0}, max {}",
        p.outstanding_mean, p.outstanding_max
    );
    if let Some(st) = &p.stages_ms {
        let _ = writeln!(
            out,
            "  where the time goes  (ms, from the execution's timestamps; each percentile on its own)"
        );
        for (name, q) in [
            ("sent -> createdAt  ", &st.ingress),
            ("createdAt -> call  ", &st.before_call),
            ("provider call      ", &st.call),
            ("finishedAt -> reply", &st.after_call),
        ] {
            let _ = writeln!(
                out,
                "    {name}  p50 {:.1}  p95 {:.1}  p99 {:.1}  (mean {:.1})",
                q.p50, q.p95, q.p99, q.mean
            );
        }
    }
    if p.provider_in_flight_mean.is_some() {
        let _ = writeln!(
            out,
            "  provider in flight   mean {}, max {} (calls the fake received within the last latency)",
            opt(p.provider_in_flight_mean, 0, ""),
            opt(p.provider_in_flight_max, 0, "")
        );
    }
}

pub fn text(r: &Report) -> String {
    let m = &r.meta;
    let mut out = String::new();
    let load = match (m.concurrency, m.rate_per_s) {
        (_, Some(rate)) => format!(
            "open loop at {rate:.0}/s (max {} outstanding)",
            m.max_outstanding.unwrap_or(0)
        ),
        (Some(c), None) if m.mode == "backlog" => {
            format!("backlog (queued at concurrency {c}, then drained by one worker process)")
        }
        (Some(c), None) => format!("closed loop, concurrency {c}"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "integrations bench: {} backend, {load}, provider latency {} ms, worker concurrency {}",
        m.backend, m.provider_latency_ms, m.worker_concurrency
    );
    let _ = writeln!(
        out,
        "  {} executions (+{} warm-up) over {} connections; {}; {} CPUs ({})",
        m.executions, m.warmup, m.connections, m.date, m.cpus, m.cpu_model
    );
    let _ = writeln!(
        out,
        "  HEAD {} at run time; service binary built {}",
        m.commit, m.service_binary_built
    );
    let _ = writeln!(out, "  $ {}", m.command_line);
    let _ = writeln!(out);
    if m.mode == "backlog" {
        let _ = writeln!(
            out,
            "worker (--backlog: `integrations worker` stopped while the executions were queued, then timed draining them;"
        );
        let _ = writeln!(
            out,
            "        latency createdAt -> finishedAt from the records, time in the backlog included; outstanding = not yet finished)"
        );
    } else if m.no_wait {
        let _ = writeln!(
            out,
            "service (--no-wait: POST /execute answered 202; latency createdAt -> finishedAt from the records, queueing included;"
        );
        let _ = writeln!(
            out,
            "         outstanding and provider in flight are sampled while submitting only)"
        );
    } else {
        let _ = writeln!(
            out,
            "service (POST /execute with waitMs; submit -> terminal answer)"
        );
    }
    phase_text(&mut out, &r.service);
    if let Some(e) = r.expected_from_in_flight_per_s {
        let _ = writeln!(
            out,
            "  in flight / latency  {e:.1} exec/s expected; achieved {:.0} % of it",
            100.0 * r.service.succeeded_per_s / e
        );
    }
    if let Some(limit) = &r.limit {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "limit (the same provider calls straight to the fake, same load)"
        );
        phase_text(&mut out, limit);
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "ratio to limit         {}",
            opt(r.ratio_to_limit.map(|x| x * 100.0), 1, " %")
        );
        match &r.overhead_ms {
            Some(o) => {
                let _ = writeln!(
                    out,
                    "overhead ms            p50 {:.2}  p95 {:.2}  p99 {:.2}  (ours - provider's, same percentile)",
                    o.p50, o.p95, o.p99
                );
            }
            None => {
                let _ = writeln!(out, "overhead ms            n/a");
            }
        }
    }
    let p = &r.process;
    let _ = writeln!(out);
    if m.mode == "backlog" {
        let _ = writeln!(
            out,
            "worker process (the API process is idle while it drains)"
        );
    } else {
        let _ = writeln!(out, "service process");
    }
    let _ = writeln!(
        out,
        "  peak RSS             {} (VmHWM; highest sampled in the phase {})",
        opt(p.peak_rss_mib, 1, " MiB"),
        opt(p.peak_rss_in_phase_mib, 1, " MiB")
    );
    let _ = writeln!(
        out,
        "  threads              {} at most (sampled)",
        opt(p.peak_threads, 0, "")
    );
    let _ = writeln!(
        out,
        "  CPU                  {} per 1,000 executions ({} over the phase)",
        opt(p.cpu_seconds_per_1000, 3, " s"),
        opt(p.cpu_seconds, 2, " s")
    );
    let _ = writeln!(
        out,
        "  machine busy         {} of all CPUs during the phase; bench process used {} (client + fake); other processes {} (moto too, if running)",
        opt(p.machine_busy_percent, 0, " %"),
        opt(p.bench_cpu_seconds, 2, " s CPU"),
        opt(p.other_cpu_seconds, 2, " s CPU")
    );
    if !r.service_counters.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "service counters during the phase (/metrics deltas)");
        for (name, series) in &r.service_counters {
            let body = series
                .iter()
                .map(|(k, v)| {
                    if k.is_empty() {
                        format!("{v}")
                    } else {
                        format!("{{{k}}} {v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(out, "  {name}: {body}");
        }
    }
    if let Some(aws) = &r.aws {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "AWS requests per succeeded execution: {} ({} requests)",
            opt(aws.requests_per_succeeded_execution, 2, ""),
            opt(aws.requests, 0, "")
        );
        for (k, v) in &aws.by_operation {
            let _ = writeln!(out, "  {k}: {v}");
        }
        if let Some(c) = &aws.capacity {
            let _ = writeln!(
                out,
                "DynamoDB units per succeeded execution: {:.2} write, {:.2} read",
                c.write_units_per_execution, c.read_units_per_execution
            );
        }
        if !aws.note.is_empty() {
            let _ = writeln!(out, "  {}", aws.note);
        }
        if let Some(api) = &aws.api {
            let _ = writeln!(
                out,
                "AWS requests of the API process per queued execution (while filling): {:.2} ({:.0} requests)",
                api.per_queued_execution, api.requests
            );
            for (k, v) in &api.by_operation {
                let _ = writeln!(out, "  {k}: {v}");
            }
            if let Some(c) = &api.capacity {
                let _ = writeln!(
                    out,
                    "DynamoDB units of the API process per queued execution: {:.2} write, {:.2} read",
                    c.write_units_per_execution, c.read_units_per_execution
                );
                if let Some(w) = &aws.capacity {
                    let _ = writeln!(
                        out,
                        "DynamoDB units per execution, API + worker: {:.2} write, {:.2} read",
                        w.write_units_per_execution + c.write_units_per_execution,
                        w.read_units_per_execution + c.read_units_per_execution
                    );
                }
            }
            if let Some(worker) = aws.requests_per_succeeded_execution {
                let _ = writeln!(
                    out,
                    "AWS requests per execution, API + worker: {:.2}",
                    worker + api.per_queued_execution
                );
            }
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out);
        for w in &r.warnings {
            let _ = writeln!(out, "WARNING: {w}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let lat: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = percentiles(&lat).unwrap_or_default();
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert!(percentiles(&[]).is_none());
        let one = percentiles(&[Duration::from_millis(7)]).unwrap_or_default();
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
    }

    #[test]
    fn in_flight_counts_calls_within_the_latency() {
        // 10 calls arrive every 10 ms; each is held 100 ms: 100 in flight in steady state.
        let timeline = (0..100u64)
            .map(|i| {
                (
                    Duration::from_millis(i * 10),
                    0,
                    vec![Some((i * 10) as f64)],
                )
            })
            .collect();
        let phase = Phase {
            samples: vec![],
            elapsed: Duration::from_secs(1),
            not_started: 0,
            late_starts: 0,
            timeline,
        };
        let (m, max) = in_flight(
            &phase,
            0,
            Duration::from_millis(100),
            (Duration::ZERO, Duration::from_secs(1)),
        );
        assert_eq!(m, Some(100.0));
        assert_eq!(max, Some(100.0));
    }
}
