//! Fair queuing: a tenant that floods the queue does not hold back another tenant's messages,
//! competing tenants share receives equally, and an idle tenant's history does not count
//! against it.

mod common;

use std::time::Duration;

use backend_embedded::EmbeddedBackend;
use integrations_core::backend::{Delivery, OutgoingMessage, Queue};

const HIDDEN: Duration = Duration::from_secs(300);

fn messages(group: &str, n: usize) -> Vec<OutgoingMessage> {
    (0..n)
        .map(|i| OutgoingMessage {
            body: format!("{{\"group\":\"{group}\",\"n\":{i}}}"),
            execution_id: format!("{group}-{i}"),
            delay: Duration::ZERO,
            trace_parent: None,
            fair_group: Some(group.to_string()),
        })
        .collect()
}

async fn receive(backend: &EmbeddedBackend, n: usize) -> Vec<Delivery> {
    backend
        .receive(n, Duration::ZERO, HIDDEN)
        .await
        .expect("receive")
}

fn groups(got: &[Delivery]) -> Vec<&str> {
    got.iter()
        .map(|d| d.fair_group.as_deref().expect("a group"))
        .collect()
}

#[tokio::test]
async fn a_quiet_tenants_message_comes_before_a_flooding_tenants_backlog() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    for _ in 0..10 {
        backend.send(&messages("flood", 1000)).await.expect("send");
    }
    assert_eq!(groups(&receive(&backend, 16).await), ["flood"; 16]);

    backend.send(&messages("quiet", 1)).await.expect("send");
    // Behind at most the one flood message of the same rank: not behind 9,984 of them.
    let next = receive(&backend, 2).await;
    assert!(groups(&next).contains(&"quiet"), "{:?}", groups(&next));
}

#[tokio::test]
async fn competing_tenants_share_receives_equally() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    // a sends all of its messages before b sends any: a FIFO queue would serve a's 100 first.
    backend.send(&messages("a", 100)).await.expect("send");
    backend.send(&messages("b", 100)).await.expect("send");
    let got = receive(&backend, 40).await;
    let a = groups(&got).iter().filter(|g| **g == "a").count();
    assert_eq!((a, got.len() - a), (20, 20), "{:?}", groups(&got));
    // Within a tenant, its own messages keep their order.
    let a_numbers: Vec<String> = got
        .iter()
        .filter(|d| d.fair_group.as_deref() == Some("a"))
        .map(|d| d.execution_id.clone().expect("id"))
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("a-{i}")).collect();
    assert_eq!(a_numbers, expected);
}

#[tokio::test]
async fn an_idle_tenants_earlier_messages_do_not_count_against_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    // a had a busy past: 500 messages, all received since.
    backend.send(&messages("a", 500)).await.expect("send");
    while !receive(&backend, 100).await.is_empty() {}
    // Now b floods, then a sends one message: it is next, not behind b's 1,000.
    backend.send(&messages("b", 1000)).await.expect("send");
    receive(&backend, 10).await;
    backend.send(&messages("a", 1)).await.expect("send");
    let next = receive(&backend, 2).await;
    assert!(groups(&next).contains(&"a"), "{:?}", groups(&next));

    // Groups the clock has passed are forgotten by the purge, and sending still works.
    while !receive(&backend, 100).await.is_empty() {}
    let report = backend
        .purge_expired(integrations_core::model::now())
        .await
        .expect("purge");
    assert_eq!(report.fair_groups, 2, "{report:?}");
    backend.send(&messages("a", 1)).await.expect("send");
    assert_eq!(groups(&receive(&backend, 1).await), ["a"]);
}

#[tokio::test]
async fn messages_without_a_group_share_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let plain: Vec<_> = messages("x", 3)
        .into_iter()
        .map(|m| OutgoingMessage {
            fair_group: None,
            ..m
        })
        .collect();
    backend.send(&plain).await.expect("send");
    backend.send(&messages("t", 1)).await.expect("send");
    let got = receive(&backend, 4).await;
    let groups: Vec<Option<&str>> = got.iter().map(|d| d.fair_group.as_deref()).collect();
    // The ungrouped ones are one group: t's message is second, not fourth.
    assert_eq!(groups, [None, Some("t"), None, None]);
}
