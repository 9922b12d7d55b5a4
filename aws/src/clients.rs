//! The four SDK clients, built from the standard configuration chain plus [`AwsConfig`]'s
//! overrides, each with the request-counting interceptor
//! (and DynamoDB's with the capacity meter).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;

use crate::accounting::RequestCounter;
use crate::capacity::CapacityMeter;
use crate::config::AwsConfig;

/// Connecting to a live endpoint takes milliseconds; a longer wait means it is gone, and the
/// caller should hear BACKEND_UNAVAILABLE soon rather than hang.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Above SQS's longest long poll (20 s), so that a receive is never cut short.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_ATTEMPTS: u32 = 3;

#[derive(Clone, Debug)]
pub(crate) struct Clients {
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

pub(crate) async fn sdk_config(config: &AwsConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = &config.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(c) = &config.static_credentials {
        loader = loader.credentials_provider(Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            None,
            None,
            "integrations-static",
        ));
    }
    loader.load().await
}

impl Clients {
    pub(crate) async fn new(
        config: &AwsConfig,
        counter: &RequestCounter,
        meter: &CapacityMeter,
    ) -> Self {
        let sdk = sdk_config(config).await;
        Self::from_sdk_config(&sdk, counter, meter)
    }

    pub(crate) fn from_sdk_config(
        sdk: &SdkConfig,
        counter: &RequestCounter,
        meter: &CapacityMeter,
    ) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .interceptor(meter.clone())
                    .build(),
            ),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(sdk)
                    .interceptor(counter.clone())
                    .build(),
            ),
        }
    }
}
