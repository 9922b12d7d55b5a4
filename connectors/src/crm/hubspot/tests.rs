//! The HubSpot connector against the fake HubSpot (in process): every action with a private app
//! token, outputs against the catalog; business errors (unknown contact, a bad deal stage, a
//! repeated create finding the first contact); a refused token; both rate limits through the
//! X-HubSpot-RateLimit headers; an outage; a lost answer on a write; and an OAuth connection
//! (authorize, code exchange) refreshed once on expiry, then refused when revoked.

use std::time::Duration;

use fake_provider::crm::hubspot::{self as fake_hubspot, HubSpotStats};
use fake_provider::crm::hubspot_base_url;
use fake_provider::{FakeConfig, Fault};
use integrations_core::ErrorKind;
use serde_json::{json, Value};

use super::*;
use crate::kit::auth::token::oauth2::{self, exchange_code};
use crate::testing::{self, control, get_json, Conn};

const REDIRECT: &str = "https://app.example/oauth/callback";

type Harness = testing::Harness<HubSpotConnector>;

async fn harness_with(token: &str) -> Harness {
    let fake = fake_provider::start(FakeConfig::default())
        .await
        .expect("start fake");
    let settings = testing::settings_at(INTEGRATION_ID, &hubspot_base_url(&fake));
    Harness {
        connector: HubSpotConnector::new(&settings),
        conn: Conn::new(INTEGRATION_ID, json!({}), &[("accessToken", token)]),
        fake,
    }
}

async fn private_app() -> Harness {
    harness_with(fake_hubspot::PRIVATE_APP_TOKEN).await
}

impl Harness {
    async fn stats(&self) -> HubSpotStats {
        let v = get_json(format!("{}/__hubspot/stats", self.fake.url())).await;
        serde_json::from_value(v).expect("stats")
    }

    async fn hubspot(&self, what: &str, body: Value) {
        control(format!("{}/__hubspot/{what}", self.fake.url()), body).await;
    }
}

#[tokio::test]
async fn every_action_answers_its_output_schema() {
    let h = private_app().await;
    let found = h
        .ok(
            "e1",
            "search_contacts",
            json!({"filters": [{"propertyName": "email", "operator": "EQ", "value": "an@example.com"}],
                   "properties": ["email", "firstname"]}),
        )
        .await;
    assert_eq!(
        (found["total"].as_u64(), found["contacts"][0]["id"].as_str()),
        (Some(1), Some("5101"))
    );
    let by_email = h
        .ok(
            "e2",
            "get_contact",
            json!({"email": "an@example.com", "properties": ["lastname"]}),
        )
        .await;
    assert_eq!(by_email["properties"]["lastname"], "Nguyen");
    let created = h
        .ok(
            "e3",
            "create_contact",
            json!({"properties": {"email": "binh@example.com", "firstname": "Binh"}}),
        )
        .await;
    assert_eq!(created["alreadyExisted"], false);
    let id = created["id"].as_str().expect("id").to_string();
    let updated = h
        .ok(
            "e4",
            "update_contact",
            json!({"contactId": id, "properties": {"phone": "0911222333"}}),
        )
        .await;
    assert_eq!(updated["properties"]["phone"], "0911222333");
    let deal = h
        .ok("e5", "create_deal", json!({"properties": {"dealname": "Order 1001", "dealstage": "qualifiedtobuy", "amount": "259000"}}))
        .await;
    let linked = h
        .ok(
            "e6",
            "associate_deal_contact",
            json!({"dealId": deal["id"], "contactId": id}),
        )
        .await;
    assert_eq!(linked["associationTypeIds"], json!([3]));
    let message = h
        .connector
        .test_connection(h.ctx("e7"))
        .await
        .expect("test");
    assert!(message.contains("HubSpot"), "{message}");
}

