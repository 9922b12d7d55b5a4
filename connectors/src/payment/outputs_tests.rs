//! One test that runs every action of the four payment integrations against the fake and
//! checks each output against its outputSchema (through `Conn::run`), and that no catalog
//! action is left out.

use std::collections::BTreeSet;

use fake_provider::payment::{momo, stripe, vnpay, zalopay};
use serde_json::{json, Value};

use crate::testing::{self, catalog, exec, Conn};

#[tokio::test]
async fn every_payment_action_output_matches_its_schema() {
    let fake = testing::fake().await;
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut ok = |conn: &Conn, action: &str, out: Value| {
        assert!(out.is_object(), "{action}: {out}");
        covered.insert((conn.integration_id.to_string(), action.to_string()));
    };

    let c = super::momo::MomoConnector::new(&testing::settings(
        &fake,
        super::momo::INTEGRATION_ID,
        fake_provider::MOMO_PREFIX,
    ));
    let m = Conn::new(
        super::momo::INTEGRATION_ID,
        json!({"partnerCode": momo::PARTNER_CODE}),
        &[
            ("accessKey", momo::ACCESS_KEY),
            ("secretKey", momo::SECRET_KEY),
        ],
    );
    let input = json!({"amount": 10000, "orderInfo": "o", "redirectUrl": "https://s.example/r", "ipnUrl": "https://s.example/i"});
    let created = m
        .run(&c, &exec(), "create_payment", input)
        .await
        .expect("create_payment");
    ok(&m, "create_payment", created);
    let q = m
        .run(
            &c,
            &exec(),
            "query_payment",
            json!({"orderId": momo::PAID_ORDER_ID}),
        )
        .await
        .expect("query_payment");
    ok(&m, "query_payment", q);
    let r = m
        .run(
            &c,
            &exec(),
            "refund",
            json!({"transId": momo::PAID_TRANS_ID, "amount": 1000}),
        )
        .await
        .expect("refund");
    ok(&m, "refund", r);

    let c = super::zalopay::ZaloPayConnector::new(&testing::settings(
        &fake,
        super::zalopay::INTEGRATION_ID,
        fake_provider::ZALOPAY_PREFIX,
    ));
    let z = Conn::new(
        super::zalopay::INTEGRATION_ID,
        json!({"appId": zalopay::APP_ID}),
        &[("key1", zalopay::KEY1)],
    );
    let created = z
        .run(
            &c,
            &exec(),
            "create_order",
            json!({"amount": 1000, "appUser": "u", "description": "d"}),
        )
        .await
        .expect("create_order");
    ok(&z, "create_order", created);
    let q = z
        .run(
            &c,
            &exec(),
            "query_order",
            json!({"appTransId": zalopay::PAID_APP_TRANS_ID}),
        )
        .await
        .expect("query_order");
    ok(&z, "query_order", q);
    let r = z
        .run(
            &c,
            &exec(),
            "refund",
            json!({"zpTransId": zalopay::PAID_ZP_TRANS_ID, "amount": 1000, "description": "r"}),
        )
        .await
        .expect("refund");
    let m_refund_id = r["mRefundId"].clone();
    ok(&z, "refund", r);
    let q = z
        .run(
            &c,
            &exec(),
            "query_refund",
            json!({"mRefundId": m_refund_id}),
        )
        .await
        .expect("query_refund");
    ok(&z, "query_refund", q);

    let c = super::vnpay::VnpayConnector::new(&testing::settings(
        &fake,
        super::vnpay::INTEGRATION_ID,
        fake_provider::VNPAY_PREFIX,
    ));
    let v = Conn::new(
        super::vnpay::INTEGRATION_ID,
        json!({"tmnCode": vnpay::TMN_CODE}),
        &[("hashSecret", vnpay::HASH_SECRET)],
    );
    let url = v.run(&c, &exec(), "create_payment_url", json!({"amount": 10000, "orderInfo": "o", "returnUrl": "https://s.example/r", "ipAddr": "127.0.0.1", "bankCode": "NCB", "locale": "en", "expireMinutes": 30})).await.expect("url");
    ok(&v, "create_payment_url", url);
    let seeded = json!({"txnRef": vnpay::PAID_TXN_REF, "transactionDate": vnpay::PAID_CREATE_DATE});
    let q = v
        .run(&c, &exec(), "query_transaction", seeded)
        .await
        .expect("query_transaction");
    ok(&v, "query_transaction", q);
    let refund = json!({"txnRef": vnpay::PAID_TXN_REF, "transactionDate": vnpay::PAID_CREATE_DATE, "amount": 1000, "transactionType": "03", "createBy": "ops"});
    let r = v.run(&c, &exec(), "refund", refund).await.expect("refund");
    ok(&v, "refund", r);

    let c = super::stripe::StripeConnector::new(&testing::settings(
        &fake,
        super::stripe::INTEGRATION_ID,
        fake_provider::STRIPE_PREFIX,
    ));
    let s = Conn::new(
        super::stripe::INTEGRATION_ID,
        json!({}),
        &[("secretKey", stripe::SECRET_KEY)],
    );
    let pi = s
        .run(
            &c,
            &exec(),
            "get_payment_intent",
            json!({"paymentIntentId": stripe::UNPAID_INTENT_ID}),
        )
        .await
        .expect("pi");
    ok(&s, "get_payment_intent", pi);
    let list = s
        .run(
            &c,
            &exec(),
            "list_customer_charges",
            json!({"customerId": stripe::CUSTOMER_ID, "limit": 100}),
        )
        .await
        .expect("charges");
    ok(&s, "list_customer_charges", list);
    let refund = json!({"chargeId": stripe::CHARGE_ID, "amount": 100, "reason": "duplicate", "metadata": {"k": "v"}});
    let r = s
        .run(&c, &exec(), "create_refund", refund)
        .await
        .expect("refund");
    ok(&s, "create_refund", r);

    let catalog = catalog();
    let all: BTreeSet<(String, String)> = catalog
        .integrations()
        .filter(|i| i.integration_id.starts_with("payment-"))
        .flat_map(|i| {
            i.actions()
                .map(|a| (a.integration_id.clone(), a.action_id.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(covered, all, "every payment action's output was checked");
}
