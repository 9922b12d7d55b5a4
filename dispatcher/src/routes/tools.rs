//! `GET /tools` and `POST /tools/call`: a tenant's actions as tools for AI agents, one per
//! (active connection, action), in the format of OpenAI, Anthropic or MCP (`agent-tools`,
//! `docs/agents.md`), and calling one through the one submission path ([`crate::submit`]). The
//! MCP server ([`crate::mcp`]) answers tool calls with the same [`run`].

use std::sync::Arc;
use std::time::Duration;

use agent_tools::{parse_category, Filter, Format, Tool, Toolbox};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use integrations_core::backend::ConnectionFilter;
use integrations_core::model::{ConnectionStatus, Execution, ExecutionStatus};
use integrations_core::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Query};
use crate::openapi::errors;
use crate::openapi::views;
use crate::submit::{self, trace_parent_for, Submission};

/// How long a tool call waits for its result when the caller does not say (MCP calls never
/// do): long enough for most provider calls, short enough for agent frameworks' timeouts.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// Every tool of the tenant: names are assigned over all its active connections.
pub async fn toolbox(state: &AppState, tenant_id: &str) -> ApiResult<Toolbox> {
    let filter = ConnectionFilter {
        integration_id: None,
        status: Some(ConnectionStatus::Active),
    };
    let connections = state
        .backend
        .connections
        .list_connections(tenant_id, &filter)
        .await?;
    Ok(Toolbox::new(&state.catalog, &connections))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Without it the answer is 400, naming the formats.
    #[param(value_type = FormatName, inline, required = true)]
    format: Option<String>,
    integration_id: Option<String>,
    connection_id: Option<String>,
    #[param(value_type = Option<integrations_core::catalog::ActionCategory>)]
    category: Option<String>,
}

/// The name of a [`Format`] in `?format=` (only described: [`list`] parses the string).
pub enum FormatName {}

impl utoipa::PartialSchema for FormatName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Format::ALL.map(Format::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for FormatName {}

/// The tenant's actions as tools for AI agents.
#[utoipa::path(
    get,
    path = "/tools",
    operation_id = "listTools",
    tag = "tools",
    params(ListQuery),
    responses(
        (status = 200, description = "Tools", body = views::ToolList),
        errors::Common
    )
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<views::ToolList>> {
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| Error::validation(format!("format: {e}")))?;
    let category = q
        .category
        .as_deref()
        .map(parse_category)
        .transpose()
        .map_err(|e| Error::validation(format!("category: {e}")))?;
    let filter = Filter {
        integration_id: q.integration_id,
        connection_id: q.connection_id,
        category,
    };
    let rendered = toolbox(&state, &caller.tenant_id)
        .await?
        .render(format, &filter);
    for s in &rendered.skipped {
        tracing::warn!(tool = %s.name, %format, reason = %s.reason, "tool left out of the listing");
    }
    let warnings: Vec<views::ToolWarning> = rendered
        .skipped
        .iter()
        .map(|s| views::ToolWarning {
            tool: s.name.clone(),
            message: format!("not listed in {format} format: {}", s.reason),
        })
        .collect();
    Ok(Json(views::ToolList {
        tools: rendered.tools,
        warnings: (!warnings.is_empty()).then_some(warnings),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = ToolCall)]
pub struct CallBody {
    /// A tool name from GET /tools.
    name: String,
    /// The model's arguments (an object).
    #[serde(default)]
    #[schema(value_type = Value)]
    arguments: Value,
    /// Default 20000 (or --max-wait-ms when lower).
    #[schema(maximum = 30000)]
    wait_ms: Option<u64>,
    #[schema(format = "uri")]
    callback_url: Option<String>,
    #[schema(min_length = 1, max_length = 255)]
    idempotency_key: Option<String>,
}

/// What a caller may add to a tool call besides the arguments.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    pub wait: Option<Duration>,
    pub callback_url: Option<String>,
    pub idempotency_key: Option<String>,
    pub trace_parent: Option<String>,
}

/// A tool call's answer for the model, and whether it reports a failure.
pub struct ToolOutcome {
    pub answer: Value,
    pub is_error: bool,
}

/// Call a tool.
#[utoipa::path(
    post,
    path = "/tools/call",
    operation_id = "callTool",
    tag = "tools",
    params(crate::routes::executions::TraceHeaders),
    request_body = CallBody,
    responses(
        (status = 200, description = "The tool's answer (isError says whether it reports a failure)",
         body = views::ToolAnswer),
        errors::Submit
    )
)]
pub async fn call(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(body): Body<CallBody>,
) -> ApiResult<Json<Value>> {
    let toolbox = toolbox(&state, &caller.tenant_id).await?;
    let tool = toolbox
        .resolve(&body.name)
        .ok_or_else(|| unknown_tool(&body.name))?;
    let options = CallOptions {
        wait: body.wait_ms.map(Duration::from_millis),
        callback_url: body.callback_url,
        idempotency_key: body.idempotency_key,
        trace_parent: Some(trace_parent_for(&headers)),
    };
    let outcome = run(&state, &caller, tool, body.arguments, options, Poll::Http).await?;
    let mut answer = outcome.answer;
    answer["isError"] = Value::Bool(outcome.is_error);
    Ok(Json(answer))
}

