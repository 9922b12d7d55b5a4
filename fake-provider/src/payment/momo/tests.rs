//! The MoMo fake's signatures against providers.md's derived vectors.

use super::*;

fn body(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The derived MoMo vectors of providers.md, recomputed from the body fields.
#[test]
fn signatures_match_the_providers_md_vectors() {
    let create = body(&[
        ("amount", json!(50000)),
        ("extraData", json!("")),
        ("ipnUrl", json!("https://example.com/ipn")),
        ("orderId", json!("ORDER123")),
        ("orderInfo", json!("pay with MoMo")),
        ("partnerCode", json!("MOMO")),
        ("redirectUrl", json!("https://example.com/return")),
        ("requestId", json!("REQ123")),
        ("requestType", json!("captureWallet")),
    ]);
    assert_eq!(
        signature(CREATE_KEYS, &create),
        "797ea9e94ba548abba26463b77d6bd277071511accac6e712cc20fe7870b8f45"
    );
    let query = body(&[
        ("orderId", json!("ORDER123")),
        ("partnerCode", json!("MOMO")),
        ("requestId", json!("REQ124")),
    ]);
    assert_eq!(
        signature(QUERY_KEYS, &query),
        "a6a2197f526fd29a27d1de39418dd576d9b87a6d9a7c97398bd0ddb77bfe82e3"
    );
    let refund = body(&[
        ("amount", json!(50000)),
        ("description", json!("refund")),
        ("orderId", json!("REFUND123")),
        ("partnerCode", json!("MOMO")),
        ("requestId", json!("REQ125")),
        ("transId", json!(4088878653_i64)),
    ]);
    assert_eq!(
        signature(REFUND_KEYS, &refund),
        "eafeae556672278efab73977d505a49ca0763bb55b3c6a9935e879c6dd4e10de"
    );
}

/// The IPN vector: the same raw-string rule over the IPN's fields.
#[test]
fn ipn_vector() {
    let keys = [
        "accessKey",
        "amount",
        "extraData",
        "message",
        "orderId",
        "orderInfo",
        "orderType",
        "partnerCode",
        "payType",
        "requestId",
        "responseTime",
        "resultCode",
        "transId",
    ];
    let ipn = body(&[
        ("amount", json!(50000)),
        ("extraData", json!("")),
        ("message", json!("Successful.")),
        ("orderId", json!("ORDER123")),
        ("orderInfo", json!("pay with MoMo")),
        ("orderType", json!("momo_wallet")),
        ("partnerCode", json!("MOMO")),
        ("payType", json!("qr")),
        ("requestId", json!("REQ123")),
        ("responseTime", json!(1700000000000_i64)),
        ("resultCode", json!(0)),
        ("transId", json!(4088878653_i64)),
    ]);
    assert_eq!(
        signature(&keys, &ipn),
        "898c51586e804e9781be2ecb021f3707390f6a2e58a0af8d4a9ff8e54c9f0341"
    );
}

#[test]
fn order_ids_follow_momos_pattern() {
    for ok in ["ORDER123", "a-b_c.d", "01JCREATE"] {
        assert!(valid_order_id(ok), "{ok}");
    }
    for bad in ["", "-a", "a-", "a b", "ạ"] {
        assert!(!valid_order_id(bad), "{bad}");
    }
}
