//! The bench command itself, small: it must keep working as the service changes, and its report
//! must count what happened. No timing is asserted (these are measurements, not tests).

use std::process::Command;

use serde_json::Value;

const BENCH: &str = env!("CARGO_BIN_EXE_bench");

/// `bench ... --json`, against the `integrations` command built for these tests.
fn bench(args: &[&str]) -> Value {
    let service = env!("CARGO_BIN_EXE_integrations-under-bench");
    let out = Command::new(BENCH)
        .args(args)
        .args(["--json", "--max-seconds", "60", "--service-bin"])
        .arg(service)
        .output()
        .expect("run bench");
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

/// Warnings mean something went wrong in the run (failures, rate-limit delays, a dead service);
/// a low open-files limit only concerns large runs.
fn assert_no_warnings(r: &Value) {
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .filter(|w| !w.starts_with("open-files limit"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[test]
fn closed_loop_reports_every_execution_and_the_limit() {
    let r = bench(&[
        "--executions",
        "150",
        "--warmup",
        "20",
        "--concurrency",
        "8",
        "--worker-concurrency",
        "16",
    ]);
    assert_eq!(r["meta"]["mode"], "closed");
    assert_eq!(r["service"]["succeeded"], 150, "{r:#}");
    assert_eq!(r["service"]["outcomes"]["succeeded"], 150);
    assert_eq!(r["limit"]["succeeded"], 150);
    assert!(r["service"]["latency_ms"]["p50"].as_f64() > Some(0.0));
    assert!(r["process"]["cpu_seconds_per_1000"].as_f64() > Some(0.0));
    assert!(r["process"]["peak_rss_mib"].as_f64() > Some(0.0));
    assert_eq!(
        r["service_counters"]["executions_finished_total"]["status=succeeded"],
        150.0
    );
    assert_no_warnings(&r);
}

#[test]
fn backlog_measures_one_worker_process_draining_the_queue() {
    let r = bench(&[
        "--backlog",
        "--executions",
        "300",
        "--warmup",
        "30",
        "--concurrency",
        "8",
        "--worker-concurrency",
        "64",
        "--provider-latency-ms",
        "50",
        "--no-limit",
    ]);
    assert_eq!(r["meta"]["mode"], "backlog");
    assert_eq!(r["service"]["succeeded"], 300, "{r:#}");
    // The worker's own counters: every queued execution received, finished and acknowledged.
    let counters = &r["service_counters"];
    assert_eq!(counters["worker_received_total"][""], 300.0, "{r:#}");
    assert_eq!(
        counters["executions_finished_total"]["status=succeeded"],
        300.0
    );
    // Nothing was submitted to the worker process's own API: it has none.
    assert!(counters.get("http_requests_total").is_none(), "{r:#}");
    assert!(r["service"]["provider_in_flight_max"].as_f64() > Some(1.0));
    assert!(r["expected_from_in_flight_per_s"].as_f64() > Some(0.0));
    assert!(r["process"]["cpu_seconds"].as_f64() > Some(0.0));
    assert_no_warnings(&r);
}
