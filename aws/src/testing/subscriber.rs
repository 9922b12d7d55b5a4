//! A consumer of the service's result events as its own infrastructure would subscribe one: an SQS
//! queue of its own, a queue policy letting EventBridge send to it, and a rule on the service's
//! bus with an event pattern, targeting the queue (infra/template.yaml's `CallerResultsRule` does
//! the same for its example caller). Used by the flows tests and the chaos run on moto.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName};
use serde_json::{json, Value};

use crate::config::AwsConfig;

/// A queue that receives the events a rule on the service's bus matches.
#[derive(Debug, Clone)]
pub struct Subscriber {
    sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl Subscriber {
    /// Creates queue `name`, its policy and rule `name` on `bus` (on the emulator at `endpoint`)
    /// matching `pattern`, targeting the queue.
    pub async fn create(endpoint: &str, bus: &str, name: &str, pattern: &Value) -> Self {
        let sdk = crate::sdk_config(&AwsConfig::with_prefix("raw").for_emulator(endpoint)).await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let events = aws_sdk_eventbridge::Client::new(&sdk);
        let queue_url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create queue {name}: {e}"))
            .queue_url()
            .expect("queue url")
            .to_string();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue arn")
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .expect("queue arn");
        let rule_arn = events
            .put_rule()
            .name(name)
            .event_bus_name(bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("rule {name} on {bus}: {e}"))
            .rule_arn()
            .expect("rule arn")
            .to_string();
        // What AWS requires for the rule to deliver (moto does not enforce queue policies, so
        // this is here for the record of what a producer's own stack must create).
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "FromTheRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
            }]
        });
        sqs.set_queue_attributes()
            .queue_url(&queue_url)
            .attributes(QueueAttributeName::Policy, policy.to_string())
            .send()
            .await
            .expect("queue policy");
        let target = Target::builder()
            .id("queue")
            .arn(queue_arn)
            .build()
            .expect("target");
        events
            .put_targets()
            .rule(name)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .unwrap_or_else(|e| panic!("target of rule {name}: {e}"));
        Self { sqs, queue_url }
    }

    /// The EventBridge envelopes (`source`, `detail-type`, `detail`: the result event) waiting on
    /// the queue, up to 10, waiting up to 1 s for the first; each is deleted once read, so that
    /// every delivery is seen exactly once.
    pub async fn receive(&self) -> Vec<Value> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = got.messages();
        if messages.is_empty() {
            return Vec::new();
        }
        let entries = messages.iter().enumerate().map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .set_receipt_handle(m.receipt_handle().map(str::to_string))
                .build()
                .expect("delete entry")
        });
        self.sqs
            .delete_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .expect("delete");
        messages
            .iter()
            .map(|m| serde_json::from_str(m.body().unwrap_or_default()).expect("an envelope"))
            .collect()
    }
}
