//! Tenant fairness across a fleet: an API process and two worker processes on one embedded file.
//! Tenant t1 floods the queue with 10,000 executions; then t2 submits one. t2's execution must
//! wait only for a worker slot to free up (fair queuing by tenant puts it at the head of the
//! queue), not for t1's backlog: while it waits, fewer provider calls are made for t1 than the
//! fleet has slots, three times over, where a first-come-first-served queue would make thousands.
//! The wall-clock delay is printed for the record, not asserted (benchmarks measure).

use std::time::Duration;

use futures::StreamExt;
use integration_tests::fleet::{fake_ghn, Fleet};
use integration_tests::{fee_input, ApiClient};
use integrations_core::model::Timestamp;
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
const FLOOD: usize = 10_000;
const WORKERS: usize = 2;
const SLOTS_PER_WORKER: usize = 8;
const FEE_PATH: &str = "/v2/shipping-order/fee";

async fn submit(api: &ApiClient, tenant: &str, conn: &str) -> String {
    let body = json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()});
    let b = api
        .call_as(tenant, Method::POST, "/execute", Some(body))
        .await;
    b["executionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{b}"))
        .to_string()
}

fn at(e: &Value, field: &str) -> Timestamp {
    serde_json::from_value(e[field].clone()).unwrap_or_else(|_| panic!("no {field}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_thousand_execution_flood_delays_another_tenant_by_one_slot_across_the_fleet() {
    let latency = Duration::from_millis(100);
    let (fake, providers) = fake_ghn(latency).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet::embedded(BIN, &providers, dir.path(), &[]);
    let key = fleet
        .run(&[
            "create-key",
            "--caller-service",
            "flows",
            "--tenants",
            "t1,t2",
        ])
        .trim()
        .to_string();
    let slots = SLOTS_PER_WORKER.to_string();
    let worker = ["--concurrency", &slots, "--no-catalog-rate-limits"];
    let (_processes, api) = fleet.start(key, WORKERS, &worker);
    let flooding = api.create_ghn_connection("t1", "flood").await;
    let quiet = api.create_ghn_connection("t2", "quiet").await;

    let flood: Vec<String> = futures::stream::iter(0..FLOOD)
        .map(|_| submit(&api, "t1", &flooding))
        .buffer_unordered(32)
        .collect()
        .await;
    let calls_before = fake.stats().calls(FEE_PATH);
    let backlog = FLOOD as u64 - calls_before;
    assert!(
        backlog > 1000,
        "the flood must still be queued when t2 submits ({backlog} left)"
    );

    let id = submit(&api, "t2", &quiet).await;
    let done = api.terminal_as("t2", &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    // t2's own call is one of them.
    let t1_calls_meanwhile = fake.stats().calls(FEE_PATH) - calls_before - 1;
    let fleet_slots = (WORKERS * SLOTS_PER_WORKER) as u64;
    let waited = (at(&done, "finishedAt") - at(&done, "createdAt"))
        .to_std()
        .unwrap_or_default();
    eprintln!(
        "t2 finished {waited:?} after submission (provider latency {latency:?}), behind a \
         backlog of {backlog}; {t1_calls_meanwhile} calls for t1 meanwhile ({fleet_slots} slots)"
    );
    assert!(
        t1_calls_meanwhile <= 3 * fleet_slots,
        "t2 waited for {t1_calls_meanwhile} of t1's executions (the fleet has {fleet_slots} \
         slots): the flood held it back"
    );
    assert!(flood.len() == FLOOD);
}
