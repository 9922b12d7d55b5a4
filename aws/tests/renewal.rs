//! Credentials renewal on moto, shared by two processes (two opens of one stack).

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
