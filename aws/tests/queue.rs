//! SQS specifics: the start-up check of the RedrivePolicy, dead-lettering after
//! maxReceiveCount, size limits and batching.

mod common;

use std::time::Duration;

use backend_aws::testing::moto;
use integrations_core::backend::OutgoingMessage;
use integrations_core::ErrorKind;

fn message(body: String) -> OutgoingMessage {
    OutgoingMessage {
        body,
        execution_id: "01J00000000000000000000000".into(),
        delay: Duration::ZERO,
        trace_parent: None,
        fair_group: None,
    }
}

fn requests(stack: &common::Stack, operation: &str) -> u64 {
    stack
        .handle
        .request_counts()
        .get(&("SQS".to_string(), operation.to_string()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn start_up_finds_the_redrive_policy() {
    let stack = common::stack().await;
    let check = stack.handle.queue_check();
    let policy = check.redrive_policy.as_ref().expect("policy");
    assert_eq!(policy.max_receive_count, common::MAX_RECEIVE_COUNT);
    assert!(policy
        .dead_letter_target_arn
        .ends_with(&stack.config.dlq_name));
    assert!(stack.handle.warnings().is_empty());
}

#[tokio::test]
async fn start_up_warns_loudly_without_a_redrive_policy() {
    let moto = moto().await;
    let config = moto.config();
    let sqs = aws_sdk_sqs::Client::new(&backend_aws::sdk_config(&config).await);
    for name in [&config.queue_name, &config.dlq_name] {
        sqs.create_queue()
            .queue_name(name)
            .send()
            .await
            .expect("create");
    }
    let (_backend, handle) = backend_aws::open(&config).await.expect("open");
    assert_eq!(handle.queue_check().redrive_policy, None);
    let warning = handle.warnings().first().expect("a warning");
    assert!(warning.contains("NO RedrivePolicy"), "{warning}");
}

#[tokio::test]
async fn a_message_moves_to_the_dead_letter_queue_after_max_receive_count() {
    let stack = common::stack().await;
    let queue = &stack.backend.queue;
    queue
        .send(&[message("{\"poison\":true}".into())])
        .await
        .expect("send");
    for count in 1..=common::MAX_RECEIVE_COUNT {
        let got = queue
            .receive(10, Duration::from_secs(2), Duration::from_secs(30))
            .await
            .expect("receive");
        assert_eq!(got.len(), 1, "delivery {count}");
        assert_eq!(got[0].receive_count, count);
        queue
            .change_visibility(&got[0].receipt, Duration::ZERO)
            .await
            .expect("visible again");
    }
    let none = queue
        .receive(10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(none.is_empty(), "delivered past maxReceiveCount");
    let dead = queue
        .receive_dead_letters(10, Duration::from_secs(30))
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "{\"poison\":true}");
    assert_eq!(
        dead[0].execution_id.as_deref(),
        Some("01J00000000000000000000000")
    );
}

#[tokio::test]
async fn an_oversized_message_is_refused_before_sending() {
    let stack = common::stack().await;
    let err = stack
        .backend
        .queue
        .send(&[message("x".repeat(262_144))])
        .await
        .expect_err("over SQS's limit");
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
    assert!(err.message.contains("262144"), "{err}");
    assert_eq!(requests(&stack, "SendMessageBatch"), 0, "nothing was sent");
}

#[tokio::test]
async fn sends_receives_and_deletes_are_batched_by_ten() {
    let stack = common::stack().await;
    let queue = &stack.backend.queue;
    let messages: Vec<_> = (0..25).map(|i| message(format!("{{\"n\":{i}}}"))).collect();
    queue.send(&messages).await.expect("send");
    assert_eq!(requests(&stack, "SendMessageBatch"), 3);

    let mut receipts = Vec::new();
    while receipts.len() < 25 {
        let got = queue
            .receive(25, Duration::from_secs(1), Duration::from_secs(60))
            .await
            .expect("receive");
        assert!(got.len() <= 10);
        receipts.extend(got.into_iter().map(|d| d.receipt));
    }
    queue.delete(&receipts).await.expect("delete");
    assert_eq!(requests(&stack, "DeleteMessageBatch"), 3);
}

#[tokio::test]
async fn without_any_dead_letter_queue_the_backend_still_runs() {
    let moto = moto().await;
    let config = moto.config();
    let sqs = aws_sdk_sqs::Client::new(&backend_aws::sdk_config(&config).await);
    sqs.create_queue()
        .queue_name(&config.queue_name)
        .send()
        .await
        .expect("create");
    let (backend, handle) = backend_aws::open(&config).await.expect("open");
    assert_eq!(handle.queue_check().dead_letter_queue_url, None);
    assert_eq!(handle.warnings().len(), 2, "{:?}", handle.warnings());
    backend
        .queue
        .send(&[message("{}".into())])
        .await
        .expect("send");
    let err = backend
        .queue
        .receive_dead_letters(10, Duration::from_secs(5))
        .await
        .expect_err("no dead-letter queue");
    assert_eq!(err.kind, ErrorKind::BackendUnavailable);
    assert!(!err.retryable);
}

#[tokio::test]
async fn depth_reports_sqs_approximate_counts() {
    let stack = common::stack().await;
    let q = &stack.backend.queue;
    let messages: Vec<OutgoingMessage> =
        (0..3).map(|i| message(format!("{{\"n\":{i}}}"))).collect();
    q.send(&messages).await.expect("send");
    let got = q
        .receive(1, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    let depth = q.depth().await.expect("depth");
    assert_eq!(depth.waiting, Some(2), "{depth:?}");
    assert_eq!(depth.in_flight, Some(1), "{depth:?}");
    assert_eq!(depth.oldest_age, None, "SQS does not say");
}
