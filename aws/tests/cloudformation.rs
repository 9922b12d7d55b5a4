//! infra/template.yaml, created as a CloudFormation stack in moto (by infra/moto_stack.py, with
//! boto3), serves the backend exactly as the stack's task definitions configure it: the API and
//! two workers each open the backend from their task definition's environment (the
//! `INTEGRATIONS_AWS_*` variables of `backend_aws::config::env`, set from the stack's resources)
//! under a prefix that names nothing, so no resource is found by guessing its name. An execution
//! succeeds, its result event reaches the example caller's queue through the stack's rule, and a
//! poison message reaches the stack's dead-letter queue.
//!
//! moto's CloudFormation creates the queues, tables, bus, archive, rules, SNS topic, KMS key and
//! alias, IAM policies and roles, log groups, security groups, the load balancer, its target
//! group and listener, the ECS cluster, task definitions and services. It does not implement
//! `SKIPPED_BY_MOTO` (it skips them with a warning and reports the stack complete); the test
//! checks that exactly those are missing, and cfn-lint (scripts/test.sh) checks them statically.
//! The ECS services exist but run no tasks: moto runs no containers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use backend_aws::config::env;
use backend_aws::testing::{deploy_stack as deploy, moto};
use backend_aws::{AwsConfig, ResourceNames};
use integrations_core::backend::{
    Backend, ClaimOutcome, ConnectionFilter, CreateOutcome, ExecutionFilter, Lease, OutgoingMessage,
};
use integrations_core::callbacks::{AttemptOutcome, CallbackAttempt};
use integrations_core::completion::Completion;
use integrations_core::conformance::{fresh_tenant, sample_connection, sample_execution};
use integrations_core::model::{
    now, secret_name, ApiKey, Credentials, ExecutionStatus, ResultEvent,
};

/// Resource types of the template that moto 5.x's CloudFormation does not implement.
const SKIPPED_BY_MOTO: [&str; 6] = [
    "AWS::ApplicationAutoScaling::ScalableTarget",
    "AWS::ApplicationAutoScaling::ScalingPolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Logs::MetricFilter",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
];

/// The example caller service whose results the stack routes to its own queue (the template's
/// ExampleCallerService default).
const CALLER: &str = "flows";

/// The backend's configuration from a task definition's environment, under a prefix that names
/// no resource of the stack.
fn config_from(environment: &BTreeMap<String, String>, endpoint: &str) -> AwsConfig {
    AwsConfig::with_prefix("not-the-stack")
        .with_resource_names(&ResourceNames::from_vars(environment))
        .for_emulator(endpoint)
}

