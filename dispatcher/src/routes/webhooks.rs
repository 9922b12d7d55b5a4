//! `POST|GET /webhooks/{integrationId}/{connectionId}`: what providers push. Not authenticated by
//! API key: each request is verified by its provider's own mechanism
//! ([`connectors::webhook::WebhookVerifier`]) with the connection's secrets, recorded once in the
//! inbox with its normalized event (and, in the same write, the event's outbox entry, for this
//! process's relay to publish), and only then answered as the provider expects
//! (`docs/webhooks.md`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use connectors::webhook::{
    verifier, Answer, AnswerBody, Rejection, WebhookRequest, WebhookVerifier,
};
use integrations_core::model::{new_id, now, Connection};
use integrations_core::outbox::{OutboxEvent, OutboxFeed};
use integrations_core::sanitize::{redact_credentials, sanitize};
use integrations_core::webhooks::{DedupeWindow, InboundWebhook, ProviderEvent, RecordOutcome};
use integrations_core::{Error, ErrorKind};

use crate::app::AppState;
use crate::error::ApiError;

#[utoipa::path(
    post,
    path = "/webhooks/{integrationId}/{connectionId}",
    operation_id = "receiveWebhook",
    tag = "webhooks",
    params(("integrationId" = String, Path), ("connectionId" = String, Path)),
    responses(
        (status = 200, description = "Recorded (or a duplicate), or refused where the provider reads the refusal from the body (ZaloPay's return_code, VNPay's RspCode)"),
        (status = 204, description = "Recorded, for providers that expect no body (MoMo)"),
        (status = 400, description = "Refused: MoMo's answer to a bad signature"),
        (status = 401, description = "Refused: a bad signature or URL token, for the other providers"),
        (status = 404, description = "No such connection for this integration, or an integration that receives no webhooks"),
        (status = 503, description = "The store could not record it: the provider retries")
    )
)]
pub async fn receive_post(
    state: State<Arc<AppState>>,
    path: Path<(String, String)>,
    query: RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    receive(state, path, query, headers, body).await
}

/// VNPay calls its IPN with GET, and Haravan its subscription challenge.
#[utoipa::path(
    get,
    path = "/webhooks/{integrationId}/{connectionId}",
    operation_id = "receiveWebhookGet",
    tag = "webhooks",
    params(("integrationId" = String, Path), ("connectionId" = String, Path)),
    responses(
        (status = 200, description = "Recorded (or a duplicate), or refused where the provider reads the refusal from the body (VNPay's RspCode); Haravan's hub.challenge echoed as text/plain"),
        (status = 204, description = "Recorded, for providers that expect no body (MoMo)"),
        (status = 400, description = "Refused: MoMo's answer to a bad signature"),
        (status = 401, description = "Refused: a bad signature or URL token (or Haravan verify token), for the other providers"),
        (status = 404, description = "No such connection for this integration, or an integration that receives no webhooks"),
        (status = 503, description = "The store could not record it: the provider retries")
    )
)]
pub async fn receive_get(
    state: State<Arc<AppState>>,
    path: Path<(String, String)>,
    query: RawQuery,
    headers: HeaderMap,
) -> Response {
    receive(state, path, query, headers, Bytes::new()).await
}

