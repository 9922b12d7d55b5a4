//! The backend conformance suites against the AWS backend on moto: each case on a fresh stack of
//! its own, plus every suite together on one stack (shared tables and queues).

mod common;

use common::{stack, MAX_RECEIVE_COUNT};

async fn setup() -> (common::Stack, integrations_core::backend::Backend) {
    let stack = stack().await;
    let backend = stack.backend.clone();
    (stack, backend)
}

integrations_core::conformance_tests!(setup, MAX_RECEIVE_COUNT);