#[tokio::test]
async fn business_errors_and_a_repeated_create() {
    let h = private_app().await;
    let e = h
        .fails("e1", "get_contact", json!({"contactId": "999"}))
        .await;
    assert_eq!((e.kind, e.retryable), (ErrorKind::ProviderNotFound, false));
    assert!(e.message.contains("correlationId"), "{e}");
    let e = h
        .fails(
            "e2",
            "create_deal",
            json!({"properties": {"dealname": "x", "dealstage": "nope"}}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderRejected);
    assert!(e.message.contains("dealstage"), "{e}");
    // A create whose first answer was lost: HubSpot refuses the email again, naming the first.
    let again = h
        .ok(
            "e3",
            "create_contact",
            json!({"properties": {"email": "an@example.com"}}),
        )
        .await;
    assert_eq!(
        (again["id"].as_str(), again["alreadyExisted"].as_bool()),
        (Some("5101"), Some(true))
    );
    let e = h
        .fails(
            "e4",
            "associate_deal_contact",
            json!({"dealId": "1", "contactId": "5101"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ProviderNotFound);
}

/// A private app token HubSpot refuses cannot be renewed: the connection needs a new
/// credential, at once and without retrying.
#[tokio::test]
async fn a_refused_private_app_token_needs_a_new_credential() {
    let h = harness_with("pat-na1-revoked").await;
    let e = h
        .fails("e1", "get_contact", json!({"contactId": "5101"}))
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ConnectionReauthRequired, false)
    );
    assert_eq!(h.stats().await.unauthorized, 1);
}

#[tokio::test]
async fn both_rate_limits_wait_as_the_headers_say_then_succeed() {
    let h = private_app().await;
    h.hubspot("throttle", json!({"times": 1})).await;
    let e = h
        .fails("e1", "get_contact", json!({"contactId": "5101"}))
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderRateLimited, true)
    );
    assert_eq!(
        e.retry_after,
        Some(Duration::from_secs(10)),
        "the ten-second window"
    );
    h.ok("e2", "get_contact", json!({"contactId": "5101"}))
        .await;
    h.hubspot("throttle", json!({"times": 1, "daily": true}))
        .await;
    let e = h
        .fails("e3", "get_contact", json!({"contactId": "5101"}))
        .await;
    let wait = e.retry_after.expect("a wait");
    assert!(
        wait > Duration::from_secs(10) && wait <= Duration::from_secs(86_400),
        "{wait:?}"
    );
    assert_eq!(h.stats().await.throttled, 2);
}

#[tokio::test]
async fn an_outage_is_retryable_and_a_lost_deal_answer_is_reported_as_sent() {
    let h = private_app().await;
    h.fake
        .inject(Fault {
            path: Some("/hubspot/crm/v3/objects/contacts/5101".into()),
            ..Fault::status(502)
        })
        .expect("fault");
    let e = h
        .fails("e1", "get_contact", json!({"contactId": "5101"}))
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ProviderUnavailable, true)
    );
    h.fake
        .inject(Fault {
            path: Some("/hubspot/crm/v3/objects/deals".into()),
            ..Fault::delay(Duration::from_millis(1500))
        })
        .expect("fault");
    let input = json!({"properties": {"dealname": "x", "dealstage": "closedwon"}});
    let e = h
        .run_within("e2", "create_deal", input, Duration::from_millis(300))
        .await
        .expect_err("no answer in time");
    assert!(e.request_sent, "the deal may exist: {e}");
}

/// OAuth: consent at the fake, the code exchanged form-encoded; on expiry one refresh (the
/// refresh token HubSpot keeps the same); revoked, the refresh is refused and the connection
/// needs a new authorization.
#[tokio::test]
async fn an_oauth_connection_refreshes_on_expiry_and_needs_consent_when_revoked() {
    let mut h = harness_with("none-yet").await;
    let base = hubspot_base_url(&h.fake);
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{base}/oauth/authorize"))
        .query(&[
            ("client_id", fake_hubspot::CLIENT_ID),
            ("scope", "crm.objects.contacts.read"),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
        ])
        .send()
        .await
        .expect("authorize");
    let location =
        url::Url::parse(consent.headers()["location"].to_str().expect("location")).expect("url");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .into_owned();
    let tokens = exchange_code(
        &reqwest::Client::new(),
        &base,
        "/oauth/v1/token",
        &TOKEN_ENDPOINT,
        (fake_hubspot::CLIENT_ID, fake_hubspot::CLIENT_SECRET),
        &code,
        REDIRECT,
        None,
        &[],
    )
    .await
    .expect("exchanged");
    h.conn.credentials = testing::credentials(&[
        (oauth2::ACCESS_TOKEN, &tokens.access_token),
        (
            oauth2::REFRESH_TOKEN,
            &tokens.refresh_token.expect("refresh token"),
        ),
        (oauth2::CLIENT_ID, fake_hubspot::CLIENT_ID),
        (oauth2::CLIENT_SECRET, fake_hubspot::CLIENT_SECRET),
    ]);
    h.ok("e1", "get_contact", json!({"contactId": "5101"}))
        .await;
    h.hubspot("expire-tokens", json!({})).await;
    for i in 0..3 {
        h.ok(
            &format!("e{}", i + 2),
            "get_contact",
            json!({"contactId": "5101"}),
        )
        .await;
    }
    assert_eq!(
        h.stats().await.refreshes,
        1,
        "one refresh, then the new token is reused"
    );
    h.hubspot("revoke", json!({})).await;
    let e = h
        .fails("e9", "get_contact", json!({"contactId": "5101"}))
        .await;
    assert_eq!(
        (e.kind, e.retryable),
        (ErrorKind::ConnectionReauthRequired, false)
    );
    assert_eq!(h.stats().await.refused_refreshes, 1);
}
