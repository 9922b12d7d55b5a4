//! `GET /events`, `GET /events/{eventId}`: a tenant's provider events as recorded by the webhook
//! receivers (`docs/webhooks.md`), kept for [`integrations_core::webhooks::EVENT_RETENTION`].

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use integrations_core::webhooks::ProviderEventFilter;
use integrations_core::{Error, ErrorKind};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::openapi::{errors, views};
use crate::routes::executions::{decode_cursor, encode_cursor, parse_date};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The normalized type, such as `payment.succeeded`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    connection_id: Option<String>,
    integration_id: Option<String>,
    /// Received at or after.
    #[param(format = DateTime)]
    since: Option<String>,
    /// Received before.
    #[param(format = DateTime)]
    until: Option<String>,
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<usize>,
    /// nextCursor of the previous page.
    #[param(min_length = 1)]
    cursor: Option<String>,
}

/// Provider events, newest received first.
#[utoipa::path(
    get,
    path = "/events",
    operation_id = "listEvents",
    tag = "events",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = views::ProviderEventList),
        errors::Common
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<views::ProviderEventList>> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::validation("limit: 1 to 200").into());
    }
    let filter = ProviderEventFilter {
        event_type: q.event_type,
        connection_id: q.connection_id,
        integration_id: q.integration_id,
        start: parse_date("since", q.since)?,
        end: parse_date("until", q.until)?,
        limit,
        cursor: q.cursor.map(decode_cursor).transpose()?,
    };
    let page = state
        .backend
        .webhooks
        .list_provider_events(&caller.tenant_id, &filter)
        .await?;
    Ok(Json(views::ProviderEventList {
        events: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor.map(encode_cursor),
    }))
}

/// One provider event.
#[utoipa::path(
    get,
    path = "/events/{eventId}",
    operation_id = "getEvent",
    tag = "events",
    params(("eventId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "The event", body = views::ProviderEvent),
        errors::Lookup
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(event_id): Path<String>,
) -> ApiResult<Json<views::ProviderEvent>> {
    let event = state
        .backend
        .webhooks
        .get_provider_event(&caller.tenant_id, &event_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::EventNotFound,
                format!("event '{event_id}' not found"),
            )
        })?;
    Ok(Json(event.into()))
}
