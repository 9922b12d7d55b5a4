//! Every route of the HTTP API, including its errors, through the real server and worker.

use integration_tests::{create_key, fee_input, Harness, SHOP_ID, TOKEN};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn health_metrics_unknown_routes_and_methods() {
    let h = Harness::start().await;
    let (s, b) = h
        .call_with_key(Method::GET, "/healthz", None, None, None)
        .await;
    assert_eq!((s, b["status"].as_str()), (StatusCode::OK, Some("ok")));

    let (s, b) = h.call(Method::GET, "/nope", "t1", None).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let (s, b) = h.call(Method::PUT, "/catalog", "t1", None).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED")
    );
    assert_eq!(b["error"]["retryable"], false);

    let metrics = h.metrics().await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    h.stop().await;
}

#[tokio::test]
async fn authentication_and_tenant_scope() {
    let h = Harness::start().await;
    let (s, b) = h
        .call_with_key(Method::GET, "/catalog", None, Some("t1"), None)
        .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));
    let (s, b) = h
        .call_with_key(Method::GET, "/catalog", Some("isk_wrong"), Some("t1"), None)
        .await;
    assert_eq!((s, code(&b)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));
    let (s, b) = h.call(Method::GET, "/catalog", "t3", None).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (s, b) = h
        .call_with_key(Method::GET, "/catalog", Some(&h.key), None, None)
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );

    // A key for all tenants works for any.
    let admin = create_key(&h.backend, "ai-agents", None).await;
    let (s, _) = h
        .call_with_key(Method::GET, "/catalog", Some(&admin), Some("t9"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    h.stop().await;
}

#[tokio::test]
async fn catalog_routes() {
    let h = Harness::start().await;
    let (s, b) = h.call(Method::GET, "/catalog", "t1", None).await;
    assert_eq!(s, StatusCode::OK);
    let list = b["integrations"].as_array().expect("list");
    let mut ids: Vec<&str> = list
        .iter()
        .filter_map(|i| i["integrationId"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        [
            "crm-hubspot",
            "ecommerce-haravan",
            "ecommerce-prestashop",
            "ecommerce-sapo",
            "ecommerce-shopify",
            "ecommerce-woocommerce",
            "payment-momo",
            "payment-stripe",
            "payment-vnpay",
            "payment-zalopay",
            "shipping-ghn",
            "shipping-ghtk",
            "shipping-viettelpost"
        ],
        "the catalog lists every connector"
    );
    let ghn = list
        .iter()
        .find(|i| i["integrationId"] == "shipping-ghn")
        .expect("GHN listed");
    assert!(
        ghn.get("configSchema").is_none(),
        "summaries carry no schemas"
    );

    let (_, b) = h
        .call(Method::GET, "/catalog?category=shipping", "t1", None)
        .await;
    assert!(!b["integrations"].as_array().expect("list").is_empty());
    let (_, b) = h
        .call(Method::GET, "/catalog?category=payment", "t1", None)
        .await;
    let payments = b["integrations"].as_array().expect("list");
    assert!(
        payments.iter().all(|i| i["category"] == "payment"),
        "the filter keeps payment integrations only: {b}"
    );
    assert!(payments
        .iter()
        .all(|i| i["integrationId"] != "shipping-ghn"));
    let (_, b) = h
        .call(Method::GET, "/catalog?status=deprecated", "t1", None)
        .await;
    assert!(b["integrations"].as_array().expect("list").is_empty());
    let (s, b) = h.call(Method::GET, "/catalog?colour=red", "t1", None).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );

    let (s, b) = h
        .call(Method::GET, "/catalog/shipping-ghn", "t1", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["configSchema"]["properties"]["apiKey"]["writeOnly"], true);

    let (s, b) = h
        .call(
            Method::GET,
            "/catalog/shipping-ghn/actions/calculate_fee",
            "t1",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["category"], "read");
    assert!(b["inputSchema"]["properties"].is_object());

    let (s, b) = h
        .call(Method::GET, "/catalog/shipping-nope", "t1", None)
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "INTEGRATION_NOT_FOUND")
    );
    let (s, b) = h
        .call(
            Method::GET,
            "/catalog/shipping-ghn/actions/teleport",
            "t1",
            None,
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ACTION_NOT_FOUND"));
    h.stop().await;
}