async fn open(config: &AwsConfig) -> Backend {
    let (backend, handle) = backend_aws::open(config)
        .await
        .expect("open the stack's resources");
    let policy = handle
        .queue_check()
        .redrive_policy
        .clone()
        .expect("RedrivePolicy");
    assert_eq!(policy.max_receive_count, 2);
    assert!(handle.warnings().is_empty(), "{:?}", handle.warnings());
    backend
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cloudformation_stack_serves_the_backend() {
    let moto = moto().await;
    let prefix = format!("cfn-{}", ulid::Ulid::new().to_string().to_lowercase());
    let stack = deploy(moto.url(), &prefix, &[]);

    // What moto could not create: exactly the types it does not implement.
    let skipped: BTreeSet<&str> = stack.skipped.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(
        skipped,
        SKIPPED_BY_MOTO.into_iter().collect(),
        "{:?}",
        stack.skipped
    );
    for output in [
        "ClusterName",
        "ApiServiceName",
        "WorkerServiceName",
        "LoadBalancerUrl",
        "ProducerPolicyArn",
    ] {
        assert!(stack.outputs.contains_key(output), "output {output}");
    }

    // The task definitions start `integrations api` and `integrations worker` on the AWS
    // backend, with every resource named from the stack (the outputs carry the same values).
    let api = &stack.containers["api"];
    let worker = &stack.containers["worker"];
    assert_eq!(api.command, ["api"]);
    assert_eq!(worker.command, ["worker"]);
    let from_outputs = [
        (env::QUEUE_URL, "WorkQueueUrl"),
        (env::DLQ_NAME, "DeadLetterQueueName"),
        (env::CONNECTIONS_TABLE, "ConnectionsTableName"),
        (env::EXECUTIONS_TABLE, "ExecutionsTableName"),
        (env::API_KEYS_TABLE, "ApiKeysTableName"),
        (env::EVENT_BUS, "EventBusName"),
        (env::SECRETS_KMS_KEY, "KeyArn"),
    ];
    assert_eq!(from_outputs.len(), env::ALL.len());
    for c in [api, worker] {
        assert_eq!(c.environment["INTEGRATIONS_BACKEND"], "aws");
        assert_eq!(c.environment["INTEGRATIONS_MAX_RECEIVE_COUNT"], "2");
        for (var, output) in from_outputs {
            assert_eq!(c.environment.get(var), stack.outputs.get(output), "{var}");
        }
    }
    let api_config = config_from(&api.environment, moto.url());
    let worker_config = config_from(&worker.environment, moto.url());
    assert_eq!(api_config, worker_config);
    for name in [
        &api_config.dlq_name,
        &api_config.connections_table,
        &api_config.executions_table,
        &api_config.api_keys_table,
        &api_config.event_bus_name,
    ] {
        assert!(name.starts_with(&prefix), "{name}");
    }

    let api = open(&api_config).await;
    let workers = [open(&worker_config).await, open(&worker_config).await];

    // The API's side: a key, a connection with its secret (encrypted with the stack's key), an
    // execution recorded and enqueued.
    let tenant = fresh_tenant();
    let key = ApiKey {
        key_id: "k1".into(),
        key_hash: format!("hash-{prefix}"),
        caller_service: CALLER.into(),
        tenants: Some(vec![tenant.clone()]),
        created_at: now(),
    };
    api.api_keys.put_api_key(&key).await.expect("api key");
    assert_eq!(
        api.api_keys
            .find_api_key(&key.key_hash)
            .await
            .expect("find"),
        Some(key)
    );
    let connection = sample_connection(&tenant, now());
    api.connections
        .create_connection(&connection)
        .await
        .expect("connection");
    let by_integration = ConnectionFilter {
        integration_id: Some(connection.integration_id.clone()),
        status: None,
    };
    let listed = api
        .connections
        .list_connections(&tenant, &by_integration)
        .await;
    assert_eq!(listed.expect("list connections"), vec![connection.clone()]);
    let secret = secret_name(&tenant, &connection.connection_id);
    let credentials = Credentials([("token".to_string(), "t1".to_string())].into());
    api.secrets
        .put_secret(&secret, &credentials)
        .await
        .expect("put secret");

    let mut e = sample_execution(&tenant, now());
    e.caller_service = Some(CALLER.into());
    let created = api
        .executions
        .create_execution(&e, None)
        .await
        .expect("create");
    assert_eq!(created, CreateOutcome::Created);
    let message = |id: &str, body: &str| OutgoingMessage {
        body: body.into(),
        execution_id: id.into(),
        delay: Duration::ZERO,
        trace_parent: None,
        fair_group: None,
    };
    api.queue
        .send(&[message(&e.execution_id, "{}")])
        .await
        .expect("send");

    // A worker runs it: receive, claim, credentials, complete with its event, publish.
    let w = &workers[0];
    let got = w
        .queue
        .receive(10, Duration::from_secs(2), Duration::from_secs(30))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].execution_id.as_deref(),
        Some(e.execution_id.as_str())
    );
    let lease = Lease {
        owner: "w".into(),
        until: now() + chrono::Duration::seconds(30),
    };
    let claimed = match w
        .executions
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
    {
        Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
        other => panic!("claim: {other:?}"),
    };
    assert_eq!(
        w.secrets.get_secret(&secret).await.expect("get secret"),
        Some(credentials)
    );
    let done = integrations_core::model::Execution {
        status: ExecutionStatus::Succeeded,
        finished_at: Some(now()),
        ..claimed
    };
    let event = ResultEvent::for_execution(&done).expect("event");
    assert!(w
        .executions
        .complete_execution(
            &Completion::without_callback(done.clone(), event.clone()),
            Some("w")
        )
        .await
        .expect("complete"));
    w.queue
        .delete(&[got[0].receipt.clone()])
        .await
        .expect("delete");
    let pending = w.executions.outbox_pending(10).await.expect("pending");
    assert_eq!(pending, vec![event.clone().into()]);
    let page = api
        .executions
        .list_executions(&tenant, &ExecutionFilter::default())
        .await
        .expect("list executions");
    assert_eq!(page.items, vec![done]);
    assert!(w
        .events
        .publish(&pending)
        .await
        .expect("publish")
        .is_empty());
    w.executions
        .outbox_remove(std::slice::from_ref(&event.event_id))
        .await
        .expect("remove");

    // The result event reaches the caller's own queue through the stack's rule.
    let sdk = backend_aws::sdk_config(&api_config).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let results_queue = &stack.outputs["CallerResultsQueueUrl"];
    let deadline = Instant::now() + Duration::from_secs(20);
    let delivered = loop {
        let got = sqs
            .receive_message()
            .queue_url(results_queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from the caller's queue");
        let found = got.messages().iter().find_map(|m| {
            let v: serde_json::Value = serde_json::from_str(m.body()?).ok()?;
            (v["detail"]["eventId"] == event.event_id.as_str()).then_some(v)
        });
        if let Some(v) = found {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "no result event in {results_queue}"
        );
    };
    assert_eq!(delivered["detail-type"], "ExecutionSucceeded");
    assert_eq!(delivered["source"], "integrations.executions");
    assert_eq!(delivered["detail"]["executionId"], e.execution_id.as_str());
    assert_eq!(delivered["detail"]["callerService"], CALLER);

    // A poison message: received MaxReceiveCount (2) times without being deleted, then moved to
    // the stack's dead-letter queue, where the other worker finds it.
    let poison = format!("poison-{prefix}");
    api.queue
        .send(&[message(&poison, "not json")])
        .await
        .expect("send poison");
    let w = &workers[1];
    let deadline = Instant::now() + Duration::from_secs(20);
    let dead = loop {
        let _ = w
            .queue
            .receive(10, Duration::from_millis(200), Duration::ZERO)
            .await
            .expect("receive");
        let dead = w
            .queue
            .receive_dead_letters(10, Duration::from_secs(30))
            .await
            .expect("dead letters");
        if let Some(d) = dead
            .into_iter()
            .find(|d| d.execution_id.as_deref() == Some(poison.as_str()))
        {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "the poison message never reached the DLQ"
        );
    };
    assert_eq!(dead.body, "not json");
    w.queue
        .delete_dead_letter(&dead.receipt)
        .await
        .expect("delete dead letter");

    // A callback, through the template's DueCallbacks index.
    let w = &workers[0];
    let mut e = sample_execution(&tenant, now());
    e.callback_url = Some("https://example.com/cb".into());
    api.executions
        .create_execution(&e, None)
        .await
        .expect("create");
    let claimed = match w
        .executions
        .claim_execution(&tenant, &e.execution_id, &lease)
        .await
    {
        Ok(ClaimOutcome::Claimed { execution, .. }) => *execution,
        other => panic!("claim: {other:?}"),
    };
    let done = Completion::new(claimed, Ok(serde_json::json!({})), None);
    assert!(w
        .executions
        .complete_execution(&done, Some("w"))
        .await
        .expect("complete"));
    let due = workers[1]
        .callbacks
        .claim_due_callbacks(now(), &lease, 10)
        .await
        .expect("claim due callbacks");
    assert_eq!(due.len(), 1);
    let attempt = CallbackAttempt {
        at: now(),
        status_code: Some(204),
        duration_ms: 1,
        error: None,
    };
    assert!(workers[1]
        .callbacks
        .record_callback_attempt(&due[0], &attempt, &AttemptOutcome::Delivered, None)
        .await
        .expect("record"));
}

