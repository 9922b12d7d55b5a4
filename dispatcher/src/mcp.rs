//! The MCP server at `/mcp`: rmcp's Streamable HTTP transport, stateless (no sessions) with JSON
//! responses, for protocol versions 2026-07-28 and 2025-11-25. `tools/list` is the tenant's tools
//! in MCP format (`agent-tools`) plus `await_execution`; `tools/call` runs one through the same
//! path as `POST /tools/call` ([`crate::routes::tools::run`]).
//!
//! Authentication is the API's (a bearer key; the tenant from `X-Tenant-Id`, or implied by a key
//! scoped to exactly one tenant), done by a layer in front of rmcp that puts the [`Caller`] into
//! the request's extensions; rmcp hands the request's parts to the handler. rmcp checks `Host`
//! and `Origin` against [`crate::app::ApiSettings`] (loopback by default).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use agent_tools::{Filter, Format};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use integrations_core::ErrorKind;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, Implementation,
    ListToolsResult, PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::{caller_for, Caller, TenantRule};
use crate::error::ApiError;
use crate::routes::tools::{run, tool_answer, toolbox, CallOptions, Poll};
use crate::submit;
use crate::submit::trace_parent_for;

/// The newest protocol version rmcp implements, and the one before it (the last with the
/// `initialize` handshake, which most clients still speak).
const PROTOCOL_VERSIONS: &[ProtocolVersion] =
    &[ProtocolVersion::V_2025_11_25, ProtocolVersion::V_2026_07_28];

/// How long a client may reuse a `tools/list` answer: a new connection shows up within this.
const TOOLS_TTL: Duration = Duration::from_secs(30);

/// The built-in tool that fetches or awaits a pending execution.
pub const AWAIT_TOOL: &str = "await_execution";

const INSTRUCTIONS: &str = "Each tool runs one action of one of the tenant's connections (named \
in the tool's description). A call waits up to 20 s; a result with status \"pending\" is still \
running: call await_execution with its executionId rather than the tool again.";

/// The `/mcp` service: authentication, then rmcp.
pub fn service(state: Arc<AppState>) -> Router {
    let s = &state.settings;
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(s.mcp_allowed_hosts.clone())
        .with_allowed_origins(s.mcp_allowed_origins.clone())
        // An empty list then refuses every browser Origin instead of allowing all.
        .enforce_origin_validation()
        .with_max_request_body_bytes(s.max_body_bytes);
    let handler_state = state.clone();
    let mcp = StreamableHttpService::new(
        move || {
            Ok(McpServer {
                state: handler_state.clone(),
            })
        },
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .fallback_service(mcp)
        .layer(middleware::from_fn_with_state(state, authenticate))
}

async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    match caller_for(&state, req.headers(), TenantRule::HeaderOrImplied).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => {
            let mut resp = e.into_response();
            if resp.status() == StatusCode::UNAUTHORIZED {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            resp
        }
    }
}

#[derive(Clone)]
struct McpServer {
    state: Arc<AppState>,
}

fn parts(context: &RequestContext<RoleServer>) -> Option<&axum::http::request::Parts> {
    context.extensions.get::<axum::http::request::Parts>()
}

fn caller(context: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
    parts(context)
        .and_then(|p| p.extensions.get::<Caller>())
        .cloned()
        .ok_or_else(|| McpError::internal_error("the request was not authenticated", None))
}

fn internal(e: ApiError) -> McpError {
    McpError::internal_error(e.0.message, None)
}

fn await_tool() -> Result<Tool, McpError> {
    serde_json::from_value(json!({
        "name": AWAIT_TOOL,
        "title": "Await an execution",
        "description": "Fetch the result of an execution that a tool answered as pending, waiting up to waitMs (default 20000) for it to finish.",
        "inputSchema": {
            "type": "object", "additionalProperties": false, "required": ["executionId"],
            "properties": {
                "executionId": {"type": "string", "description": "The executionId of the pending result."},
                "waitMs": {"type": "integer", "minimum": 0, "description": "How long to wait for the end, in ms."}
            }
        },
        "annotations": {"readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
    }))
    .map_err(|e| McpError::internal_error(e.to_string(), None))
}

fn result(answer: Value, is_error: bool) -> CallToolResponse {
    if is_error {
        CallToolResult::structured_error(answer).into()
    } else {
        CallToolResult::structured(answer).into()
    }
}

impl McpServer {
    async fn await_execution(
        &self,
        caller: &Caller,
        args: &Value,
    ) -> Result<CallToolResponse, McpError> {
        let Some(id) = args.get("executionId").and_then(Value::as_str) else {
            return Err(McpError::invalid_params(
                "executionId: required, a string",
                None,
            ));
        };
        let max = self.state.settings.max_wait;
        let wait = args
            .get("waitMs")
            .and_then(Value::as_u64)
            .map_or(crate::routes::tools::DEFAULT_WAIT, Duration::from_millis)
            .min(max);
        let found = submit::wait_terminal(&self.state, &caller.tenant_id, id, wait)
            .await
            .map_err(internal)?;
        Ok(match found {
            Some(e) => {
                let outcome = tool_answer(&self.state, &e, Poll::Mcp);
                result(outcome.answer, outcome.is_error)
            }
            None => {
                let error = json!({"code": ErrorKind::ExecutionNotFound.code(), "message": format!("execution '{id}' not found"), "retryable": false});
                result(
                    json!({"status": "failed", "success": false, "error": error}),
                    true,
                )
            }
        })
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "integrations",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = caller(&context)?;
        let toolbox = toolbox(&self.state, &caller.tenant_id)
            .await
            .map_err(internal)?;
        let rendered = toolbox.render(Format::Mcp, &Filter::default());
        for s in &rendered.skipped {
            tracing::warn!(tool = %s.name, reason = %s.reason, "tool left out of the MCP listing");
        }
        let mut tools = rendered
            .tools
            .into_iter()
            .map(serde_json::from_value::<Tool>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        if !tools.is_empty() {
            tools.push(await_tool()?);
        }
        // Per tenant: only this caller's client may cache it.
        Ok(ListToolsResult::with_all_items(tools)
            .with_ttl_ms(TOOLS_TTL.as_millis() as u64)
            .with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = caller(&context)?;
        let arguments = request.arguments.map_or(Value::Null, Value::Object);
        if request.name == AWAIT_TOOL {
            return self.await_execution(&caller, &arguments).await;
        }
        let toolbox = toolbox(&self.state, &caller.tenant_id)
            .await
            .map_err(internal)?;
        let tool = toolbox.resolve(&request.name).ok_or_else(|| {
            McpError::invalid_params(format!("unknown tool '{}'", request.name), None)
        })?;
        let options = CallOptions {
            trace_parent: parts(&context).map(|p| trace_parent_for(&p.headers)),
            ..CallOptions::default()
        };
        match run(&self.state, &caller, tool, arguments, options, Poll::Mcp).await {
            Ok(outcome) => Ok(result(outcome.answer, outcome.is_error)),
            // A failure to submit is the tool's failure as far as the model is concerned.
            Err(ApiError(e)) => Ok(result(
                json!({"status": "failed", "success": false, "error": e.body()}),
                true,
            )),
        }
    }
}
