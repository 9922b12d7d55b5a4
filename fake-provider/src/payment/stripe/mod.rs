//! Fake Stripe under `/stripe`: `GET /v1/payment_intents/{id}`, `GET /v1/charges`,
//! `POST /v1/refunds` (form-encoded, `metadata[key]=value`).
//!
//! Contract as Stripe documents it: `Authorization: Bearer sk_…` (401 otherwise), errors as
//! `{"error": {type, code, message, param}}` with Stripe's statuses, and `Idempotency-Key`:
//! the same key with the same parameters replays the first answer (with
//! `Idempotent-Replayed: true`); with other parameters it is 400 `idempotency_error`.
//! Seeded with one customer, two charges and their PaymentIntents.

mod store;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use store::{Refused, Store};

/// The only secret key the fake accepts.
pub const SECRET_KEY: &str = "sk_test_fake_51Hq9xYz";
pub const CUSTOMER_ID: &str = "cus_fake_1";
/// Succeeded, 5000 (usd cents), charge [`CHARGE_ID`].
pub const PAID_INTENT_ID: &str = "pi_fake_succeeded";
pub const CHARGE_ID: &str = "ch_fake_1";
/// Waiting for a payment method: nothing to refund.
pub const UNPAID_INTENT_ID: &str = "pi_fake_unpaid";

pub(crate) fn routes<S>() -> Router<S> {
    Router::new()
        .route("/v1/payment_intents/{id}", get(payment_intent))
        .route("/v1/charges", get(charges))
        .route("/v1/refunds", post(refund))
        .with_state(Arc::new(Store::seeded()))
}

pub(crate) fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> Response {
    let mut e = json!({ "type": kind, "message": message });
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, Json(json!({ "error": e }))).into_response()
}

fn authenticate(headers: &HeaderMap) -> Result<(), Box<Response>> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(key) = auth.strip_prefix("Bearer ") else {
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            None,
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.",
        )));
    };
    if key != SECRET_KEY {
        let tail: String = key
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(Box::new(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("api_key_invalid"),
            None,
            &format!("Invalid API Key provided: sk_test_****{tail}"),
        )));
    }
    Ok(())
}

async fn payment_intent(
    State(st): State<Arc<Store>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authenticate(&headers) {
        return *r;
    }
    match st.intent(&id) {
        Some(pi) => Json(pi).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("resource_missing"),
            Some("intent"),
            &format!("No such payment_intent: '{id}'"),
        ),
    }
}

async fn charges(
    State(st): State<Arc<Store>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = authenticate(&headers) {
        return *r;
    }
    let params: Map<String, Value> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .into_owned()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let get = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_string);
    let limit = match get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("parameter_invalid_integer"),
                Some("limit"),
                "Invalid integer: limit must be between 1 and 100",
            );
        }
    };
    let customer = get("customer");
    if let Some(c) = &customer {
        if !st.customer_exists(c) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("resource_missing"),
                Some("customer"),
                &format!("No such customer: '{c}'"),
            );
        }
    }
    let (data, has_more) = st.charges(customer.as_deref(), get("starting_after").as_deref(), limit);
    Json(json!({ "object": "list", "url": "/v1/charges", "has_more": has_more, "data": data }))
        .into_response()
}

/// Stripe's form bodies, with `metadata[k]=v` gathered into an object.
fn parse_form(raw: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    let mut metadata = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw).into_owned() {
        match k
            .strip_prefix("metadata[")
            .and_then(|r| r.strip_suffix(']'))
        {
            Some(mk) => {
                metadata.insert(mk.to_string(), json!(v));
            }
            None => {
                out.insert(k, json!(v));
            }
        }
    }
    if !metadata.is_empty() {
        out.insert("metadata".into(), Value::Object(metadata));
    }
    out
}

async fn refund(State(st): State<Arc<Store>>, headers: HeaderMap, raw: Bytes) -> Response {
    if let Err(r) = authenticate(&headers) {
        return *r;
    }
    let params = parse_form(&raw);
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(k) = &key {
        if k.len() > 255 {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                None,
                "Idempotency-Key must be at most 255 characters",
            );
        }
        if let Some((first, answer)) = st.replay(k) {
            if first != params {
                return error(
                    StatusCode::BAD_REQUEST,
                    "idempotency_error",
                    None,
                    None,
                    &format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{k}' if you meant to execute a different request."),
                );
            }
            let mut resp = Json(answer).into_response();
            resp.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return resp;
        }
    }
    match st.refund(&params) {
        Ok(refund) => {
            // Only completed requests are kept for replay: a refused one may be corrected
            // and sent again with the same key, as Stripe allows for validation errors.
            if let Some(k) = key {
                st.remember(k, params, refund.clone());
            }
            Json(refund).into_response()
        }
        Err(Refused {
            status,
            code,
            param,
            message,
        }) => error(status, "invalid_request_error", code, param, &message),
    }
}
