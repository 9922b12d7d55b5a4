//! DynamoDB specifics: claims from many processes, outputs over the item limit, provisioning
//! twice.

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use backend_aws::truncate::TRUNCATED_FLAG;
use integrations_core::backend::{ClaimOutcome, CreateOutcome, ExecutionStore, Lease};
use integrations_core::completion::Completion;
use integrations_core::conformance::{fresh_tenant, sample_execution};
use integrations_core::model::{now, Execution, ExecutionStatus, ResultEvent};
use serde_json::json;

/// Four backends stand for four worker processes: 32 claims of one execution at once, exactly
/// one wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_claim_wins_among_many_processes() {
    let stack = common::stack().await;
    let mut stores: Vec<Arc<dyn ExecutionStore>> = vec![stack.backend.executions.clone()];
    for _ in 0..3 {
        let (b, _) = backend_aws::open(&stack.config).await.expect("open");
        stores.push(b.executions);
    }
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    let created = stores[0].create_execution(&e, None).await.expect("create");
    assert_eq!(created, CreateOutcome::Created);

    let until = now() + chrono::Duration::seconds(60);
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let (tenant, id) = (tenant.clone(), e.execution_id.clone());
            let lease = Lease {
                owner: format!("worker-{i}"),
                until,
            };
            tokio::spawn(async move { store.claim_execution(&tenant, &id, &lease).await })
        })
        .collect();
    let mut winners = 0;
    for t in tasks {
        match t.await.expect("task").expect("claim") {
            ClaimOutcome::Claimed { .. } => winners += 1,
            ClaimOutcome::Leased { until: u } => assert_eq!(u, until),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners, 1);
    let stored = stores[1]
        .get_execution(&tenant, &e.execution_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (stored.status, stored.attempts),
        (ExecutionStatus::Running, 1)
    );
}

/// An output over DynamoDB's 400 KB is stored truncated with a flag, its event too (small enough
/// for EventBridge), and the event publishes.
#[tokio::test]
async fn a_huge_output_is_stored_truncated_and_its_event_publishes() {
    let stack = common::stack().await;
    let store = &stack.backend.executions;
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    store.create_execution(&e, None).await.expect("create");
    let lease = Lease {
        owner: "w".into(),
        until: now() + chrono::Duration::seconds(60),
    };
    let claimed = match store
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
        .expect("claim")
    {
        ClaimOutcome::Claimed { execution, .. } => *execution,
        other => panic!("{other:?}"),
    };
    let done = Execution {
        status: ExecutionStatus::Succeeded,
        output: Some(json!({"report": "é".repeat(400_000)})),
        finished_at: Some(now()),
        ..claimed
    };
    let event = ResultEvent::for_execution(&done).expect("terminal");
    let stored = store
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            Some("w"),
        )
        .await;
    assert!(stored.expect("complete: never an error for a large output"));

    let got = store
        .get_execution(&tenant, &e.execution_id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.status, ExecutionStatus::Succeeded);
    let output = got.output.expect("output");
    assert_eq!(output[TRUNCATED_FLAG], json!(true));
    assert!(output["preview"]
        .as_str()
        .is_some_and(|p| p.len() > 100_000));

    let pending = store.outbox_pending(10).await.expect("pending");
    assert_eq!(pending.len(), 1);
    let detail = pending[0].to_json().expect("json");
    assert!(
        detail.len() <= 240 * 1024,
        "event of {} bytes",
        detail.len()
    );
    assert_eq!(
        pending[0]
            .as_result()
            .and_then(|e| e.output.as_ref())
            .expect("output")[TRUNCATED_FLAG],
        json!(true)
    );
    let failed = stack
        .backend
        .events
        .publish(&pending)
        .await
        .expect("publish");
    assert!(failed.is_empty());
}

/// An input that cannot fit an item is refused with a clear error, not a crash.
#[tokio::test]
async fn a_huge_input_is_refused_with_payload_too_large() {
    let stack = common::stack().await;
    let e = Execution {
        input: json!({"blob": "x".repeat(500_000)}),
        ..sample_execution(&fresh_tenant(), now())
    };
    let err = stack
        .backend
        .executions
        .create_execution(&e, None)
        .await
        .expect_err("too large");
    assert_eq!(err.kind, integrations_core::ErrorKind::PayloadTooLarge);
    assert!(err.message.contains("400 KB"), "{err}");
}