#[tokio::test]
async fn connection_lifecycle_and_errors() {
    let h = Harness::start().await;
    let create = |body: Value| h.call(Method::POST, "/connections", "t1", Some(body));

    // Invalid creations.
    let (s, b) = create(json!({"integrationId": "shipping-ghn", "name": "x",
        "config": {"shopId": SHOP_ID, "apiKey": TOKEN}}))
    .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );
    assert!(message(&b).contains("apiKey"), "{b}");
    assert!(!b.to_string().contains(TOKEN));
    let (s, b) = create(json!({"integrationId": "shipping-ghn", "name": "x",
        "config": {}, "credentials": {"apiKey": TOKEN}}))
    .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );
    assert!(message(&b).contains("shopId"), "{b}");
    let (s, b) = create(json!({"integrationId": "shipping-ghn", "name": "x",
        "config": {"shopId": SHOP_ID}}))
    .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );
    assert!(message(&b).contains("apiKey"), "{b}");
    let (s, b) = create(json!({"integrationId": "shipping-zzz", "name": "x"})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "INTEGRATION_NOT_FOUND")
    );
    let (s, b) = create(json!({"integrationId": "shipping-ghn", "name": "x", "colour": 1})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );
    assert!(message(&b).contains("colour"), "{b}");

    // Create, read, list.
    let id = h.create_connection("t1").await;
    let (s, b) = h
        .call(Method::GET, &format!("/connections/{id}"), "t1", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["status"], "active");
    assert!(b.get("credentials").is_none() && b.get("credentialsRef").is_none());
    assert!(!b.to_string().contains(TOKEN));
    let (_, b) = h
        .call(
            Method::GET,
            "/connections?integrationId=shipping-ghn",
            "t1",
            None,
        )
        .await;
    assert_eq!(b["connections"].as_array().expect("list").len(), 1);
    let (_, b) = h
        .call(Method::GET, "/connections?status=inactive", "t1", None)
        .await;
    assert!(b["connections"].as_array().expect("list").is_empty());
    let (s, _) = h
        .call(Method::GET, "/connections?status=sleepy", "t1", None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Another tenant sees nothing of it.
    let (s, b) = h
        .call(Method::GET, &format!("/connections/{id}"), "t2", None)
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "CONNECTION_NOT_FOUND")
    );
    let (_, b) = h.call(Method::GET, "/connections", "t2", None).await;
    assert!(b["connections"].as_array().expect("list").is_empty());
    let (s, _) = h
        .call(Method::DELETE, &format!("/connections/{id}"), "t2", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h
        .call(Method::POST, &format!("/connections/{id}/test"), "t2", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Test passes with the right credentials.
    let (s, b) = h
        .call(Method::POST, &format!("/connections/{id}/test"), "t1", None)
        .await;
    assert_eq!(
        (s, b["success"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{b}"
    );
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{id}"), "t1", None)
        .await;
    assert!(c["lastTestedAt"].is_string());

    // Rotate to a wrong token: the test fails and the connection records it.
    let wrong = "ghn-wrong-token-55aa";
    let (s, b) = h
        .call(
            Method::PATCH,
            &format!("/connections/{id}"),
            "t1",
            Some(json!({"name": "renamed", "credentials": {"apiKey": wrong}})),
        )
        .await;
    assert_eq!((s, b["name"].as_str()), (StatusCode::OK, Some("renamed")));
    let (_, b) = h
        .call(Method::POST, &format!("/connections/{id}/test"), "t1", None)
        .await;
    assert_eq!(b["success"], false, "{b}");
    assert!(!b.to_string().contains(wrong));
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{id}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error");
    assert!(c["lastError"].is_string() && c["lastErrorAt"].is_string());

    // Rotate back: works again.
    h.call(
        Method::PATCH,
        &format!("/connections/{id}"),
        "t1",
        Some(json!({"credentials": {"apiKey": TOKEN}})),
    )
    .await;
    let (_, b) = h
        .call(Method::POST, &format!("/connections/{id}/test"), "t1", None)
        .await;
    assert_eq!(b["success"], true, "{b}");

    // Invalid patches.
    let (s, _) = h
        .call(
            Method::PATCH,
            &format!("/connections/{id}"),
            "t1",
            Some(json!({"config": {"environment": "moon"}})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = h
        .call(
            Method::PATCH,
            &format!("/connections/{id}"),
            "t1",
            Some(json!({"status": "error"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Inactive connections refuse executions.
    h.call(
        Method::PATCH,
        &format!("/connections/{id}"),
        "t1",
        Some(json!({"status": "inactive"})),
    )
    .await;
    let (s, b) = h
        .execute(
            "t1",
            json!({"connectionId": id, "actionId": "calculate_fee", "input": fee_input()}),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::CONFLICT, "CONNECTION_INACTIVE"));

    // Delete: gone, with its secret.
    let (s, b) = h
        .call(Method::DELETE, &format!("/connections/{id}"), "t1", None)
        .await;
    assert_eq!((s, b["success"].as_bool()), (StatusCode::OK, Some(true)));
    let (s, _) = h
        .call(Method::GET, &format!("/connections/{id}"), "t1", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let secret = h
        .backend
        .secrets
        .get_secret(&integrations_core::model::secret_name("t1", &id))
        .await
        .expect("secret store answers");
    assert!(
        secret.is_none(),
        "the secret is deleted with the connection"
    );
    h.stop().await;
}

#[tokio::test]
async fn execute_validates_and_answers() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let exec = |body: Value| h.execute("t1", body);

    // 400 naming the failing field.
    let mut input = fee_input();
    input.as_object_mut().expect("object").remove("weight");
    let (s, b) =
        exec(json!({"connectionId": conn, "actionId": "calculate_fee", "input": input})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );
    assert!(message(&b).contains("weight"), "{b}");
    let mut input = fee_input();
    input["weight"] = json!("heavy");
    let (s, b) =
        exec(json!({"connectionId": conn, "actionId": "calculate_fee", "input": input})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(message(&b).contains("/weight"), "{b}");
    let (s, b) =
        exec(json!({"connectionId": conn, "actionId": "calculate_fee", "input": [1]})).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "VALIDATION_FAILED")
    );
    let (s, b) = exec(json!({"connectionId": conn, "actionId": "calculate_fee"})).await;
    assert!(
        s == StatusCode::BAD_REQUEST && message(&b).contains("input"),
        "{b}"
    );
    let (s, b) = exec(json!({"connectionId": conn, "actionId": "calculate_fee",
        "input": fee_input(), "waitMs": 999_999}))
    .await;
    assert!(
        s == StatusCode::BAD_REQUEST && message(&b).contains("waitMs"),
        "{b}"
    );
    let (s, b) = exec(json!({"connectionId": conn, "actionId": "calculate_fee",
        "input": fee_input(), "callbackUrl": "ftp://x"}))
    .await;
    assert!(
        s == StatusCode::BAD_REQUEST && message(&b).contains("callbackUrl"),
        "{b}"
    );

    // 404s.
    let (s, b) = exec(json!({"connectionId": conn, "actionId": "teleport", "input": {}})).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "ACTION_NOT_FOUND"));
    let (s, b) =
        exec(json!({"connectionId": "01NOPE", "actionId": "calculate_fee", "input": fee_input()}))
            .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "CONNECTION_NOT_FOUND")
    );
    let (s, _) = h
        .execute(
            "t2",
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input()}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another tenant's connection");

    // 202, then the result by polling.
    let (s, b) = exec(json!({"connectionId": conn, "actionId": "calculate_fee",
        "input": fee_input(), "callerRef": "run-42"}))
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["status"], "queued");
    let id = b["executionId"].as_str().expect("id").to_string();
    let done = h.wait_terminal("t1", &id).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["output"]["fee"].as_i64().expect("fee") > 0);
    assert_eq!(done["callerService"], "flows");
    assert_eq!(done["callerRef"], "run-42");
    assert_eq!(done["attempts"], 1);

    // Waiting in the request itself.
    let (s, b) = exec(json!({"connectionId": conn, "actionId": "calculate_fee",
        "input": fee_input(), "waitMs": 10_000}))
    .await;
    assert_eq!(
        (s, b["status"].as_str()),
        (StatusCode::OK, Some("succeeded")),
        "{b}"
    );
    assert_eq!(b["output"]["fee"], done["output"]["fee"]);

    // Another tenant can't read it.
    let (s, b) = h
        .call(Method::GET, &format!("/executions/{id}"), "t2", None)
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::NOT_FOUND, "EXECUTION_NOT_FOUND")
    );
    h.stop().await;
}

