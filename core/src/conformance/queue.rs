//! [`Queue`] conformance.
//!
//! Semantics pinned here, beyond the trait docs:
//! - `receive` returns at most `max` messages; `max` 0 returns none and a `max` above what the
//!   backend can fetch at once (SQS: 10) is clamped, not an error;
//! - `receive_count` is 1 on the first delivery and grows by one on every delivery;
//! - a message is delivered at most `max_receive_count` times; the next receive moves it to the
//!   dead-letter queue instead of delivering it;
//! - a receipt stays valid after `change_visibility` (heartbeats do not invalidate it);
//! - `change_visibility(receipt, 0)` makes the message visible at once;
//! - a redriven message starts again with `receive_count` 1 (otherwise it would be dead-lettered on
//!   its first receive) and keeps its `execution_id` and `trace_parent` attributes;
//! - an empty `execution_id` means "no attribute": it is delivered as `None`;
//! - a `trace_parent` is delivered exactly as sent (backends do not validate it); `None`, and an
//!   empty one, are delivered as `None`;
//! - `send(&[])` and `delete(&[])` are no-ops; `send` batches of any size work (the backend
//!   splits them into what its API accepts).

mod case;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use self::case::{assert_unique, Case};
use super::{eventually, fresh_id};
use crate::backend::{Delivery, OutgoingMessage, Queue};
use crate::trace::new_trace_parent;

/// Long enough that nothing reappears while a case runs.
pub(crate) const HIDDEN: Duration = Duration::from_secs(30);
/// The shortest visibility timeout every backend supports.
const SHORT: Duration = Duration::from_secs(1);
/// Visibility of received dead letters: short, so that a dead letter that was not deleted shows
/// up again within [`DEAD_LETTER_WINDOW`].
pub(crate) const DEAD_LETTER_VISIBILITY: Duration = Duration::from_secs(1);
const DEAD_LETTER_WINDOW: Duration = Duration::from_millis(2500);
/// Long-poll wait of the receives that look for a case's messages.
pub(crate) const WAIT: Duration = Duration::from_secs(1);

/// Every queue case, one after another (they must not share the queue with a concurrent
/// consumer). `max_receive_count` is the queue's configured maximum.
pub async fn queue_suite(queue: Arc<dyn Queue>, max_receive_count: u32) {
    send_receive_delete(queue.clone()).await;
    batch_send_and_receive(queue.clone()).await;
    visibility_timeout_redelivers(queue.clone()).await;
    change_visibility_backoff(queue.clone()).await;
    change_visibility_heartbeat(queue.clone()).await;
    delayed_delivery(queue.clone()).await;
    execution_id_attribute(queue.clone()).await;
    trace_parent_attribute(queue.clone()).await;
    fair_group_travels(queue.clone()).await;
    wake_signal_on_send(queue.clone()).await;
    dead_letter_after_max_receives(queue.clone(), max_receive_count).await;
    redrive_original_body(queue.clone(), max_receive_count).await;
    redrive_corrected_body(queue, max_receive_count).await;
}

/// One message: sent, received once with its attributes, deleted for good.
pub async fn send_receive_delete(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    let execution_id = fresh_id();
    let body = case.body("single");
    case.send(&[case.message(&body, &execution_id)]).await;

    let got = case.receive_n(1, HIDDEN).await;
    let d = &got[0];
    assert_eq!(d.body, body);
    assert_eq!(d.receive_count, 1, "first delivery has receive_count 1");
    assert_eq!(d.execution_id.as_deref(), Some(execution_id.as_str()));
    assert!(!d.message_id.is_empty() && !d.receipt.is_empty());

    case.delete(&got).await;
    case.assert_deleted(&got).await;

    case.queue
        .send(&[])
        .await
        .expect("send of no message is a no-op");
    case.queue
        .delete(&[])
        .await
        .expect("delete of no receipt is a no-op");
}

/// Twelve messages in one send (more than one SQS batch); receives never exceed `max`, every
/// message arrives once within its visibility window, and one delete call removes them all.
pub async fn batch_send_and_receive(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    let messages: Vec<_> = (0..12)
        .map(|i| case.message(&case.body(&format!("batch-{i}")), &fresh_id()))
        .collect();
    case.send(&messages).await;

    let none = case.queue.receive(0, Duration::ZERO, HIDDEN).await;
    assert!(none.expect("receive of 0 messages").is_empty());

    let mut got: Vec<Delivery> = Vec::new();
    let case_ref = &case;
    while got.len() < messages.len() {
        let batch = eventually("a batch of the sent messages", move || async move {
            let batch = case_ref.receive_once(3, WAIT, HIDDEN).await;
            (!batch.is_empty()).then_some(batch)
        })
        .await;
        got.extend(batch);
    }
    assert_unique(&got);
    let mut bodies: Vec<_> = got.iter().map(|d| d.body.clone()).collect();
    let mut sent: Vec<_> = messages.iter().map(|m| m.body.clone()).collect();
    bodies.sort();
    sent.sort();
    assert_eq!(bodies, sent, "every message delivered exactly once");

    // Everything is hidden now; a large max is clamped, not rejected.
    let more = case.receive_once(25, Duration::ZERO, HIDDEN).await;
    assert!(more.is_empty(), "hidden messages were delivered again");

    case.delete(&got).await;
    case.assert_deleted(&got).await;
}