/// `provision` twice on the same names is fine, and data survives it.
#[tokio::test]
async fn provisioning_is_idempotent() {
    let stack = common::stack().await;
    let e = sample_execution(&fresh_tenant(), now());
    stack
        .backend
        .executions
        .create_execution(&e, None)
        .await
        .expect("create");
    backend_aws::provision(&stack.config).await.expect("again");
    let (backend, handle) = backend_aws::open(&stack.config).await.expect("open");
    assert!(handle.warnings().is_empty(), "{:?}", handle.warnings());
    let got = backend
        .executions
        .get_execution(&e.tenant_id, &e.execution_id)
        .await;
    assert_eq!(got.expect("get"), Some(e));
    let ids: HashSet<_> = [&stack.config.queue_name, &stack.config.dlq_name]
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 2);
}

/// A table made by an older version, without the indexes added since, gets them from
/// `provision` (its data kept), and the stores that query them work.
#[tokio::test]
async fn provisioning_adds_the_indexes_an_older_table_lacks() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let moto = backend_aws::testing::moto().await;
    let config = moto.config();
    let dynamo = aws_sdk_dynamodb::Client::new(&backend_aws::sdk_config(&config).await);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    dynamo
        .create_table()
        .table_name(&config.executions_table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .attribute_definitions(attribute("PK"))
        .attribute_definitions(attribute("SK"))
        .send()
        .await
        .expect("an old table, without indexes");
    let old = aws_sdk_dynamodb::types::AttributeValue::S("OLD#1".into());
    dynamo
        .put_item()
        .table_name(&config.executions_table)
        .item("PK", old.clone())
        .item("SK", old.clone())
        .send()
        .await
        .expect("an old item");

    backend_aws::provision(&config).await.expect("provision");
    let table = dynamo
        .describe_table()
        .table_name(&config.executions_table)
        .send()
        .await
        .expect("describe");
    let mut names: Vec<&str> = table
        .table()
        .expect("table")
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "DueCallbacks",
            "ExecutionsByConnectionShard",
            "ExecutionsByTenantShard",
            "PendingEvents",
            "ProviderEventsByTenantShard"
        ]
    );
    let kept = dynamo
        .get_item()
        .table_name(&config.executions_table)
        .key("PK", old.clone())
        .key("SK", old)
        .send()
        .await
        .expect("get");
    assert!(kept.item().is_some(), "the old item was kept");
    let (backend, _handle) = backend_aws::open(&config).await.expect("open");
    let lease = integrations_core::backend::Lease {
        owner: "w".into(),
        until: now(),
    };
    let due = backend
        .callbacks
        .claim_due_callbacks(now(), &lease, 10)
        .await;
    assert_eq!(due.expect("the DueCallbacks index answers").len(), 0);
    backend_aws::provision(&config)
        .await
        .expect("provision again");
}

