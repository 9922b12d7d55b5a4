//! Property tests of the payment connectors' signatures against the fake providers, which
//! recompute every one of them as the real providers do: for arbitrary field values the fake
//! accepts what the connector signs (through the real actions, over HTTP), and the fake's
//! verifier rejects the signature once any single signed field changes. Stripe authenticates
//! with a bearer key and the shipping providers with tokens: nothing is signed there.

use std::collections::BTreeMap;

use fake_provider::payment::{momo as fake_momo, vnpay as fake_vnpay, zalopay as fake_zp};
use integrations_core::connector::Connector;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use serde_json::{json, Map, Value};

use super::{momo, vnpay, zalopay};
use crate::testing::{self as test_support, exec, Conn};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Printable text of any script, with the characters canonical strings use (`&`, `=`, `|`,
/// `+`, `%`, spaces) made likely.
fn text(max: usize) -> impl Strategy<Value = String> {
    let regex = |r: String| proptest::string::string_regex(&r).expect("regex");
    prop_oneof![
        regex(format!("\\PC{{1,{max}}}")),
        regex(format!("[a-z&=|+% ]{{1,{max}}}")),
    ]
}

/// Run `action` straight through the connector (the catalog's input checks are the
/// connectors' own tests' business; loading the catalog per case would dominate the run).
fn run(
    rt: &tokio::runtime::Runtime,
    c: &dyn Connector,
    conn: &Conn,
    action: &str,
    input: Value,
) -> integrations_core::Result<Value> {
    let id = exec();
    let out = rt.block_on(c.execute(action, &input, conn.ctx(&id)));
    if let Err(e) = &out {
        conn.assert_clean(e);
    }
    out
}

fn url() -> impl Strategy<Value = String> {
    "https://[a-z]{1,10}\\.example/[a-zA-Z0-9_~.-]{0,16}(\\?[a-z]{1,4}=[a-z0-9&]{0,8})?"
}

/// Each field of `fields` changed in turn: the value `other` (or the value with `x` added
/// when it is `other` already).
fn each_changed(fields: &BTreeMap<String, String>, other: &str) -> Vec<BTreeMap<String, String>> {
    fields
        .iter()
        .map(|(k, v)| {
            let mut changed = fields.clone();
            let new = if v == other {
                format!("{v}x")
            } else {
                other.to_string()
            };
            changed.insert(k.clone(), new);
            changed
        })
        .collect()
}

fn as_body(fields: &BTreeMap<String, String>) -> Map<String, Value> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect()
}

fn fields_of(keys: &[&str]) -> impl Strategy<Value = BTreeMap<String, String>> {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    prop::collection::vec(text(24), keys.len())
        .prop_map(move |values| keys.iter().cloned().zip(values).collect())
}

#[test]
fn momo_accepts_what_the_connector_signs_for_any_order() {
    let rt = runtime();
    let fake = rt.block_on(test_support::fake());
    let c = momo::MomoConnector::new(&test_support::settings(
        &fake,
        momo::INTEGRATION_ID,
        fake_provider::MOMO_PREFIX,
    ));
    let conn = Conn::new(
        momo::INTEGRATION_ID,
        json!({"partnerCode": fake_momo::PARTNER_CODE, "environment": "sandbox"}),
        &[
            ("accessKey", fake_momo::ACCESS_KEY),
            ("secretKey", fake_momo::SECRET_KEY),
        ],
    );
    let input = (1000i64..50_000_000, text(60), url(), url());
    TestRunner::new(config(32))
        .run(&input, |(amount, info, redirect, ipn)| {
            let input = json!({"amount": amount, "orderInfo": info, "redirectUrl": redirect, "ipnUrl": ipn});
            let out = run(&rt, &c, &conn, "create_payment", input);
            prop_assert!(out.is_ok(), "refused: {:?}", out.err());
            Ok(())
        })
        .expect("MoMo accepts every signed order");
}

#[test]
fn momo_rejects_any_single_changed_field() {
    let keys = fake_momo::CREATE_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "accessKey")
        .collect::<Vec<_>>();
    TestRunner::new(config(128))
        .run(&(fields_of(&keys), text(8)), |(fields, other)| {
            let body = as_body(&fields);
            let keys = fake_momo::CREATE_KEYS;
            let signed = momo::signature(fake_momo::SECRET_KEY, fake_momo::ACCESS_KEY, keys, &body);
            prop_assert_eq!(&signed, &fake_momo::signature(keys, &body));
            for changed in each_changed(&fields, &other) {
                prop_assert_ne!(&signed, &fake_momo::signature(keys, &as_body(&changed)));
            }
            Ok(())
        })
        .expect("every signed MoMo field counts");
}