async fn receive(
    State(state): State<Arc<AppState>>,
    Path((integration_id, connection_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(verifier) = verifier(&integration_id) else {
        return ApiError(Error::new(
            ErrorKind::IntegrationNotFound,
            format!("integration '{integration_id}' receives no webhooks"),
        ))
        .into_response();
    };
    let connection = match connection(&state, &integration_id, &connection_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return ApiError(e).into_response(),
    };
    let secrets = match state
        .backend
        .secrets
        .get_secret(&connection.credentials_ref)
        .await
    {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => return ApiError(e).into_response(),
    };
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let received_at = now();
    let request = WebhookRequest {
        headers: &headers,
        query: &query,
        body: &body,
        received_at,
    };
    // A handshake (WooCommerce's ping, Haravan's challenge) is answered, never recorded.
    if let Some(handshake) = verifier.handshake(&request, &secrets) {
        return match handshake {
            Ok(a) => answer(a),
            Err(why) => rejected(verifier.as_ref(), &connection, why),
        };
    }
    let verified = match verifier.verify(&request, &secrets) {
        Ok(v) => v,
        Err(why) => return rejected(verifier.as_ref(), &connection, why),
    };
    let secret_values: Vec<&str> = secrets.0.values().map(String::as_str).collect();
    let event_claim = state.event_feed.as_ref().and_then(OutboxFeed::claim);
    let webhook = InboundWebhook {
        dedupe_until: DedupeWindow::DEFAULT.expiry(received_at),
        dedupe_key: verified.dedupe_key,
        event: ProviderEvent {
            event_id: new_id(),
            tenant_id: connection.tenant_id.clone(),
            connection_id: connection.connection_id.clone(),
            integration_id: connection.integration_id.clone(),
            event_type: verified.event_type,
            provider_type: verified.provider_type,
            occurred_at: verified.occurred_at.unwrap_or(received_at),
            received_at,
            data: sanitize(&verified.data, &[], &secret_values),
            unmasked_data: Some(redact_credentials(&verified.data, &secret_values)),
        },
        event_claim,
    };
    // Durable before acknowledged: a store error answers 503, so the provider retries.
    match state.backend.webhooks.record_webhook(&webhook).await {
        Ok(outcome) => {
            // Recorded: this process's relay publishes it now (a sweep would, in time).
            if let (RecordOutcome::Recorded, Some(feed), Some(claim)) =
                (&outcome, &state.event_feed, &webhook.event_claim)
            {
                feed.send(OutboxEvent::Provider(webhook.event.clone()), claim);
            }
            let (event_id, duplicate) = match &outcome {
                RecordOutcome::Recorded => (webhook.event.event_id.as_str(), false),
                RecordOutcome::Duplicate { event_id } => (event_id.as_str(), true),
            };
            tracing::info!(
                tenant_id = %connection.tenant_id, connection_id = %connection.connection_id,
                integration_id = %integration_id, event_id, duplicate, "webhook received"
            );
            answer(verifier.accepted())
        }
        Err(e) => ApiError(e).into_response(),
    }
}

/// The connection behind the URL, if it exists and belongs to this integration.
async fn connection(
    state: &AppState,
    integration_id: &str,
    connection_id: &str,
) -> integrations_core::Result<Option<Connection>> {
    let Some(tenant) = state
        .backend
        .webhooks
        .endpoint_tenant(connection_id)
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .backend
        .connections
        .get_connection(&tenant, connection_id)
        .await?
        .filter(|c| c.integration_id == integration_id))
}

fn rejected(verifier: &dyn WebhookVerifier, connection: &Connection, why: Rejection) -> Response {
    // Never the body: it is the provider's data, and a forged one is an attacker's.
    tracing::warn!(
        tenant_id = %connection.tenant_id, connection_id = %connection.connection_id,
        integration_id = %connection.integration_id, reason = why.as_str(), "webhook refused"
    );
    metrics::counter!(
        "webhooks_rejected_total",
        "integration" => connection.integration_id.clone(),
        "reason" => why.as_str()
    )
    .increment(1);
    answer(verifier.rejected(why))
}

fn answer(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    match a.body {
        Some(AnswerBody::Json(body)) => (status, axum::Json(body)).into_response(),
        Some(AnswerBody::Text(text)) => (status, text).into_response(),
        None => status.into_response(),
    }
}

fn not_found() -> Response {
    ApiError(Error::new(
        ErrorKind::ConnectionNotFound,
        "no connection of this integration receives webhooks here",
    ))
    .into_response()
}
