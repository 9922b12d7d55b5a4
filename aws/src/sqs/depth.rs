//! Queue depth from SQS's approximate counters (one GetQueueAttributes). SQS does not report the
//! age of the oldest message through the API (CloudWatch's ApproximateAgeOfOldestMessage does).

use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_sqs::Client;
use integrations_core::backend::QueueDepth;
use integrations_core::Result;

use crate::error::sdk_error;

pub(super) async fn depth(client: &Client, queue_url: &str) -> Result<QueueDepth> {
    let out = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| sdk_error("SQS GetQueueAttributes (depth)", e))?;
    let count = |name: QueueAttributeName| {
        out.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let visible = count(QueueAttributeName::ApproximateNumberOfMessages);
    let delayed = count(QueueAttributeName::ApproximateNumberOfMessagesDelayed);
    Ok(QueueDepth {
        waiting: visible.map(|v| v + delayed.unwrap_or(0)),
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        oldest_age: None,
    })
}