#[test]
fn zalopay_accepts_what_the_connector_signs_for_any_order() {
    let rt = runtime();
    let fake = rt.block_on(test_support::fake());
    let c = zalopay::ZaloPayConnector::new(&test_support::settings(
        &fake,
        zalopay::INTEGRATION_ID,
        fake_provider::ZALOPAY_PREFIX,
    ));
    let conn = Conn::new(
        zalopay::INTEGRATION_ID,
        json!({"appId": fake_zp::APP_ID, "environment": "sandbox"}),
        &[("key1", fake_zp::KEY1)],
    );
    let item = (text(12), 1i64..1_000_000)
        .prop_map(|(id, price)| json!({"itemid": id, "itemprice": price}));
    let input = (
        1i64..100_000_000,
        text(50),
        text(100),
        prop::collection::vec(item, 0..3),
        text(20),
    );
    TestRunner::new(config(32))
        .run(&input, |(amount, user, description, items, note)| {
            let input = json!({"amount": amount, "appUser": user, "description": description, "items": items, "embedData": {"note": note}});
            let out = run(&rt, &c, &conn, "create_order", input);
            prop_assert!(out.is_ok(), "refused: {:?}", out.err());
            Ok(())
        })
        .expect("ZaloPay accepts every signed order");
}

#[test]
fn zalopay_rejects_any_single_changed_field() {
    // The fake's field order, which the connector's own (independent) order must match.
    const CREATE: [&str; 7] = fake_zp::CREATE_MAC_FIELDS;
    TestRunner::new(config(128))
        .run(&(fields_of(&CREATE), text(8)), |(fields, other)| {
            let ordered: Vec<&str> = CREATE.iter().map(|k| fields[*k].as_str()).collect();
            let signed = zalopay::mac(fake_zp::KEY1, &ordered);
            prop_assert_eq!(&signed, &fake_zp::mac("create", &fields));
            for changed in each_changed(&fields, &other) {
                prop_assert_ne!(&signed, &fake_zp::mac("create", &changed));
            }
            Ok(())
        })
        .expect("every signed ZaloPay field counts");
}

#[test]
fn vnpay_accepts_every_payment_url_the_connector_signs_and_refuses_a_changed_one() {
    let rt = runtime();
    let fake = rt.block_on(test_support::fake());
    let c = vnpay::VnpayConnector::new(&test_support::settings(
        &fake,
        vnpay::INTEGRATION_ID,
        fake_provider::VNPAY_PREFIX,
    ));
    let conn = Conn::new(
        vnpay::INTEGRATION_ID,
        json!({"tmnCode": fake_vnpay::TMN_CODE}),
        &[("hashSecret", fake_vnpay::HASH_SECRET)],
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let input = (
        1000i64..10_000_000_000,
        text(60),
        url(),
        any::<usize>(),
        text(6),
    );
    TestRunner::new(config(32))
        .run(&input, |(amount, info, back, pick, other)| {
            let input = json!({"amount": amount, "orderInfo": info, "returnUrl": back, "ipAddr": "203.0.113.9"});
            let built = run(&rt, &c, &conn, "create_payment_url", input)
                .map_err(|e| TestCaseError::fail(format!("not built: {e}")))?;
            let signed = built["paymentUrl"].as_str().unwrap_or_default().to_string();
            let status = |u: String| rt.block_on(async { http.get(u).send().await.map(|r| r.status().as_u16()) });
            prop_assert_eq!(status(signed.clone()).ok(), Some(302), "{}", signed);
            // One signed parameter changed: the fake's hash check refuses the page.
            let mut parsed = url::Url::parse(&signed).expect("URL");
            let mut pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            let signed_params: Vec<usize> = (0..pairs.len()).filter(|i| pairs[*i].0 != "vnp_SecureHash").collect();
            let i = signed_params[pick % signed_params.len()];
            pairs[i].1 = if pairs[i].1 == other { format!("{other}x") } else { other.clone() };
            parsed.query_pairs_mut().clear().extend_pairs(&pairs);
            prop_assert_eq!(status(parsed.to_string()).ok(), Some(400), "accepted {}", parsed);
            Ok(())
        })
        .expect("VNPay accepts the signed URLs only");
}

#[test]
fn vnpay_merchant_api_rejects_any_single_changed_field() {
    for fields in [fake_vnpay::QUERYDR_FIELDS, fake_vnpay::REFUND_FIELDS] {
        TestRunner::new(config(64))
            .run(&(fields_of(fields), text(8)), |(values, other)| {
                let ordered: Vec<&str> = fields.iter().map(|k| values[*k].as_str()).collect();
                let signed = vnpay::checksum(fake_vnpay::HASH_SECRET, &ordered);
                prop_assert_eq!(&signed, &fake_vnpay::pipe_hash(fields, &as_body(&values)));
                for changed in each_changed(&values, &other) {
                    prop_assert_ne!(&signed, &fake_vnpay::pipe_hash(fields, &as_body(&changed)));
                }
                Ok(())
            })
            .expect("every signed VNPay field counts");
    }
}