#[tokio::test]
async fn idempotency_keys() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let body = json!({"connectionId": conn, "actionId": "calculate_fee",
        "input": fee_input(), "idempotencyKey": "order-77-fee"});
    let (s1, first) = h.execute("t1", body.clone()).await;
    let (s2, second) = h.execute("t1", body.clone()).await;
    assert_eq!(s1, StatusCode::ACCEPTED);
    assert!(s2.is_success());
    assert_eq!(first["executionId"], second["executionId"]);

    let mut other = body.clone();
    other["input"]["weight"] = json!(900);
    let (s, b) = h.execute("t1", other).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::CONFLICT, "IDEMPOTENCY_CONFLICT")
    );

    // Keys are per tenant.
    let t2conn = h.create_connection("t2").await;
    let mut t2body = body.clone();
    t2body["connectionId"] = json!(t2conn);
    let (s, b) = h.execute("t2", t2body).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_ne!(b["executionId"], first["executionId"]);

    h.wait_terminal("t1", first["executionId"].as_str().expect("id"))
        .await;
    h.wait_terminal("t2", b["executionId"].as_str().expect("id"))
        .await;
    assert_eq!(
        h.provider_calls("/v2/shipping-order/fee").await,
        2,
        "one call per execution"
    );
    h.stop().await;
}

