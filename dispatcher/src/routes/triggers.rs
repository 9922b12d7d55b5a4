//! Triggers: run an action on one connection when a provider event arrives from another
//! (`docs/triggers.md`). Everything that can be checked before an event arrives is checked at
//! creation; firing is `crate::triggers`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use integrations_core::model::{new_id, now};
use integrations_core::triggers::mapping::{sample_event, CompiledTrigger};
use integrations_core::triggers::{Trigger, TriggerAction, TriggerSource};
use integrations_core::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Path};
use crate::openapi::errors;
use crate::openapi::views;
use crate::routes::connections::load as load_connection;

/// The provider event schema's `type` pattern (`schemas/messages/provider-event.schema.json`).
const EVENT_TYPE_PATTERN: &str = r"^[a-z_]+(\.[a-z_.]+)+$";
const MAX_EVENT_TYPE_LEN: usize = 100;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateTriggerSource)]
pub struct SourceBody {
    /// The connection whose provider events the trigger listens to.
    #[schema(min_length = 1)]
    connection_id: String,
    /// A normalized provider event type, e.g. `order.created` or `payment.succeeded`.
    #[schema(pattern = r"^[a-z_]+(\.[a-z_.]+)+$", max_length = 100)]
    event_type: String,
    /// A JMESPath expression over the event; the trigger fires only where it is truthy.
    #[schema(min_length = 1, max_length = 2048)]
    filter: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = CreateTriggerAction)]
pub struct ActionBody {
    /// The connection the action runs on.
    #[schema(min_length = 1)]
    connection_id: String,
    #[schema(min_length = 1)]
    action_id: String,
    /// The action's input fields, each a JMESPath expression over the event (constants as
    /// literals: `'text'`, `` `5` ``), or an object of them; checked against the action's
    /// inputSchema.
    #[schema(value_type = Object)]
    input: Map<String, Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(
    as = CreateTrigger,
    example = json!({
        "source": {"connectionId": "01J0SHOPIFYCONNECTION0000", "eventType": "order.created",
                   "filter": "data.financial_status == 'paid'"},
        "action": {"connectionId": "01J0GHNCONNECTION00000000", "actionId": "create_order",
                   "input": {"toName": "data.shipping_address.name",
                             "toPhone": "data.shipping_address.phone",
                             "toAddress": "data.shipping_address.address1",
                             "toWardCode": "data.shipping_address.ward_code",
                             "toDistrictId": "data.shipping_address.district_id",
                             "weight": "sum(data.line_items[].grams)",
                             "requiredNote": "'KHONGCHOXEMHANG'",
                             "paymentTypeId": "`1`",
                             "items": "data.line_items[].{name: title, quantity: quantity, weight: grams}"}}
    })
)]
pub struct CreateBody {
    source: SourceBody,
    action: ActionBody,
}

fn check_event_type(event_type: &str) -> Result<(), Error> {
    let well_formed =
        event_type.len() <= MAX_EVENT_TYPE_LEN && matches_event_type_pattern(event_type);
    if !well_formed {
        return Err(Error::validation(format!(
            "source.eventType: a normalized event type matching {EVENT_TYPE_PATTERN}, at most \
             {MAX_EVENT_TYPE_LEN} characters"
        )));
    }
    Ok(())
}

/// [`EVENT_TYPE_PATTERN`]: lowercase words and `_`, a `.` after the first and more after it.
fn matches_event_type_pattern(s: &str) -> bool {
    let Some((head, tail)) = s.split_once('.') else {
        return false;
    };
    let word = |c: char| c.is_ascii_lowercase() || c == '_';
    !head.is_empty()
        && head.chars().all(word)
        && !tail.is_empty()
        && tail.chars().all(|c| word(c) || c == '.')
}