pub fn unknown_tool(name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ToolNotFound,
        format!("no tool named '{name}' for this tenant; GET /tools lists them"),
    )
}

/// How a pending result is fetched, for the hint in the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// `GET /executions/{id}?waitMs=…`
    Http,
    /// The MCP server's `await_execution` tool.
    Mcp,
}

/// Run `tool` with the model's `arguments`: map them back to the action's input, validate it
/// (a refusal is an answer naming the field, so the model can correct itself), submit, and
/// answer in the shape of [`tool_answer`]. Errors are the caller's, not the model's (a bad
/// `waitMs` or callback URL, an idempotency conflict, the backend down).
pub async fn run(
    state: &AppState,
    caller: &Caller,
    tool: &Tool,
    arguments: Value,
    options: CallOptions,
    poll: Poll,
) -> ApiResult<ToolOutcome> {
    // The caller's mistakes first: they are not the model's to correct.
    let wait = submit::check_wait(
        state,
        options
            .wait
            .unwrap_or(DEFAULT_WAIT.min(state.settings.max_wait)),
    )?;
    let input = match tool.input_from_arguments(arguments) {
        Ok(input) => input,
        Err(message) => return Ok(rejected(message)),
    };
    if let Err(e) = tool.action.validate_input(&input) {
        return Ok(rejected(e.message));
    }
    let submission = Submission {
        connection_id: tool.connection.connection_id.clone(),
        action_id: tool.action.action_id.clone(),
        input,
        caller_ref: None,
        idempotency_key: options.idempotency_key,
        callback_url: options.callback_url,
        wait,
        trace_parent: options.trace_parent,
    };
    let execution = submit::submit(state, caller, submission).await?;
    Ok(tool_answer(state, &execution, poll))
}

/// Arguments the action refuses: nothing ran.
fn rejected(message: String) -> ToolOutcome {
    let message = message
        .strip_prefix("input")
        .map_or(message.clone(), |rest| format!("arguments{rest}"));
    ToolOutcome {
        answer: json!({
            "status": "rejected",
            "success": false,
            "error": {"code": ErrorKind::ValidationFailed.code(), "message": message, "retryable": false},
            "message": "The arguments are invalid and nothing ran; correct the field named in error.message and call again.",
        }),
        is_error: true,
    }
}

/// The answer a model gets: the seed's contract fields of [`submit::answer`] (`success`,
/// `executionId`, `data` or `error`, `latencyMs`) under a `status` of `succeeded`, `failed`,
/// `timed_out`, `dead_lettered`, or `pending` with how to fetch the result. The execution
/// record's other fields (the echoed input, timestamps, tenant) are left out: they cost the
/// model tokens and tell it nothing.
pub fn tool_answer(state: &AppState, e: &Execution, poll: Poll) -> ToolOutcome {
    let full = serde_json::to_value(submit::answer(e, None)).unwrap_or_default();
    let mut out = Map::new();
    for k in [
        "success",
        "executionId",
        "data",
        "error",
        "latencyMs",
        "attempts",
    ] {
        if let Some(v) = full.get(k).filter(|v| !v.is_null()) {
            out.insert(k.into(), v.clone());
        }
    }
    let terminal = e.status.is_terminal();
    if terminal {
        out.insert("status".into(), json!(e.status.as_str()));
    } else {
        let wait = state.settings.max_wait.as_millis();
        let (how, message) = match poll {
            Poll::Http => (
                format!("GET /executions/{}?waitMs={wait}", e.execution_id),
                "Still running; fetch the result with the request in poll (it waits up to waitMs for the end). Do not call the tool again: that would run the action again.",
            ),
            Poll::Mcp => (
                format!("await_execution {{\"executionId\": \"{}\"}}", e.execution_id),
                "Still running; call the await_execution tool with this executionId to get the result. Do not call this tool again: that would run the action again.",
            ),
        };
        out.insert("status".into(), json!("pending"));
        out.insert("executionStatus".into(), json!(e.status.as_str()));
        out.insert("poll".into(), json!(how));
        out.insert("message".into(), json!(message));
    }
    ToolOutcome {
        is_error: terminal && e.status != ExecutionStatus::Succeeded,
        answer: Value::Object(out),
    }
}
