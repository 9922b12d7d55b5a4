//! Helpers shared by the AWS backend's test files.

#![allow(dead_code)]

use backend_aws::testing::{moto, MotoEndpoint};
use backend_aws::{AwsConfig, AwsHandle};
use integrations_core::backend::Backend;

/// Small, so that the dead-letter cases are quick.
pub const MAX_RECEIVE_COUNT: u32 = 3;

/// A fresh stack of its own (unique names) on moto, opened.
pub struct Stack {
    pub moto: MotoEndpoint,
    pub config: AwsConfig,
    pub backend: Backend,
    pub handle: AwsHandle,
}

pub async fn stack() -> Stack {
    stack_with(|c| c).await
}

/// [`stack`] with its configuration adjusted by `adjust` before provisioning.
pub async fn stack_with(adjust: impl FnOnce(AwsConfig) -> AwsConfig) -> Stack {
    let moto = moto().await;
    let config = adjust(AwsConfig {
        max_receive_count: MAX_RECEIVE_COUNT,
        ..moto.config()
    });
    let config = moto.provision(config).await;
    let (backend, handle) = backend_aws::open(&config).await.expect("open");
    Stack {
        moto,
        config,
        backend,
        handle,
    }
}
