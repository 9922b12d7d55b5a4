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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    category: Option<IntegrationCategory>,
    status: Option<IntegrationStatus>,
}

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

pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(integration_id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        state.catalog.integration(&integration_id)?.doc.clone(),
    ))
}

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
