//! Every action of the shop integrations run against its fake, each output checked against
//! its outputSchema (through `Conn::run`), and no catalog action left out.

use std::collections::BTreeSet;

use fake_provider::ecommerce::{
    haravan, haravan_base_url, prestashop, prestashop_shop_url, sapo, sapo_base_url, woocommerce,
    woocommerce_store_url,
};
use integrations_core::connector::Connector;
use serde_json::{json, Value};

use crate::testing::{self, catalog, exec, Conn};

/// Runs `calls` on one connection, recording each (integration, action) covered.
async fn cover(
    covered: &mut BTreeSet<(String, String)>,
    connector: &dyn Connector,
    conn: &Conn,
    calls: Vec<(&str, Value)>,
) {
    for (action, input) in calls {
        let out = conn.ok(connector, &exec(), action, input).await;
        assert!(out.is_object(), "{action}: {out}");
        covered.insert((conn.integration_id.to_string(), action.to_string()));
    }
}

#[tokio::test]
async fn every_shop_action_output_matches_its_schema() {
    let fake = testing::fake().await;
    let settings = testing::private_hosts_allowed();
    let mut covered = BTreeSet::new();

    let c = super::woocommerce::WooCommerceConnector::new(&settings);
    let conn = Conn::new(
        super::woocommerce::INTEGRATION_ID,
        json!({"storeUrl": woocommerce_store_url(&fake)}),
        &[
            ("consumerKey", woocommerce::CONSUMER_KEY),
            ("consumerSecret", woocommerce::CONSUMER_SECRET),
        ],
    );
    cover(
        &mut covered,
        &c,
        &conn,
        vec![
            ("list_orders", json!({})),
            ("get_order", json!({"orderId": 102})),
            ("list_products", json!({"perPage": 100})),
            (
                "update_order_status",
                json!({"orderId": 101, "status": "completed"}),
            ),
            ("add_order_note", json!({"orderId": 101, "note": "n"})),
        ],
    )
    .await;

    let sapo_settings = testing::settings_at(super::sapo::INTEGRATION_ID, &sapo_base_url(&fake));
    let c = super::sapo::SapoConnector::new(&sapo_settings);
    let conn = Conn::new(
        super::sapo::INTEGRATION_ID,
        json!({"storeDomain": "shop-a.mysapo.net"}),
        &[("accessToken", sapo::ACCESS_TOKEN)],
    );
    cover(
        &mut covered,
        &c,
        &conn,
        vec![
            ("list_orders", json!({"status": "any"})),
            ("get_order", json!({"orderId": 1003})),
            ("list_products", json!({})),
            (
                "update_order",
                json!({"orderId": 1001, "email": "b@example.vn"}),
            ),
        ],
    )
    .await;

    let c = super::prestashop::PrestaShopConnector::new(&settings);
    let conn = Conn::new(
        super::prestashop::INTEGRATION_ID,
        json!({"shopUrl": prestashop_shop_url(&fake)}),
        &[("webserviceKey", prestashop::WEBSERVICE_KEY)],
    );
    cover(
        &mut covered,
        &c,
        &conn,
        vec![
            ("list_orders", json!({"limit": 250})),
            ("get_order", json!({"orderId": 3})),
            ("list_products", json!({"languageId": 1})),
            ("get_product", json!({"productId": 3})),
            ("list_customers", json!({})),
            ("get_customer", json!({"customerId": 3})),
            ("change_order_state", json!({"orderId": 1, "stateId": 5})),
        ],
    )
    .await;

    let haravan_settings =
        testing::settings_at(super::haravan::INTEGRATION_ID, &haravan_base_url(&fake));
    let c = super::haravan::HaravanConnector::new(&haravan_settings);
    let conn = Conn::new(
        super::haravan::INTEGRATION_ID,
        json!({"shopDomain": "outputs.myharavan.com"}),
        &[("accessToken", haravan::ACCESS_TOKEN)],
    );
    cover(
        &mut covered,
        &c,
        &conn,
        vec![
            ("list_orders", json!({"status": "any"})),
            ("count_orders", json!({})),
            ("list_products", json!({})),
            ("get_product", json!({"productId": 501})),
            (
                "create_fulfillment",
                json!({"orderId": 1002, "trackingNumber": "T1", "trackingUrl": "https://t.example/1", "notifyCustomer": true}),
            ),
        ],
    )
    .await;

    let expected: BTreeSet<(String, String)> = catalog()
        .integrations()
        // Shopify's GraphQL actions run against its own fake in `shopify::tests`, through the
        // same schema-checking `Conn::run`.
        .filter(|i| {
            i.integration_id.starts_with("ecommerce-") && i.integration_id != "ecommerce-shopify"
        })
        .flat_map(|i| {
            i.actions()
                .map(|a| (i.integration_id.clone(), a.action_id.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(covered, expected, "every shop action is run");
}
