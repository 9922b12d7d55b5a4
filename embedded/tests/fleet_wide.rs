//! Fleet-wide mechanisms on one embedded file shared by two processes (two opens): credentials
//! renewal, rate limits, circuit breakers, tenants' in-flight caps.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_renewals_in_two_processes_log_in_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = common::open(dir.path()).await;
    let b = common::open(dir.path()).await;
    integrations_core::conformance::renewal::one_login_across_processes(
        a.backend(),
        b.backend(),
        50,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_renewer_does_not_overwrite_a_newer_renewal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = common::open(dir.path()).await;
    let b = common::open(dir.path()).await;
    integrations_core::conformance::renewal::a_stalled_renewer_does_not_overwrite_a_newer_renewal(
        a.backend(),
        b.backend(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_rate_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = common::open(dir.path()).await;
    let b = common::open(dir.path()).await;
    integrations_core::conformance::buckets::two_processes_share_one_limit(
        a.backend(),
        b.backend(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_by_one_process_holds_back_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = common::open(dir.path()).await;
    let b = common::open(dir.path()).await;
    integrations_core::conformance::breakers::one_breaker_across_processes(
        a.backend(),
        b.backend(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_tenant_in_flight_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = common::open(dir.path()).await;
    let b = common::open(dir.path()).await;
    integrations_core::conformance::in_flight::one_cap_across_processes(a.backend(), b.backend())
        .await;
}