/// DeployCompute=false: the data plane alone (for a service run outside ECS), with the same
/// outputs for its configuration and no fleet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_plane_deploys_without_the_fleet() {
    let moto = moto().await;
    let prefix = format!("cfd-{}", ulid::Ulid::new().to_string().to_lowercase());
    let stack = deploy(moto.url(), &prefix, &["DeployCompute=false"]);
    assert!(stack.containers.is_empty());
    assert!(!stack.outputs.contains_key("ClusterName"));
    assert!(!stack.outputs.contains_key("LoadBalancerUrl"));
    let skipped: BTreeSet<&str> = stack.skipped.iter().map(|(_, t)| t.as_str()).collect();
    let expected: BTreeSet<&str> = [
        "AWS::CloudWatch::Alarm",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
    ]
    .into();
    assert_eq!(skipped, expected, "{:?}", stack.skipped);

    let environment = [
        (env::QUEUE_URL, "WorkQueueUrl"),
        (env::DLQ_NAME, "DeadLetterQueueName"),
        (env::CONNECTIONS_TABLE, "ConnectionsTableName"),
        (env::EXECUTIONS_TABLE, "ExecutionsTableName"),
        (env::API_KEYS_TABLE, "ApiKeysTableName"),
        (env::EVENT_BUS, "EventBusName"),
        (env::SECRETS_KMS_KEY, "KeyArn"),
    ]
    .map(|(var, output)| (var, stack.outputs[output].clone()));
    let config = AwsConfig::with_prefix("not-the-stack")
        .with_resource_names(&ResourceNames::from_vars(environment))
        .for_emulator(moto.url());
    let b = open(&config).await;
    let tenant = fresh_tenant();
    let e = sample_execution(&tenant, now());
    assert_eq!(
        b.executions
            .create_execution(&e, None)
            .await
            .expect("create"),
        CreateOutcome::Created
    );
}