/// Create a trigger: both connections are the tenant's, the action exists, the expressions
/// compile and the mapping fits the action's inputSchema as far as it can be known without an
/// event.
#[utoipa::path(
    post,
    path = "/triggers",
    operation_id = "createTrigger",
    tag = "triggers",
    request_body = CreateBody,
    responses(
        (status = 201, description = "Created", body = views::Trigger, links(
            ("GetTrigger" = (operation_id = "getTrigger",
                parameters(("triggerId" = "$response.body#/triggerId")))),
            ("DeleteTrigger" = (operation_id = "deleteTrigger",
                parameters(("triggerId" = "$response.body#/triggerId"))))
        )),
        errors::Write
    )
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Body(body): Body<CreateBody>,
) -> ApiResult<(StatusCode, Json<views::Trigger>)> {
    let CreateBody { source, action } = body;
    check_event_type(&source.event_type)?;
    let input = Value::Object(action.input);
    let compiled = CompiledTrigger::compile(source.filter.as_deref(), &input)?;
    let from = load_connection(&state, &caller, &source.connection_id).await?;
    let to = load_connection(&state, &caller, &action.connection_id).await?;
    let catalog_action = state
        .catalog
        .action(&to.integration_id, &action.action_id)?;
    let sample = sample_event(
        &caller.tenant_id,
        &from.connection_id,
        &from.integration_id,
        &source.event_type,
    );
    compiled.check(catalog_action, &sample)?;
    let trigger = Trigger {
        trigger_id: new_id(),
        tenant_id: caller.tenant_id.clone(),
        source: TriggerSource {
            connection_id: source.connection_id,
            event_type: source.event_type,
            filter: source.filter,
        },
        action: TriggerAction {
            connection_id: action.connection_id,
            integration_id: to.integration_id,
            action_id: action.action_id,
            input,
        },
        created_at: now(),
    };
    state.backend.triggers.create_trigger(&trigger).await?;
    tracing::info!(tenant_id = %caller.tenant_id, trigger_id = %trigger.trigger_id, "trigger created");
    Ok((StatusCode::CREATED, Json((&trigger).into())))
}

/// The tenant's triggers.
#[utoipa::path(
    get,
    path = "/triggers",
    operation_id = "listTriggers",
    tag = "triggers",
    responses(
        (status = 200, description = "Triggers, oldest first", body = views::TriggerList),
        errors::Common
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<views::TriggerList>> {
    let list = state
        .backend
        .triggers
        .list_triggers(&caller.tenant_id)
        .await?;
    let triggers = list.iter().map(views::Trigger::from).collect();
    Ok(Json(views::TriggerList { triggers }))
}

fn not_found(trigger_id: &str) -> ApiError {
    ApiError::new(
        ErrorKind::TriggerNotFound,
        format!("trigger '{trigger_id}' not found"),
    )
}

/// One trigger.
#[utoipa::path(
    get,
    path = "/triggers/{triggerId}",
    operation_id = "getTrigger",
    tag = "triggers",
    params(("triggerId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "The trigger", body = views::Trigger),
        errors::Lookup
    )
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(trigger_id): Path<String>,
) -> ApiResult<Json<views::Trigger>> {
    let trigger = state
        .backend
        .triggers
        .get_trigger(&caller.tenant_id, &trigger_id)
        .await?
        .ok_or_else(|| not_found(&trigger_id))?;
    Ok(Json((&trigger).into()))
}

/// Delete a trigger: events after this start nothing more (executions it started stay).
#[utoipa::path(
    delete,
    path = "/triggers/{triggerId}",
    operation_id = "deleteTrigger",
    tag = "triggers",
    params(("triggerId" = String, Path, min_length = 1)),
    responses(
        (status = 200, description = "Deleted", body = views::Deleted),
        errors::Lookup
    )
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(trigger_id): Path<String>,
) -> ApiResult<Json<views::Deleted>> {
    let deleted = state
        .backend
        .triggers
        .delete_trigger(&caller.tenant_id, &trigger_id)
        .await?;
    if !deleted {
        return Err(not_found(&trigger_id));
    }
    Ok(Json(views::Deleted::YES))
}

#[cfg(test)]
mod tests {
    use super::check_event_type;

    #[test]
    fn event_types_follow_the_provider_event_pattern() {
        for ok in [
            "order.created",
            "payment.succeeded",
            "shipment.status_changed",
            "a.b.c",
        ] {
            assert!(check_event_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "order",
            ".created",
            "order.",
            "Order.created",
            "order created",
            "o.1",
        ] {
            assert!(check_event_type(bad).is_err(), "{bad}");
        }
        assert!(check_event_type(&format!("a.{}", "b".repeat(100))).is_err());
    }
}
