//! The flows path on moto (issue 13, item 5): a producer publishes execution requests straight
//! onto the work queue with the SQS SDK (no HTTP API, the documented message schema,
//! schemas/messages/execution-request.schema.json) and gets each result either from a queue of
//! its own, subscribed to the service's bus by an EventBridge rule on its `callerService`, or as
//! a signed callback. The service runs as real `integrations` processes on a stack on moto.

use std::time::{Duration, Instant};

use backend_aws::testing::{moto, queue_url, send_raw, MotoEndpoint, Subscriber};
use backend_aws::AwsConfig;
use fake_provider::FakeProvider;
use integration_tests::fleet::{fake_ghn, Fleet};
use integration_tests::{fee_input, ApiClient, KillOnDrop};
use integrations_core::model::{new_id, now, EVENT_SOURCE};
use reqwest::Method;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_integrations-under-test");
const FEE: &str = "/v2/shipping-order/fee";

/// A stack on moto with a GHN connection of tenant `t1`, one worker, and what a producer needs.
struct Flows {
    moto: MotoEndpoint,
    fake: FakeProvider,
    fleet: Fleet,
    config: AwsConfig,
    api: ApiClient,
    connection: String,
    /// The worker's `/metrics`.
    metrics: String,
    _processes: Vec<KillOnDrop>,
    _dir: tempfile::TempDir,
}

impl Flows {
    async fn start() -> Self {
        let moto = moto().await;
        let (fake, providers) = fake_ghn(Duration::ZERO).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let fleet = Fleet::on_moto(
            BIN,
            moto.url(),
            &providers,
            dir.path(),
            &["--allow-private-urls"],
        );
        let key = fleet.provision_key();
        // The producer's caller service, with the secret its callbacks are signed with.
        fleet.run(&[
            "create-key",
            "--caller-service",
            "flows-test",
            "--tenants",
            "t1",
        ]);
        let (api_process, api) = fleet.api(key);
        let connection = api.create_ghn_connection("t1", "flows").await;
        let (worker, line) = fleet.spawn(&["worker", "--metrics-listen", "127.0.0.1:0"]);
        let metrics = line
            .split_once("metrics on ")
            .map(|(_, url)| format!("{url}/metrics"))
            .unwrap_or_else(|| panic!("no metrics address in {line:?}"));
        let prefix = fleet.prefix.clone().expect("a stack on moto");
        let config = AwsConfig::with_prefix(&prefix);
        Self {
            moto,
            fake,
            fleet,
            config,
            api,
            connection,
            metrics,
            _processes: vec![api_process, worker],
            _dir: dir,
        }
    }

    /// A producer's queue and its rule on the service's bus, matching its own results only.
    async fn subscriber(&self, caller_service: &str) -> Subscriber {
        let pattern = json!({
            "source": [EVENT_SOURCE],
            "detail": {"callerService": [caller_service]}
        });
        let name = format!("{}-results-{caller_service}", self.config.queue_name);
        Subscriber::create(
            self.moto.url(),
            &self.config.event_bus_name,
            &name,
            &pattern,
        )
        .await
    }

    /// An execution request as a producer writes it: its own ULID as the execution id (the
    /// deduplication key), a tenant and that tenant's connection.
    fn request(&self, caller_service: &str, callback_url: Option<&str>) -> Value {
        let mut r = json!({
            "version": 1,
            "executionId": new_id(),
            "tenantId": "t1",
            "connectionId": self.connection,
            "actionId": "calculate_fee",
            "input": fee_input(),
            "callerService": caller_service,
            "callerRef": "flow-run-42",
            "submittedAt": now(),
        });
        if let Some(url) = callback_url {
            r["callbackUrl"] = json!(url);
        }
        r
    }

    /// SendMessage of the request onto the service's work queue, as the producer's SDK would.
    async fn publish(&self, request: &Value) {
        let queue = queue_url(self.moto.url(), &self.config.queue_name).await;
        send_raw(self.moto.url(), &queue, &request.to_string()).await;
    }

    /// The worker's `worker_duplicates_total` (0 before the first duplicate).
    async fn duplicates(&self) -> f64 {
        let text = reqwest::get(&self.metrics)
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix("worker_duplicates_total "))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }
}

fn id(request: &Value) -> &str {
    request["executionId"].as_str().expect("executionId")
}