#[tokio::test]
async fn list_executions_with_filters_and_cursor() {
    let h = Harness::start().await;
    let c1 = h.create_connection("t1").await;
    let c2 = h.create_connection("t1").await;
    let mut ids = Vec::new();
    for conn in [&c1, &c1, &c1, &c2] {
        let (_, b) = h
            .execute(
                "t1",
                json!({"connectionId": conn, "actionId": "calculate_fee", "input": fee_input(), "waitMs": 10_000}),
            )
            .await;
        ids.push(b["executionId"].as_str().expect("id").to_string());
    }
    let mut bad = fee_input();
    bad["toDistrictId"] = json!(999_999);
    let (_, failed) = h
        .execute(
            "t1",
            json!({"connectionId": c2, "actionId": "calculate_fee", "input": bad, "waitMs": 10_000}),
        )
        .await;
    assert_eq!(failed["status"], "failed", "{failed}");

    let hr = &h;
    let list = |q: String| async move {
        let (s, b) = hr
            .call(Method::GET, &format!("/executions{q}"), "t1", None)
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        b
    };
    let all = list(String::new()).await;
    let got: Vec<&str> = all["executions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["executionId"].as_str().expect("id"))
        .collect();
    assert_eq!(got.len(), 5);
    assert_eq!(
        got[0],
        failed["executionId"].as_str().expect("id"),
        "newest first"
    );

    let by_conn = list(format!("?connectionId={c1}")).await;
    assert_eq!(by_conn["executions"].as_array().expect("list").len(), 3);
    let by_status = list("?status=failed".into()).await;
    assert_eq!(by_status["executions"].as_array().expect("list").len(), 1);
    let by_integration = list("?integrationId=shipping-ghn&status=succeeded".into()).await;
    assert_eq!(
        by_integration["executions"].as_array().expect("list").len(),
        4
    );
    let future = list("?startDate=2999-01-01T00:00:00Z".into()).await;
    assert!(future["executions"].as_array().expect("list").is_empty());
    let past = list("?endDate=2000-01-01T00:00:00Z".into()).await;
    assert!(past["executions"].as_array().expect("list").is_empty());

    // Pages of two, following the cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=2&cursor={c}"),
            None => "?limit=2".into(),
        };
        let page = list(q).await;
        for e in page["executions"].as_array().expect("list") {
            seen.push(e["executionId"].as_str().expect("id").to_string());
        }
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen, got);

    // A cursor is no way into another tenant's executions.
    let (_, first_page) = h.call(Method::GET, "/executions?limit=2", "t1", None).await;
    let c = first_page["nextCursor"].as_str().expect("cursor");
    let (s, b) = h
        .call(Method::GET, &format!("/executions?cursor={c}"), "t2", None)
        .await;
    assert!(
        s == StatusCode::BAD_REQUEST || b["executions"].as_array().is_some_and(|l| l.is_empty()),
        "{b}"
    );

    for q in [
        "?status=done",
        "?limit=0",
        "?limit=500",
        "?startDate=yesterday",
        "?cursor=%%%",
    ] {
        let (s, b) = h
            .call(Method::GET, &format!("/executions{q}"), "t1", None)
            .await;
        assert_eq!(
            (s, code(&b)),
            (StatusCode::BAD_REQUEST, "VALIDATION_FAILED"),
            "{q}"
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let h = Harness::start().await;
    let conn = h.create_connection("t1").await;
    let big = "x".repeat(300 * 1024);
    let (s, b) = h
        .execute(
            "t1",
            json!({"connectionId": conn, "actionId": "calculate_fee", "input": {"note": big}}),
        )
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE")
    );
    let resp = h
        .http
        .post(format!("{}/execute", h.base))
        .bearer_auth(&h.key)
        .header("x-tenant-id", "t1")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let b: Value = resp.json().await.expect("JSON error");
    assert_eq!(code(&b), "VALIDATION_FAILED");
    h.stop().await;
}
