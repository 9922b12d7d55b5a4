//! DynamoDB specifics of callbacks: a body over the item limit, claims from many processes, a
//! callback replaced by a later completion, and an attempt's write repeated after a lost answer.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use backend_aws::truncate::TRUNCATED_FLAG;
use integrations_core::backend::{Backend, CallbackStore, ClaimOutcome, Lease};
use integrations_core::callbacks::{AttemptOutcome, Callback, CallbackAttempt, CallbackStatus};
use integrations_core::completion::Completion;
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, Timestamp};
use integrations_core::{Error, ErrorKind};
use serde_json::{json, Value};

fn lease(owner: &str, seconds: i64) -> Lease {
    Lease {
        owner: owner.to_string(),
        until: now() + chrono::Duration::seconds(seconds),
    }
}

fn attempt(status: u16) -> CallbackAttempt {
    CallbackAttempt {
        at: now(),
        status_code: Some(status),
        duration_ms: 5,
        error: None,
    }
}

/// A new execution that asked for a callback, claimed by `worker`.
async fn running(b: &Backend, worker: &str) -> Execution {
    let mut e = sample_execution(&fresh_tenant(), now());
    e.callback_url = Some("https://example.com/cb".into());
    e.caller_service = Some("flows".into());
    b.executions
        .create_execution(&e, None)
        .await
        .expect("create");
    claim_execution(b, &e, worker).await
}

async fn claim_execution(b: &Backend, e: &Execution, worker: &str) -> Execution {
    match b
        .executions
        .claim_execution(&e.tenant_id, &e.execution_id, &lease(worker, 60))
        .await
        .expect("claim")
    {
        ClaimOutcome::Claimed { execution, .. } => *execution,
        other => panic!("expected Claimed, got {other:?}"),
    }
}

/// Claims at `at` until `c` is among the claimed (the index may lag).
async fn claim_callback(store: &Arc<dyn CallbackStore>, c: &Callback, at: Timestamp) -> Callback {
    for _ in 0..100 {
        let claimed = store
            .claim_due_callbacks(at, &lease("deliverer", 30), 100)
            .await
            .expect("claim due");
        if let Some(found) = claimed
            .into_iter()
            .find(|x| x.execution_id == c.execution_id)
        {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("callback of {} never claimable", c.execution_id);
}

/// The stored item's size as DynamoDB counts it (names plus values; this item has strings,
/// numbers and no nesting).
fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
                    _ => 1,
                }
        })
        .sum()
}