/// A received message is hidden for the visibility timeout, then delivered again with its
/// receive count incremented and a new receipt.
pub async fn visibility_timeout_redelivers(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    case.send(&[case.message(&case.body("visibility"), &fresh_id())])
        .await;
    let first = case.receive_n(1, SHORT).await.remove(0);
    assert_eq!(first.receive_count, 1);

    let hidden = case.receive_once(10, Duration::ZERO, HIDDEN).await;
    assert!(hidden.is_empty(), "message delivered twice in one window");

    let again = case.receive_n(1, HIDDEN).await.remove(0);
    assert_eq!(again.receive_count, 2);
    assert_eq!(again.message_id, first.message_id);
    assert_ne!(
        again.receipt, first.receipt,
        "each delivery has its own receipt"
    );

    case.delete(std::slice::from_ref(&again)).await;
    case.assert_deleted(&[again]).await;
}

/// `change_visibility` as a backoff: a message hidden for 30 s comes back after the shorter
/// timeout; with 0 it comes back at once.
pub async fn change_visibility_backoff(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    case.send(&[case.message(&case.body("backoff"), &fresh_id())])
        .await;
    let first = case.receive_n(1, HIDDEN).await.remove(0);

    case.queue
        .change_visibility(&first.receipt, SHORT)
        .await
        .expect("change_visibility");
    // DEADLINE (20 s) is shorter than HIDDEN: only the new timeout can explain a redelivery.
    let second = case.receive_n(1, HIDDEN).await.remove(0);
    assert_eq!(second.receive_count, 2);

    case.queue
        .change_visibility(&second.receipt, Duration::ZERO)
        .await
        .expect("change_visibility to 0");
    let third = case.receive_n(1, HIDDEN).await.remove(0);
    assert_eq!(third.receive_count, 3);

    case.delete(std::slice::from_ref(&third)).await;
    case.assert_deleted(&[third]).await;
}

/// `change_visibility` as a heartbeat: extending the timeout keeps the message hidden past the
/// original one, and the receipt still deletes it.
pub async fn change_visibility_heartbeat(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    case.send(&[case.message(&case.body("heartbeat"), &fresh_id())])
        .await;
    let d = case.receive_n(1, SHORT).await.remove(0);
    case.queue
        .change_visibility(&d.receipt, HIDDEN)
        .await
        .expect("heartbeat");

    case.assert_absent(Duration::from_secs(3), "after a heartbeat")
        .await;
    case.delete(std::slice::from_ref(&d)).await;
    case.assert_deleted(&[d]).await;
}

/// A delayed message is not delivered before its delay.
pub async fn delayed_delivery(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    let sent = Instant::now();
    case.send(&[OutgoingMessage {
        delay: Duration::from_secs(2),
        ..case.message(&case.body("delayed"), &fresh_id())
    }])
    .await;
    case.assert_absent(Duration::from_secs(1), "before its delay")
        .await;
    let d = case.receive_n(1, HIDDEN).await;
    assert!(sent.elapsed() >= Duration::from_millis(1500));
    case.delete(&d).await;
}

/// The execution id travels as an attribute; an empty one is delivered as `None`.
pub async fn execution_id_attribute(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    let execution_id = fresh_id();
    let with = case.body("with-attribute");
    let without = case.body("without-attribute");
    case.send(&[
        case.message(&with, &execution_id),
        case.message(&without, ""),
    ])
    .await;
    let got = case.receive_n(2, HIDDEN).await;
    for d in &got {
        let expected = (d.body == with).then_some(execution_id.as_str());
        assert_eq!(d.execution_id.as_deref(), expected, "body {}", d.body);
    }
    case.delete(&got).await;
}

/// The trace parent travels as an attribute, unchanged; None (or empty) is delivered as None,
/// also next to an execution id, and in the dead-letter queue and after a redrive.
pub async fn trace_parent_attribute(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    let trace_parent = new_trace_parent();
    // Backends carry the value, they do not judge it.
    let odd = "not-a-traceparent but kept as sent".to_string();
    let sent = [
        (
            "with-trace",
            Some(trace_parent.clone()),
            Some(trace_parent.as_str()),
        ),
        ("odd-trace", Some(odd.clone()), Some(odd.as_str())),
        ("without-trace", None, None),
        ("empty-trace", Some(String::new()), None),
    ];
    let messages: Vec<_> = sent
        .iter()
        .map(|(name, tp, _)| OutgoingMessage {
            trace_parent: tp.clone(),
            ..case.message(&case.body(name), &fresh_id())
        })
        .collect();
    case.send(&messages).await;
    let got = case.receive_n(sent.len(), HIDDEN).await;
    for d in &got {
        let (name, _, expected) = sent
            .iter()
            .find(|(name, _, _)| d.body == case.body(name))
            .expect("one of the sent bodies");
        assert_eq!(d.trace_parent.as_deref(), *expected, "message {name}");
        assert!(
            d.execution_id.is_some(),
            "message {name} kept its execution id"
        );
    }
    case.delete(&got).await;
}

