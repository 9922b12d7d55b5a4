//! `GET /catalog`, `/catalog/{integrationId}`, `/catalog/{integrationId}/actions/{actionId}`.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use integrations_core::catalog::{IntegrationCategory, IntegrationStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::openapi::errors;
use crate::openapi::views;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    category: Option<IntegrationCategory>,
    status: Option<IntegrationStatus>,
}

/// Integrations (summaries).
#[utoipa::path(
    get,
    path = "/catalog",
    operation_id = "listIntegrations",
    tag = "catalog",
    params(ListQuery),
    responses(
        (status = 200, description = "The catalog", body = views::IntegrationList),
        errors::Common
    )
)]
pub async fn list(State(state): State<Arc<AppState>>, Query(q): Query<ListQuery>) -> Json<Value> {
    let integrations: Vec<Value> = state
        .catalog
        .integrations()
        .filter(|i| q.category.is_none_or(|c| i.category == c))
        .filter(|i| q.status.is_none_or(|s| i.status == s))
        .map(|i| i.summary())
        .collect();
    Json(json!({ "integrations": integrations }))
}

/// An integration with its config and action schemas.
#[utoipa::path(
    get,
    path = "/catalog/{integrationId}",
    operation_id = "getIntegration",
    tag = "catalog",
    params(("integrationId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "The integration", body = views::Integration),
        errors::Lookup
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(integration_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        state.catalog.integration(&integration_id)?.doc.clone(),
    ))
}

/// One action with its input and output JSON Schemas.
#[utoipa::path(
    get,
    path = "/catalog/{integrationId}/actions/{actionId}",
    operation_id = "getAction",
    tag = "catalog",
    params(
        ("integrationId" = String, Path, min_length = 1),
        ("actionId" = String, Path, min_length = 1)
    ),
    responses(
        (status = 200, description = "The action", body = views::Action),
        errors::Lookup
    )
)]
pub async fn action(
    State(state): State<Arc<AppState>>,
    Path((integration_id, action_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let action = state.catalog.action(&integration_id, &action_id)?;
    let mut doc = action.doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("integrationId".into(), integration_id.into());
    }
    Ok(Json(doc))
}
