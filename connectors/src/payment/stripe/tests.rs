//! Stripe against the fake Stripe: Bearer auth, Stripe's errors, and idempotent refunds.

use fake_provider::payment::stripe as fake_stripe;
use integrations_core::connector::Connector;
use integrations_core::ErrorKind;
use serde_json::json;

use super::*;
use crate::testing::{self, exec, Conn};

fn conn(key: &str) -> Conn {
    Conn::new(INTEGRATION_ID, json!({}), &[("secretKey", key)])
}

#[tokio::test]
async fn read_intents_and_charges_and_refund_once_per_execution() {
    let fake = testing::fake().await;
    let c = StripeConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::STRIPE_PREFIX,
    ));
    let conn = conn(fake_stripe::SECRET_KEY);
    let pi = conn
        .run(
            &c,
            &exec(),
            "get_payment_intent",
            json!({"paymentIntentId": fake_stripe::PAID_INTENT_ID}),
        )
        .await
        .expect("pi");
    assert_eq!(
        (pi["status"].as_str(), pi["latestCharge"].as_str()),
        (Some("succeeded"), Some(fake_stripe::CHARGE_ID))
    );
    let page = conn
        .run(
            &c,
            &exec(),
            "list_customer_charges",
            json!({"customerId": fake_stripe::CUSTOMER_ID, "limit": 1}),
        )
        .await
        .expect("charges");
    assert_eq!(
        (
            page["charges"].as_array().map(Vec::len),
            page["hasMore"].as_bool()
        ),
        (Some(1), Some(true)),
        "{page}"
    );
    let last = page["charges"][0]["id"].clone();
    let next = conn
        .run(
            &c,
            &exec(),
            "list_customer_charges",
            json!({"customerId": fake_stripe::CUSTOMER_ID, "startingAfter": last}),
        )
        .await
        .expect("next page");
    assert_eq!(next["hasMore"], false);

    let id = exec();
    let input = json!({"paymentIntentId": fake_stripe::PAID_INTENT_ID, "amount": 1500, "reason": "requested_by_customer", "metadata": {"order": "42"}});
    let first = conn
        .run(&c, &id, "create_refund", input.clone())
        .await
        .expect("refund");
    let again = conn
        .run(&c, &id, "create_refund", input)
        .await
        .expect("replayed");
    assert_eq!(
        again["id"], first["id"],
        "the same execution gets the same refund"
    );
    let other = json!({"paymentIntentId": fake_stripe::PAID_INTENT_ID, "amount": 100});
    let e = conn
        .run(&c, &id, "create_refund", other)
        .await
        .expect_err("idempotency_error");
    assert_eq!(e.kind, ErrorKind::ProviderRejected, "{e}");
    assert!(e.message.contains("idempotency_error"), "{e}");

    let e = conn
        .run(
            &c,
            &exec(),
            "create_refund",
            json!({"paymentIntentId": fake_stripe::UNPAID_INTENT_ID}),
        )
        .await
        .expect_err("nothing to refund");
    assert_eq!(e.kind, ErrorKind::ProviderRejected, "{e}");
    let e = conn
        .run(
            &c,
            &exec(),
            "get_payment_intent",
            json!({"paymentIntentId": "pi_missing"}),
        )
        .await
        .expect_err("404");
    assert_eq!(e.kind, ErrorKind::ProviderNotFound, "{e}");
}

#[tokio::test]
async fn a_wrong_key_fails_authentication_and_the_connection_test() {
    let fake = testing::fake().await;
    let c = StripeConnector::new(&testing::settings(
        &fake,
        INTEGRATION_ID,
        fake_provider::STRIPE_PREFIX,
    ));
    assert!(c
        .test_connection(conn(fake_stripe::SECRET_KEY).ctx(&exec()))
        .await
        .is_ok());
    let bad = conn("sk_test_wrong_key_123456");
    let e = c
        .test_connection(bad.ctx(&exec()))
        .await
        .expect_err("bad key");
    assert_eq!(e.kind, ErrorKind::ProviderAuthFailed, "{e}");
    bad.assert_clean(&e);
}