/// `migrate-layout`: executions, idempotency records and outbox events written in the
/// one-partition-per-tenant layout are copied into today's, where reads by id, listings and the
/// idempotency key work as before; a second run copies nothing, and split into segments it
/// covers the table once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_layout_migrates_idempotently() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use backend_aws::migrate::{copy_layout, MigrationScope};
    use integrations_core::backend::{ExecutionFilter, IdempotencyClaim};

    let source = common::stack().await;
    let tenant = fresh_tenant();
    let mut created = Vec::new();
    for i in 0..12 {
        let e = sample_execution(&tenant, now() + chrono::Duration::milliseconds(i));
        let claim = (i == 0).then(|| IdempotencyClaim {
            key: "order-1".into(),
            request_hash: "h1".into(),
        });
        let answer = source
            .backend
            .executions
            .create_execution(&e, claim.as_ref())
            .await;
        assert_eq!(answer.expect("create"), CreateOutcome::Created);
        created.push(e);
    }
    // The same items in the old layout, in a table of the old key schema.
    let sdk = backend_aws::sdk_config(&source.config).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let old_table = format!("{}-old", source.config.executions_table);
    let key = |name: &str, kind| {
        aws_sdk_dynamodb::types::KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attr = |name: &str| {
        aws_sdk_dynamodb::types::AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    dynamo
        .create_table()
        .table_name(&old_table)
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(key("PK", aws_sdk_dynamodb::types::KeyType::Hash))
        .key_schema(key("SK", aws_sdk_dynamodb::types::KeyType::Range))
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .send()
        .await
        .expect("old table");
    let items = dynamo
        .scan()
        .table_name(&source.config.executions_table)
        .send()
        .await
        .expect("scan");
    let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| match item
        .get(name)
    {
        Some(AttributeValue::S(v)) => v.clone(),
        other => panic!("{name}: {other:?}"),
    };
    for item in items.items() {
        let mut old = item.clone();
        let (pk, sk) = (text(item, "PK"), text(item, "SK"));
        if let Some(id) = pk.strip_prefix("EXEC#") {
            old.insert("PK".into(), AttributeValue::S(sk.clone()));
            old.insert("SK".into(), AttributeValue::S(format!("EXEC#{id}")));
            old.remove("tenantShard");
            let connection = format!("{sk}#CONNECTION#{}", text(item, "connectionId"));
            old.insert("connectionKey".into(), AttributeValue::S(connection));
            old.remove("connectionShard");
        } else if let Some(key) = pk.strip_prefix("IDEMP#") {
            old.insert("PK".into(), AttributeValue::S(sk.clone()));
            old.insert("SK".into(), AttributeValue::S(format!("IDEMP#{key}")));
        }
        dynamo
            .put_item()
            .table_name(&old_table)
            .set_item(Some(old))
            .send()
            .await
            .expect("old item");
    }

    // The target on the same emulator as the old table.
    let target_config = source.moto.provisioned().await;
    let (target, _) = backend_aws::open(&target_config).await.expect("open");
    let mut positions = Vec::new();
    let counts = copy_layout(
        &target_config,
        &old_table,
        &MigrationScope::default(),
        |_, p| {
            positions.push(p.map(str::to_string));
        },
    )
    .await
    .expect("migrate");
    assert_eq!(counts.scanned, 13);
    assert_eq!(counts.copied.get("execution"), Some(&12));
    assert_eq!(counts.copied.get("idempotency"), Some(&1));
    assert_eq!(
        positions.last(),
        Some(&None),
        "the last page has no position"
    );

    let store = &target.executions;
    for e in &created {
        let got = store
            .get_execution(&tenant, &e.execution_id)
            .await
            .expect("get");
        assert_eq!(got.as_ref(), Some(e));
        assert_eq!(
            store
                .get_execution("someone-else", &e.execution_id)
                .await
                .expect("get"),
            None
        );
    }
    let page = store
        .list_executions(
            &tenant,
            &ExecutionFilter {
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let newest: Vec<_> = created
        .iter()
        .rev()
        .take(5)
        .map(|e| e.execution_id.clone())
        .collect();
    assert_eq!(
        page.items
            .iter()
            .map(|e| e.execution_id.clone())
            .collect::<Vec<_>>(),
        newest
    );
    let again = sample_execution(&tenant, now());
    let claim = IdempotencyClaim {
        key: "order-1".into(),
        request_hash: "h1".into(),
    };
    match store
        .create_execution(&again, Some(&claim))
        .await
        .expect("create")
    {
        CreateOutcome::Existing { execution, .. } => {
            assert_eq!(execution.execution_id, created[0].execution_id)
        }
        other => panic!("the key was migrated: {other:?}"),
    }

    // Again, in two segments: everything is already there.
    let mut skipped = 0;
    for segment in 0..2 {
        let scope = MigrationScope {
            segment: Some((segment, 2)),
            resume: None,
        };
        let counts = copy_layout(&target_config, &old_table, &scope, |_, _| {})
            .await
            .expect("rerun");
        assert!(counts.copied.is_empty(), "{counts:?}");
        skipped += counts.skipped;
    }
    assert_eq!(skipped, 13);
    let bad = MigrationScope {
        segment: None,
        resume: Some("not a position".into()),
    };
    assert!(copy_layout(&target_config, &old_table, &bad, |_, _| {})
        .await
        .is_err());
}

/// Listing partitions are text: tenant `t#CONNECTION#c` with connection `x` and tenant `t` with
/// connection `c#CONNECTION#x` name the same one for the same execution id. Each listing still
/// returns its own tenant's execution only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_whose_ids_collide_as_text_list_apart() {
    use integrations_core::backend::ExecutionFilter;

    let stack = common::stack().await;
    let store = &stack.backend.executions;
    let base = fresh_tenant();
    let pairs = [
        (format!("{base}#CONNECTION#c"), "x".to_string()),
        (base.clone(), "c#CONNECTION#x".to_string()),
    ];
    let id = ulid::Ulid::new().to_string();
    for (tenant, connection) in &pairs {
        let e = Execution {
            execution_id: id.clone(),
            connection_id: connection.clone(),
            ..sample_execution(tenant, now())
        };
        let created = store.create_execution(&e, None).await.expect("create");
        assert_eq!(created, CreateOutcome::Created);
    }
    for (tenant, connection) in &pairs {
        let filter = ExecutionFilter {
            connection_id: Some(connection.clone()),
            ..Default::default()
        };
        let page = store.list_executions(tenant, &filter).await.expect("list");
        let owners: Vec<_> = page.items.iter().map(|e| e.tenant_id.clone()).collect();
        assert_eq!(owners, vec![tenant.clone()]);
    }
}
