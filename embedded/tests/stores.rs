//! Store specifics: expiry, the in-process event bus, completion notices, persistence.

mod common;

use integrations_core::completion::Completion;
use std::time::Duration;

use integrations_core::backend::{
    CreateOutcome, EventBus, ExecutionStore, IdempotencyClaim, Lease,
};
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};
use integrations_core::outbox::OutboxEvent;

fn claim(key: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        key: key.to_string(),
        request_hash: "hash".to_string(),
    }
}

#[tokio::test]
async fn purge_expired_deletes_old_executions_and_their_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let tenant = fresh_tenant();
    let t = now();
    let old = Execution {
        expires_at: t - chrono::Duration::seconds(1),
        ..sample_execution(&tenant, t - chrono::Duration::days(31))
    };
    let young = sample_execution(&tenant, t);
    for (e, key) in [(&old, "old-key"), (&young, "young-key")] {
        let created = backend.create_execution(e, Some(&claim(key))).await;
        assert_eq!(created.expect("create"), CreateOutcome::Created);
    }

    let report = backend.purge_expired(t).await.expect("purge");
    assert_eq!((report.executions, report.idempotency_records), (1, 1));
    let gone = backend.get_execution(&tenant, &old.execution_id).await;
    assert_eq!(gone.expect("get"), None);
    let kept = backend.get_execution(&tenant, &young.execution_id).await;
    assert_eq!(kept.expect("get"), Some(young.clone()));

    // The expired key is free again; the live one still answers with its execution.
    let reuse = sample_execution(&tenant, t);
    let created = backend
        .create_execution(&reuse, Some(&claim("old-key")))
        .await;
    assert_eq!(created.expect("create"), CreateOutcome::Created);
    let again = sample_execution(&tenant, t);
    let existing = backend
        .create_execution(&again, Some(&claim("young-key")))
        .await;
    assert!(matches!(
        existing.expect("create"),
        CreateOutcome::Existing { .. }
    ));

    let nothing = backend.purge_expired(t).await.expect("purge again");
    assert_eq!(nothing.executions, 0);
}

#[tokio::test]
async fn published_events_reach_subscribers_and_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let mut subscriber = backend.subscribe();
    let e = Execution {
        status: ExecutionStatus::Succeeded,
        finished_at: Some(now()),
        ..sample_execution(&fresh_tenant(), now())
    };
    let event: OutboxEvent = ResultEvent::for_execution(&e).expect("terminal").into();
    let failed = backend.publish(std::slice::from_ref(&event)).await;
    assert!(failed.expect("publish").is_empty());

    let received = tokio::time::timeout(Duration::from_secs(1), subscriber.recv()).await;
    assert_eq!(received.expect("in time").expect("event"), event);
    let log = backend.published_events(0, 10).await.expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].event, event);
    let later = backend.published_events(log[0].seq, 10).await.expect("log");
    assert!(later.is_empty());
}

#[tokio::test]
async fn completions_announce_finished_executions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let mut completions = backend.completions().expect("embedded has completions");
    let e = sample_execution(&fresh_tenant(), now());
    backend.create_execution(&e, None).await.expect("create");
    let lease = Lease {
        owner: "w".to_string(),
        until: now() + chrono::Duration::seconds(60),
    };
    backend
        .claim_execution(&e.tenant_id, &e.execution_id, &lease)
        .await
        .expect("claim");
    let done = Execution {
        status: ExecutionStatus::Succeeded,
        attempts: 1,
        finished_at: Some(now()),
        ..e.clone()
    };
    let event = ResultEvent::for_execution(&done).expect("terminal");
    let completed = backend
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            Some("w"),
        )
        .await;
    assert!(completed.expect("complete"));
    let id = tokio::time::timeout(Duration::from_secs(1), completions.recv()).await;
    assert_eq!(id.expect("in time").expect("id"), e.execution_id);

    let not_terminal = backend
        .complete_execution(
            &Completion::without_callback(e.clone(), event.clone()),
            None,
        )
        .await;
    assert!(
        not_terminal.is_err(),
        "completing with a non-terminal status is a bug"
    );
}

#[tokio::test]
async fn executions_survive_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let e = sample_execution(&fresh_tenant(), now());
    backend.create_execution(&e, None).await.expect("create");
    drop(backend);
    let reopened = common::open(dir.path()).await;
    let got = reopened.get_execution(&e.tenant_id, &e.execution_id).await;
    assert_eq!(got.expect("get"), Some(e));
}

#[tokio::test]
async fn purge_expired_forgets_webhook_keys_past_their_window_and_old_provider_events() {
    use integrations_core::webhooks::{InboundWebhook, ProviderEvent, RecordOutcome, WebhookStore};
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = common::open(dir.path()).await;
    let tenant = fresh_tenant();
    let t = now();
    let webhook = |key: &str, received_at, dedupe_until| InboundWebhook {
        dedupe_key: key.to_string(),
        dedupe_until,
        event: ProviderEvent {
            event_id: integrations_core::model::new_id(),
            tenant_id: tenant.clone(),
            connection_id: "conn-a".into(),
            integration_id: "payment-stripe".into(),
            event_type: "payment.succeeded".into(),
            provider_type: "payment_intent.succeeded".into(),
            occurred_at: received_at,
            received_at,
            unmasked_data: None,
            data: serde_json::json!({}),
        },
        event_claim: None,
    };
    let long_ago = t - chrono::Duration::days(31);
    let old = webhook("old", long_ago, long_ago + chrono::Duration::days(7));
    let young = webhook("young", t, t + chrono::Duration::days(7));
    for w in [&old, &young] {
        assert_eq!(
            backend.record_webhook(w).await.expect("record"),
            RecordOutcome::Recorded
        );
    }
    let report = backend.purge_expired(t).await.expect("purge");
    assert_eq!((report.webhook_keys, report.provider_events), (1, 1));
    let gone = backend
        .get_provider_event(&tenant, &old.event.event_id)
        .await;
    assert_eq!(gone.expect("get"), None);
    let kept = backend
        .get_provider_event(&tenant, &young.event.event_id)
        .await;
    assert_eq!(kept.expect("get"), Some(young.event.clone()));
    let again = webhook("young", t, t + chrono::Duration::days(7));
    assert!(matches!(
        backend.record_webhook(&again).await.expect("record"),
        RecordOutcome::Duplicate { .. }
    ));
}