/// A message's fair-queue group (its tenant) is delivered as sent; None stays None.
pub async fn fair_group_travels(queue: Arc<dyn Queue>) {
    let case = Case::new(queue);
    let sent = [("tenant-a", Some("tenant-a")), ("no-group", None)];
    let messages: Vec<_> = sent
        .iter()
        .map(|(name, group)| OutgoingMessage {
            fair_group: group.map(str::to_string),
            ..case.message(&case.body(name), &fresh_id())
        })
        .collect();
    case.send(&messages).await;
    let got = case.receive_n(sent.len(), HIDDEN).await;
    for d in &got {
        let (name, group) = sent
            .iter()
            .find(|(name, _)| d.body == case.body(name))
            .expect("one of the sent bodies");
        assert_eq!(d.fair_group.as_deref(), *group, "message {name}");
    }
    case.delete(&got).await;
}

/// Where the backend offers a wake signal, sending notifies it.
pub async fn wake_signal_on_send(queue: Arc<dyn Queue>) {
    let Some(signal) = queue.wake_signal() else {
        return;
    };
    let case = Case::new(queue);
    let notified = signal.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    case.send(&[case.message(&case.body("wake"), &fresh_id())])
        .await;
    tokio::time::timeout(Duration::from_secs(1), notified)
        .await
        .expect("the wake signal was not notified by send");
    let got = case.receive_n(1, HIDDEN).await;
    case.delete(&got).await;
}

/// After `max_receive_count` deliveries a message goes to the dead-letter queue, from which it
/// can be received and deleted for good.
pub async fn dead_letter_after_max_receives(queue: Arc<dyn Queue>, max_receive_count: u32) {
    let case = Case::new(queue);
    let execution_id = fresh_id();
    let body = case.body("poison");
    let dead = case
        .drive_to_dead_letter(case.message(&body, &execution_id), max_receive_count)
        .await;
    assert_eq!(dead.body, body);
    assert_eq!(dead.execution_id.as_deref(), Some(execution_id.as_str()));
    assert_eq!(dead.trace_parent, None, "no trace parent was sent");

    case.queue
        .delete_dead_letter(&dead.receipt)
        .await
        .expect("delete_dead_letter");
    case.assert_no_dead_letters(DEAD_LETTER_WINDOW).await;
    case.assert_absent(Duration::from_millis(500), "after deleting its dead letter")
        .await;
}

/// A redriven dead letter is delivered again from the work queue, with its original body and
/// attributes.
pub async fn redrive_original_body(queue: Arc<dyn Queue>, max_receive_count: u32) {
    redrive(queue, max_receive_count, false).await;
}

/// A redriven dead letter is delivered with the corrected body when one is given, and its
/// original attributes.
pub async fn redrive_corrected_body(queue: Arc<dyn Queue>, max_receive_count: u32) {
    redrive(queue, max_receive_count, true).await;
}

async fn redrive(queue: Arc<dyn Queue>, max_receive_count: u32, correct: bool) {
    let case = Case::new(queue);
    let execution_id = fresh_id();
    let trace_parent = new_trace_parent();
    let body = case.body("to-redrive");
    let message = OutgoingMessage {
        trace_parent: Some(trace_parent.clone()),
        fair_group: Some("tenant-redriven".into()),
        ..case.message(&body, &execution_id)
    };
    let dead = case.drive_to_dead_letter(message, max_receive_count).await;
    assert_eq!(
        dead.trace_parent.as_deref(),
        Some(trace_parent.as_str()),
        "a dead letter keeps its trace parent"
    );
    assert_eq!(dead.fair_group.as_deref(), Some("tenant-redriven"));
    let corrected = case.body("corrected");
    let new_body = correct.then_some(corrected.as_str());
    case.queue.redrive(&dead, new_body).await.expect("redrive");

    let d = case.receive_n(1, HIDDEN).await.remove(0);
    assert_eq!(d.body, new_body.unwrap_or(&body));
    assert_eq!(d.execution_id.as_deref(), Some(execution_id.as_str()));
    assert_eq!(
        d.trace_parent.as_deref(),
        Some(trace_parent.as_str()),
        "a redriven message keeps its trace parent"
    );
    assert_eq!(
        d.fair_group.as_deref(),
        Some("tenant-redriven"),
        "a redriven message keeps its fair-queue group"
    );
    assert_eq!(
        d.receive_count, 1,
        "a redriven message starts counting again"
    );
    case.assert_no_dead_letters(DEAD_LETTER_WINDOW).await;
    case.delete(std::slice::from_ref(&d)).await;
    case.assert_deleted(&[d]).await;
}
