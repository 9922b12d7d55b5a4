//! Stripe objects and idempotent answers. Locks are short and never held across an await.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::faults::lock;

pub(crate) struct Refused {
    pub status: StatusCode,
    pub code: Option<&'static str>,
    pub param: Option<&'static str>,
    pub message: String,
}

fn refused(
    code: Option<&'static str>,
    param: Option<&'static str>,
    message: impl Into<String>,
) -> Refused {
    Refused {
        status: StatusCode::BAD_REQUEST,
        code,
        param,
        message: message.into(),
    }
}

#[derive(Default)]
struct Inner {
    intents: Vec<Value>,
    /// Newest first, as Stripe lists them.
    charges: Vec<Value>,
    refunds: u64,
    /// Idempotency-Key → (parameters first sent, answer given).
    keys: HashMap<String, (Map<String, Value>, Value)>,
}

pub(crate) struct Store(Mutex<Inner>);

fn intent(id: &str, amount: i64, status: &str, charge: Option<&str>) -> Value {
    json!({
        "id": id, "object": "payment_intent", "amount": amount,
        "amount_received": if status == "succeeded" { amount } else { 0 },
        "currency": "usd", "customer": super::CUSTOMER_ID, "latest_charge": charge,
        "description": "Fake order", "metadata": {}, "created": 1_700_000_000, "livemode": false,
        "status": status,
    })
}

fn charge(id: &str, amount: i64, intent: &str, created: i64) -> Value {
    json!({
        "id": id, "object": "charge", "amount": amount, "amount_refunded": 0, "currency": "usd",
        "status": "succeeded", "paid": true, "refunded": false, "payment_intent": intent,
        "customer": super::CUSTOMER_ID, "description": "Fake order", "created": created,
    })
}

impl Store {
    pub(crate) fn seeded() -> Self {
        let inner = Inner {
            intents: vec![
                intent(
                    super::PAID_INTENT_ID,
                    5000,
                    "succeeded",
                    Some(super::CHARGE_ID),
                ),
                intent("pi_fake_second", 2500, "succeeded", Some("ch_fake_2")),
                intent(
                    super::UNPAID_INTENT_ID,
                    1200,
                    "requires_payment_method",
                    None,
                ),
            ],
            charges: vec![
                charge("ch_fake_2", 2500, "pi_fake_second", 1_700_000_100),
                charge(super::CHARGE_ID, 5000, super::PAID_INTENT_ID, 1_700_000_000),
            ],
            ..Inner::default()
        };
        Self(Mutex::new(inner))
    }

    pub(crate) fn intent(&self, id: &str) -> Option<Value> {
        lock(&self.0)
            .intents
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    }

    pub(crate) fn customer_exists(&self, id: &str) -> bool {
        id == super::CUSTOMER_ID
    }

    pub(crate) fn charges(
        &self,
        customer: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<Value>, bool) {
        let inner = lock(&self.0);
        let mut list: Vec<&Value> = inner
            .charges
            .iter()
            .filter(|c| customer.is_none_or(|cu| c["customer"] == cu))
            .collect();
        if let Some(a) = after {
            if let Some(i) = list.iter().position(|c| c["id"] == a) {
                list.drain(..=i);
            }
        }
        let has_more = list.len() > limit;
        (list.into_iter().take(limit).cloned().collect(), has_more)
    }

    pub(crate) fn replay(&self, key: &str) -> Option<(Map<String, Value>, Value)> {
        lock(&self.0).keys.get(key).cloned()
    }

    pub(crate) fn remember(&self, key: String, params: Map<String, Value>, answer: Value) {
        lock(&self.0).keys.entry(key).or_insert((params, answer));
    }

    pub(crate) fn refund(&self, p: &Map<String, Value>) -> Result<Value, Refused> {
        let get = |k: &str| p.get(k).and_then(Value::as_str);
        let mut inner = lock(&self.0);
        let charge_id = match (get("payment_intent"), get("charge")) {
            (Some(pi), None) => {
                let intent = inner.intents.iter().find(|i| i["id"] == pi).ok_or_else(|| {
                    refused(Some("resource_missing"), Some("payment_intent"), format!("No such payment_intent: '{pi}'"))
                })?;
                intent["latest_charge"].as_str().map(str::to_string).ok_or_else(|| {
                    refused(None, Some("payment_intent"), format!("This PaymentIntent ({pi}) does not have a successful charge to refund."))
                })?
            }
            (None, Some(ch)) => ch.to_string(),
            (Some(_), Some(_)) => return Err(refused(None, None, "You can only pass one of payment_intent or charge.")),
            (None, None) => return Err(refused(Some("parameter_missing"), None, "One of the following params should be provided for this request: payment_intent or charge.")),
        };
        if let Some(r) = get("reason") {
            if !["duplicate", "fraudulent", "requested_by_customer"].contains(&r) {
                return Err(refused(Some("parameter_invalid_string"), Some("reason"), format!("Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer ({r})")));
            }
        }
        let amount = match get("amount").map(str::parse::<i64>) {
            None => None,
            Some(Ok(a)) if a > 0 => Some(a),
            Some(_) => {
                return Err(refused(
                    Some("parameter_invalid_integer"),
                    Some("amount"),
                    "Invalid positive integer",
                ))
            }
        };
        let ch = inner
            .charges
            .iter_mut()
            .find(|c| c["id"] == charge_id.as_str())
            .ok_or_else(|| {
                refused(
                    Some("resource_missing"),
                    Some("charge"),
                    format!("No such charge: '{charge_id}'"),
                )
            })?;
        let total = ch["amount"].as_i64().unwrap_or(0);
        let done = ch["amount_refunded"].as_i64().unwrap_or(0);
        if done >= total {
            return Err(refused(
                Some("charge_already_refunded"),
                None,
                format!("Charge {charge_id} has already been refunded."),
            ));
        }
        let amount = amount.unwrap_or(total - done);
        if done + amount > total {
            return Err(refused(
                Some("amount_too_large"),
                Some("amount"),
                format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({})",
                    total - done
                ),
            ));
        }
        ch["amount_refunded"] = json!(done + amount);
        ch["refunded"] = json!(done + amount == total);
        let intent = ch["payment_intent"].clone();
        let currency = ch["currency"].clone();
        inner.refunds += 1;
        Ok(json!({
            "id": format!("re_fake_{}", inner.refunds), "object": "refund", "amount": amount,
            "balance_transaction": format!("txn_fake_{}", inner.refunds), "charge": charge_id,
            "created": chrono::Utc::now().timestamp(), "currency": currency,
            "metadata": p.get("metadata").cloned().unwrap_or_else(|| json!({})),
            "payment_intent": intent, "reason": p.get("reason").cloned().unwrap_or(Value::Null),
            "status": "succeeded",
        }))
    }
}