/// Receive from `sub` into `seen` until the result event of execution `id` is there; returns it.
async fn result_event(sub: &Subscriber, id: &str, seen: &mut Vec<Value>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(e) = seen.iter().find(|e| e["detail"]["executionId"] == id) {
            return e.clone();
        }
        assert!(Instant::now() < deadline, "no result event of {id}");
        seen.extend(sub.receive().await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_publishes_straight_to_sqs_and_reads_only_its_results_from_its_own_queue() {
    let flows = Flows::start().await;
    let mine = flows.subscriber("flows-test").await;
    let theirs = flows.subscriber("other-test").await;

    let request = flows.request("flows-test", None);
    flows.publish(&request).await;
    let mut got_mine = Vec::new();
    let envelope = result_event(&mine, id(&request), &mut got_mine).await;
    assert_eq!(envelope["source"], EVENT_SOURCE);
    assert_eq!(envelope["detail-type"], "ExecutionSucceeded", "{envelope}");
    let event = &envelope["detail"];
    assert_eq!(event["eventType"], "ExecutionSucceeded");
    assert_eq!(event["status"], "succeeded", "{event}");
    assert_eq!(event["tenantId"], "t1");
    assert_eq!(event["connectionId"], flows.connection.as_str());
    assert_eq!(event["actionId"], "calculate_fee");
    assert_eq!(event["callerService"], "flows-test");
    assert_eq!(event["callerRef"], "flow-run-42");
    assert_eq!(event["attempts"], 1);
    // The output is the action's, as the execution recorded it (the worker created the record).
    let execution = flows
        .api
        .call(Method::GET, &format!("/executions/{}", id(&request)), None)
        .await;
    assert!(event["output"].is_object(), "{event}");
    assert_eq!(event["output"], execution["output"], "{execution}");

    // The producer sends the same request again (its send was retried): the action does not run
    // again and no second result event is published.
    flows.publish(&request).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while flows.duplicates().await < 1.0 {
        assert!(Instant::now() < deadline, "the duplicate was never dropped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Another producer's request: its result reaches its queue, and only its queue. moto routes
    // an event to every matching rule within PutEvents, so once it is in `theirs` it would also
    // be in `mine` if `mine`'s rule matched it.
    let other = flows.request("other-test", None);
    flows.publish(&other).await;
    let mut got_theirs = Vec::new();
    result_event(&theirs, id(&other), &mut got_theirs).await;
    got_mine.extend(mine.receive().await);
    got_theirs.extend(theirs.receive().await);
    let about = |events: &[Value], id: &str| {
        events
            .iter()
            .filter(|e| e["detail"]["executionId"] == id)
            .count()
    };
    assert_eq!(about(&got_mine, id(&request)), 1, "{got_mine:?}");
    assert_eq!(about(&got_mine, id(&other)), 0, "{got_mine:?}");
    assert_eq!(about(&got_theirs, id(&request)), 0, "{got_theirs:?}");
    assert_eq!(about(&got_theirs, id(&other)), 1, "{got_theirs:?}");
    assert_eq!(flows.fake.stats().calls(FEE), 2, "one call per execution");

    // A request for a tenant without that connection: recorded and failed at once, and the
    // producer learns it from its queue like any other result.
    let mut ghost = flows.request("flows-test", None);
    ghost["tenantId"] = json!("no-such-tenant");
    flows.publish(&ghost).await;
    let envelope = result_event(&mine, id(&ghost), &mut got_mine).await;
    assert_eq!(envelope["detail-type"], "ExecutionFailed", "{envelope}");
    let event = &envelope["detail"];
    assert_eq!(event["tenantId"], "no-such-tenant");
    assert_eq!(event["error"]["code"], "CONNECTION_NOT_FOUND", "{event}");
    assert_eq!(event["error"]["retryable"], false, "{event}");
    assert_eq!(flows.fake.stats().calls(FEE), 2, "no provider call for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_straight_on_sqs_with_a_callback_url_gets_its_signed_callback() {
    let flows = Flows::start().await;
    let secrets = flows
        .fleet
        .run(&["callback-secret", "show", "--caller-service", "flows-test"]);
    let (url, log) = integration_tests::recording_receiver().await;
    let request = flows.request("flows-test", Some(&url));
    flows.publish(&request).await;

    let webhook_id = format!("msg_{}", id(&request));
    let deadline = Instant::now() + Duration::from_secs(60);
    let callback = loop {
        let got = log.lock().expect("log").clone();
        if let Some(c) = got.into_iter().find(|c| c.webhook_id == webhook_id) {
            break c;
        }
        assert!(Instant::now() < deadline, "no callback for {webhook_id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for secret in secrets.lines() {
        standardwebhooks::Webhook::new(secret)
            .expect("secret")
            .verify(callback.body.as_bytes(), &callback.headers)
            .expect("signed with the caller service's secret");
    }
    let body: Value = serde_json::from_str(&callback.body).expect("JSON");
    assert_eq!(body["executionId"], id(&request));
    assert_eq!(body["status"], "succeeded", "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(body["callerService"], "flows-test");
    assert!(body["data"].is_object(), "{body}");

    // A signature over another body does not verify: the check above can fail.
    let forged = callback.body.replace("succeeded", "failed");
    let first = secrets.lines().next().expect("a secret");
    assert!(standardwebhooks::Webhook::new(first)
        .expect("secret")
        .verify(forged.as_bytes(), &callback.headers)
        .is_err());
}
