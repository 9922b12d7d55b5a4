//! Stripe actions. The refund carries the execution id as `Idempotency-Key` (placed by the
//! kit from the catalog's providerField): Stripe replays the first refund to every attempt of
//! one execution, and refuses the key for different parameters.

use integrations_core::Result;
use serde_json::{json, Map, Value};

use super::client::StripeApi;
use crate::fields::{int, pick, required_str, string};
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<StripeApi>] = &[
    Action {
        id: "get_payment_intent",
        run: |api, call| Box::pin(get_payment_intent(api, call.input)),
    },
    Action {
        id: "list_customer_charges",
        run: |api, call| Box::pin(list_customer_charges(api, call.input)),
    },
    Action {
        id: "create_refund",
        run: |api, call| Box::pin(create_refund(api, call)),
    },
];

/// Stripe's metadata values are strings; anything else is dropped rather than failing.
fn metadata(from: &Value) -> Value {
    let m: Map<String, Value> = from
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.is_string())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(m)
}

async fn get_payment_intent(api: &StripeApi, input: &Value) -> Result<Value> {
    // The id's pattern (^pi_[A-Za-z0-9_]+$) is enforced by the inputSchema: safe in a path.
    let id = required_str(input, "paymentIntentId")?;
    let pi = api
        .call(Request::get(format!("/v1/payment_intents/{id}")))
        .await?;
    let mut out = pick(
        &pi,
        &[
            ("id", "id"),
            ("status", "status"),
            ("amount", "amount"),
            ("amount_received", "amountReceived"),
            ("currency", "currency"),
            ("customer", "customer"),
            ("latest_charge", "latestCharge"),
            ("description", "description"),
            ("created", "created"),
            ("livemode", "livemode"),
        ],
    );
    // Expanded objects (customer, latest_charge) are reduced to their ids.
    for k in ["customer", "latestCharge"] {
        if let Some(id) = out.get(k).and_then(|v| v.get("id")).cloned() {
            out[k] = id;
        }
    }
    out["metadata"] = metadata(&pi);
    Ok(out)
}

fn charge(c: &Value) -> Value {
    let mut out = pick(
        c,
        &[
            ("id", "id"),
            ("amount", "amount"),
            ("amount_refunded", "amountRefunded"),
            ("currency", "currency"),
            ("status", "status"),
            ("paid", "paid"),
            ("refunded", "refunded"),
            ("payment_intent", "paymentIntent"),
            ("customer", "customer"),
            ("description", "description"),
            ("created", "created"),
        ],
    );
    for k in ["paymentIntent", "customer"] {
        if let Some(id) = out.get(k).and_then(|v| v.get("id")).cloned() {
            out[k] = id;
        }
    }
    out
}

async fn list_customer_charges(api: &StripeApi, input: &Value) -> Result<Value> {
    let mut request = Request::get("/v1/charges")
        .query("customer", required_str(input, "customerId")?)
        .query("limit", int(input, "limit").unwrap_or(10).to_string());
    if let Some(after) = string(input, "startingAfter") {
        request = request.query("starting_after", after);
    }
    let list = api.call(request).await?;
    let charges: Vec<Value> = list
        .get("data")
        .and_then(Value::as_array)
        .map(|d| d.iter().map(charge).collect())
        .unwrap_or_default();
    Ok(
        json!({"charges": charges, "hasMore": list.get("has_more").and_then(Value::as_bool).unwrap_or(false)}),
    )
}

async fn create_refund(api: &StripeApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut form: Vec<(String, String)> = Vec::new();
    for (ours, theirs) in [
        ("paymentIntentId", "payment_intent"),
        ("chargeId", "charge"),
        ("reason", "reason"),
    ] {
        if let Some(v) = string(input, ours) {
            form.push((theirs.into(), v.to_string()));
        }
    }
    if let Some(a) = int(input, "amount") {
        form.push(("amount".into(), a.to_string()));
    }
    if let Some(m) = input.get("metadata").and_then(Value::as_object) {
        // Sorted (serde_json maps are ordered) so every attempt sends the same parameters.
        for (k, v) in m {
            form.push((
                format!("metadata[{k}]"),
                v.as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    let refund = api
        .call(call.keyed(Request::post("/v1/refunds").form(form))?)
        .await?;
    let mut out = pick(
        &refund,
        &[
            ("id", "id"),
            ("status", "status"),
            ("amount", "amount"),
            ("currency", "currency"),
            ("charge", "charge"),
            ("payment_intent", "paymentIntent"),
            ("reason", "reason"),
            ("created", "created"),
        ],
    );
    out["metadata"] = metadata(&refund);
    Ok(out)
}