/// An output of over 1 MB (the HTTP kit's cap on provider answers) finishes: the callback item
/// stays under 400 KB with its output truncated as the execution's is, and its attempts are
/// recorded with the same body.
#[tokio::test]
async fn a_callback_with_a_huge_output_stays_under_the_item_limit() {
    let stack = common::stack().await;
    let b = &stack.backend;
    let claimed = running(b, "w").await;
    let done = Completion::new(
        claimed,
        Ok(json!({"report": "é\"".repeat(300_000)})),
        Some(lease("w", 30)),
    );
    let born = done.callback.clone().expect("callback");
    assert!(born.body.len() > 1_000_000);
    assert!(b
        .executions
        .complete_execution(&done, Some("w"))
        .await
        .expect("complete: never an error for a large output"));

    let stored = b
        .callbacks
        .get_callback(&born.tenant_id, &born.execution_id)
        .await
        .expect("get")
        .expect("stored");
    let payload: Value = serde_json::from_str(&stored.body).expect("the body is JSON");
    assert_eq!(payload["data"][TRUNCATED_FLAG], json!(true));
    assert!(payload["data"]["preview"]
        .as_str()
        .is_some_and(|p| p.len() > 50_000));
    assert_eq!(payload["executionId"], json!(born.execution_id));
    assert_eq!(payload["success"], json!(true));
    assert_eq!(
        Callback {
            body: born.body.clone(),
            ..stored.clone()
        },
        born,
        "only the body's output differs"
    );

    let sdk = backend_aws::sdk_config(&stack.config).await;
    let raw = aws_sdk_dynamodb::Client::new(&sdk)
        .get_item()
        .table_name(&stack.config.executions_table)
        .key(
            "PK",
            AttributeValue::S(format!("CALLBACK#{}#{}", born.tenant_id, born.execution_id)),
        )
        .key("SK", AttributeValue::S("CALLBACK".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get")
        .item
        .expect("raw item");
    let size = item_size(&raw);
    assert!(size < 400 * 1024 - 40 * 1024, "item of {size} bytes");

    // Attempts are recorded (the born copy's body differs, its version and lease hold).
    assert!(b
        .callbacks
        .record_callback_attempt(&born, &attempt(503), &AttemptOutcome::RetryAt(now()), None)
        .await
        .expect("record"));
    let again = claim_callback(&b.callbacks, &born, now()).await;
    assert_eq!(again.body, stored.body, "the same bytes on every retry");
    assert!(b
        .callbacks
        .record_callback_attempt(&again, &attempt(204), &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
}

/// Four backends stand for four deliverer processes sweeping at once: every due callback is
/// claimed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_due_callback_is_claimed_once_among_many_processes() {
    let stack = common::stack().await;
    let b = &stack.backend;
    let mut ids = HashSet::new();
    for _ in 0..12 {
        let claimed = running(b, "w").await;
        let done = Completion::new(claimed, Ok(json!({"n": 1})), None);
        ids.insert(done.execution.execution_id.clone());
        assert!(b
            .executions
            .complete_execution(&done, Some("w"))
            .await
            .expect("complete"));
    }
    let mut stores: Vec<Arc<dyn CallbackStore>> = vec![b.callbacks.clone()];
    for _ in 0..3 {
        let (other, _) = backend_aws::open(&stack.config).await.expect("open");
        stores.push(other.callbacks);
    }
    let at = now();
    let tasks: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_due_callbacks(at, &lease(&format!("deliverer-{i}"), 30), 100)
                    .await
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.expect("task").expect("claim"));
    }
    let mut seen = HashSet::new();
    for c in &claimed {
        assert!(seen.insert(c.execution_id.clone()), "claimed twice: {c:?}");
        let stored = b
            .callbacks
            .get_callback(&c.tenant_id, &c.execution_id)
            .await
            .expect("get");
        assert_eq!(stored.as_ref(), Some(c), "the claim as stored");
    }
    assert_eq!(seen, ids, "every due callback claimed");
}

/// A dead-lettered execution, redriven and finished again, replaces its callback; a deliverer of
/// the first callback (same owner, same version) cannot write over the new one.
#[tokio::test]
async fn a_later_completion_replaces_the_callback_and_fences_the_old_one() {
    let stack = common::stack().await;
    let b = &stack.backend;
    let claimed = running(b, "w").await;
    let dead = Completion::new(
        claimed.clone(),
        Err(Error::new(ErrorKind::DeadLettered, "dead-lettered")),
        Some(lease("w", 60)),
    );
    assert!(b
        .executions
        .complete_execution(&dead, None)
        .await
        .expect("dead-letter"));
    let first = dead.callback.clone().expect("callback");
    assert!(b
        .executions
        .reopen_execution(&claimed.tenant_id, &claimed.execution_id)
        .await
        .expect("reopen"));
    let again = claim_execution(b, &claimed, "w").await;
    let done = Completion::new(again, Ok(json!({"fee": 2})), Some(lease("w", 60)));
    assert!(b
        .executions
        .complete_execution(&done, Some("w"))
        .await
        .expect("complete"));
    let second = done.callback.clone().expect("callback");
    assert_eq!(first.version, second.version);

    let stored = b
        .callbacks
        .get_callback(&first.tenant_id, &first.execution_id)
        .await
        .expect("get");
    assert_eq!(stored.as_ref(), Some(&second), "replaced");
    assert!(!b
        .callbacks
        .record_callback_attempt(&first, &attempt(204), &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    assert!(b
        .callbacks
        .record_callback_attempt(&second, &attempt(204), &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    let delivered = b
        .callbacks
        .get_callback(&first.tenant_id, &first.execution_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(delivered.status, CallbackStatus::Delivered);
    assert_eq!(delivered.body, second.body);
}

/// The very same attempt written twice (what the SDK does when an answer is lost) is recorded
/// once and answers true both times; a different write under the same lease answers false.
#[tokio::test]
async fn a_repeated_attempt_write_is_recognised() {
    let stack = common::stack().await;
    let b = &stack.backend;
    let claimed = running(b, "w").await;
    let done = Completion::new(claimed, Ok(json!({})), Some(lease("w", 60)));
    assert!(b
        .executions
        .complete_execution(&done, Some("w"))
        .await
        .expect("complete"));
    let born = done.callback.clone().expect("callback");
    let a = attempt(204);
    for _ in 0..2 {
        assert!(b
            .callbacks
            .record_callback_attempt(&born, &a, &AttemptOutcome::Delivered, None)
            .await
            .expect("record"));
    }
    assert!(!b
        .callbacks
        .record_callback_attempt(&born, &attempt(204), &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
    let stored = b
        .callbacks
        .get_callback(&born.tenant_id, &born.execution_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(stored.attempts, vec![a]);
}
