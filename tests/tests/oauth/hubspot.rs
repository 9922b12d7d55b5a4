//! HubSpot through the real worker: with a private app token, success, a missing contact,
//! its ten-secondly limit then success, a 502 retried, a deal whose answer is lost
//! (OUTCOME_UNKNOWN), a refused token needing a new credential; then by OAuth through the same
//! flow as Shopify's (no hmac, a form-encoded code exchange).

use super::*;

/// HubSpot's outcomes through the worker, by private app token, then by OAuth.
#[tokio::test]
async fn hubspot_outcomes_through_the_worker() {
    use fake_provider::Fault;
    let h = Harness::start().await;
    let hubspot = |token: &str| {
        json!({"integrationId": "crm-hubspot", "name": "CRM",
        "credentials": {"accessToken": token}})
    };
    let (_, c) = h
        .call(
            Method::POST,
            "/connections",
            "t1",
            Some(hubspot(fake_provider::crm::hubspot::PRIVATE_APP_TOKEN)),
        )
        .await;
    let crm = c["connectionId"]
        .as_str()
        .unwrap_or_else(|| panic!("{c}"))
        .to_string();
    let done = run(
        &h,
        &crm,
        "create_contact",
        json!({"properties": {"email": "chi@example.com"}}),
    )
    .await;
    assert_output("create_contact", &done);
    let done = run(&h, &crm, "get_contact", json!({"contactId": "999"})).await;
    failed_with(&done, "PROVIDER_NOT_FOUND");
    // Throttled by HubSpot's ten-secondly limit (a 1 s window here): the 429's headers say how
    // long to wait, and the execution succeeds on the next attempt after that.
    reqwest::Client::new()
        .post(format!("{}/__hubspot/throttle", h.fake.url()))
        .json(&json!({"times": 1, "intervalMs": 1000}))
        .send()
        .await
        .expect("throttle");
    let started = std::time::Instant::now();
    let done = run(&h, &crm, "get_contact", json!({"contactId": "5101"})).await;
    assert_output("get_contact", &done);
    assert_eq!(done["attempts"], 2, "{done}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "waited for the window"
    );
    let fault = Fault {
        path: Some("/hubspot/crm/v3/objects/contacts/5101".into()),
        ..Fault::status(502)
    };
    h.fake.inject(fault).expect("fault");
    let done = run(&h, &crm, "get_contact", json!({"contactId": "5101"})).await;
    assert_output("get_contact", &done);
    assert_eq!(done["attempts"], 2, "{done}");
    let fault = Fault {
        path: Some("/hubspot/crm/v3/objects/deals".into()),
        ..Fault::drop_connection()
    };
    h.fake.inject(fault).expect("fault");
    let done = run(
        &h,
        &crm,
        "create_deal",
        json!({"properties": {"dealname": "x", "dealstage": "closedwon"}}),
    )
    .await;
    failed_with(&done, "OUTCOME_UNKNOWN");

    let (_, c) = h
        .call(
            Method::POST,
            "/connections",
            "t1",
            Some(hubspot("pat-na1-revoked")),
        )
        .await;
    let bad = c["connectionId"].as_str().expect("id").to_string();
    let done = run(&h, &bad, "get_contact", json!({"contactId": "5101"})).await;
    failed_with(&done, "CONNECTION_REAUTH_REQUIRED");
    let (_, c) = h
        .call(Method::GET, &format!("/connections/{bad}"), "t1", None)
        .await;
    assert_eq!(c["status"], "error", "{c}");

    // HubSpot by OAuth through the same flow: no hmac, a form-encoded code exchange.
    let secret = h.dir.path().join("hubspot-client-secret");
    std::fs::write(&secret, fake_provider::crm::hubspot::CLIENT_SECRET).expect("write");
    let register = OAuthAppAction::Register {
        integration: "crm-hubspot".into(),
        client_id: fake_provider::crm::hubspot::CLIENT_ID.into(),
        client_secret_file: secret,
    };
    let catalog = Catalog::embedded().expect("catalog");
    apps::run(h.backend.secrets.as_ref(), &catalog, &register)
        .await
        .expect("registered");
    let body =
        json!({"integrationId": "crm-hubspot", "name": "CRM by OAuth", "redirectUri": REDIRECT});
    let (s, b) = h
        .call(Method::POST, "/connections/oauth/start", "t1", Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let query = consent(b["authorizeUrl"].as_str().expect("url")).await;
    let (s, conn) = callback(&h.base, &query).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let oauth_crm = conn["connectionId"].as_str().expect("id");
    let done = run(&h, oauth_crm, "get_contact", json!({"contactId": "5101"})).await;
    assert_output("get_contact", &done);
    h.stop().await;
}
