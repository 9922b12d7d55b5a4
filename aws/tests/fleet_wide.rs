//! Fleet-wide mechanisms on moto, shared by two processes (two opens of one stack): credentials
//! renewal, rate limits, circuit breakers.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_renewals_in_two_processes_log_in_once() {
    let stack = common::stack().await;
    let (other, _) = backend_aws::open(&stack.config).await.expect("second open");
    integrations_core::conformance::renewal::one_login_across_processes(
        stack.backend.clone(),
        other,
        50,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_renewer_does_not_overwrite_a_newer_renewal() {
    let stack = common::stack().await;
    let (other, _) = backend_aws::open(&stack.config).await.expect("second open");
    integrations_core::conformance::renewal::a_stalled_renewer_does_not_overwrite_a_newer_renewal(
        stack.backend.clone(),
        other,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_rate_limit() {
    let stack = common::stack().await;
    let (other, _) = backend_aws::open(&stack.config).await.expect("second open");
    integrations_core::conformance::buckets::two_processes_share_one_limit(
        stack.backend.clone(),
        other,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_opened_by_one_process_holds_back_the_other() {
    let stack = common::stack().await;
    let (other, _) = backend_aws::open(&stack.config).await.expect("second open");
    integrations_core::conformance::breakers::one_breaker_across_processes(
        stack.backend.clone(),
        other,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_tenant_in_flight_cap() {
    let stack = common::stack().await;
    let (other, _) = backend_aws::open(&stack.config).await.expect("second open");
    integrations_core::conformance::in_flight::one_cap_across_processes(
        stack.backend.clone(),
        other,
    )
    .await;
}
