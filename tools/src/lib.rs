//! The catalog's actions as tools for AI agents, without HTTP: one tool per (active connection,
//! action) of a tenant, rendered for OpenAI (Chat Completions, Responses), Anthropic or MCP, and
//! the way back from a tool call (name → connection and action, model arguments → action input).
//! Naming, schema conversion and the rules each format enforces are described in
//! `docs/agents.md`; [`check`] has a checker per format.

pub mod args;
pub mod check;
pub mod mcp;
pub mod naming;
pub mod portable;
pub mod schema;
pub mod strict;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use integrations_core::catalog::{Action, ActionCategory, Catalog, Integration};
use integrations_core::model::{Connection, ConnectionStatus};
use serde_json::{json, Value};

use crate::naming::{
    assign_names, hashed_name, integration_short_name, readable_name, NameRequest,
};

/// A tool definition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Chat Completions: `{"type":"function","function":{name, description, parameters, strict}}`.
    OpenAi,
    /// Responses API: `{"type":"function", name, description, parameters, strict}`.
    OpenAiResponses,
    /// Messages API: `{name, description, input_schema}`.
    Anthropic,
    /// MCP `tools/list` entries.
    Mcp,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Self::OpenAi,
        Self::OpenAiResponses,
        Self::Anthropic,
        Self::Mcp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::OpenAiResponses => "openai-responses",
            Self::Anthropic => "anthropic",
            Self::Mcp => "mcp",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| "one of openai, openai-responses, anthropic, mcp".to_string())
    }
}

/// Which tools to list; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub integration_id: Option<String>,
    pub connection_id: Option<String>,
    pub category: Option<ActionCategory>,
}

/// `read` or `write`.
pub fn parse_category(s: &str) -> Result<ActionCategory, String> {
    match s {
        "read" => Ok(ActionCategory::Read),
        "write" => Ok(ActionCategory::Write),
        _ => Err("one of read, write".into()),
    }
}

/// Longest tool description; the connection prefix is kept, the action's text is cut.
const MAX_DESCRIPTION: usize = 1024;
/// Longest connection name shown in a description.
const MAX_CONNECTION_NAME: usize = 100;

/// One action of one connection, callable as a tool.
pub struct Tool {
    pub name: String,
    pub connection: Connection,
    pub integration: Arc<Integration>,
    pub action: Arc<Action>,
    /// The name with its hash suffix: always resolvable, even when the readable name is used.
    hashed_name: String,
    /// The catalog input schema with its `$ref`s inlined.
    input_schema: Result<Value, String>,
}

fn one_line(s: &str, max: usize) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let line: String = words
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    match line.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

impl Tool {
    fn integration_name(&self) -> &str {
        self.integration.doc["name"]
            .as_str()
            .unwrap_or(&self.integration.integration_id)
    }

    /// The action's description, prefixed with the integration and the connection's name so
    /// that an agent with two connections of one integration can tell them apart.
    pub fn description(&self) -> String {
        let prefix = format!(
            "[{} connection \"{}\"] ",
            self.integration_name(),
            one_line(&self.connection.name, MAX_CONNECTION_NAME)
        );
        let room = MAX_DESCRIPTION.saturating_sub(prefix.chars().count());
        let text = self.action.doc["description"].as_str().unwrap_or_default();
        format!("{prefix}{}", one_line(text, room.saturating_sub(1)))
    }

    /// A human-readable title: the action's name and the connection's.
    pub fn title(&self) -> String {
        let action = self.action.doc["name"]
            .as_str()
            .unwrap_or(&self.action.action_id);
        format!(
            "{action} ({})",
            one_line(&self.connection.name, MAX_CONNECTION_NAME)
        )
    }

    fn schema(&self) -> Result<&Value, String> {
        self.input_schema.as_ref().map_err(Clone::clone)
    }

    /// The tool in `format`, checked against that format's rules; `Err` says why not.
    pub fn render(&self, format: Format) -> Result<Value, String> {
        let schema = self.schema()?;
        let tool = match format {
            Format::OpenAi | Format::OpenAiResponses => {
                let function = json!({
                    "name": self.name,
                    "description": self.description(),
                    "parameters": strict::to_strict(schema)?,
                    "strict": true,
                });
                if format == Format::OpenAi {
                    json!({"type": "function", "function": function})
                } else {
                    let mut t = json!({"type": "function"});
                    if let (Value::Object(t), Value::Object(f)) = (&mut t, function) {
                        t.extend(f);
                    }
                    t
                }
            }
            Format::Anthropic => json!({
                "name": self.name,
                "description": self.description(),
                "input_schema": portable::to_portable(schema),
            }),
            Format::Mcp => {
                let mut annotations = mcp::annotations(&self.action);
                annotations["title"] = Value::String(self.title());
                json!({
                    "name": self.name,
                    "title": self.title(),
                    "description": self.description(),
                    "inputSchema": portable::to_portable(schema),
                    "outputSchema": mcp::result_schema(&self.action)?,
                    "annotations": annotations,
                })
            }
        };
        let problems = match format {
            Format::OpenAi => check::openai_tool(&tool, false),
            Format::OpenAiResponses => check::openai_tool(&tool, true),
            Format::Anthropic => check::anthropic_tool(&tool),
            Format::Mcp => check::mcp_tool(&tool),
        };
        if problems.is_empty() {
            Ok(tool)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The action input for the arguments a model sent in any format (see [`args`]).
    pub fn input_from_arguments(&self, arguments: Value) -> Result<Value, String> {
        args::to_input(self.schema()?, arguments)
    }

    fn matches(&self, f: &Filter) -> bool {
        f.integration_id
            .as_ref()
            .is_none_or(|i| *i == self.connection.integration_id)
            && f.connection_id
                .as_ref()
                .is_none_or(|c| *c == self.connection.connection_id)
            && f.category.is_none_or(|c| c == self.action.category)
    }
}

/// A tool that could not be rendered in the requested format, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// Rendered tools, plus those left out.
#[derive(Debug, Default)]
pub struct Rendered {
    pub tools: Vec<Value>,
    pub skipped: Vec<Skipped>,
}

/// Every tool of a tenant. Names are assigned over all of the tenant's active connections
/// before any filter applies, so a filtered listing names a tool as the full one does.
pub struct Toolbox {
    tools: Vec<Tool>,
}

impl Toolbox {
    /// Tools for the active connections among `connections` whose integration is in `catalog`,
    /// in the order of `connections`, then by action id.
    pub fn new(catalog: &Catalog, connections: &[Connection]) -> Self {
        let mut pending = Vec::new();
        for c in connections
            .iter()
            .filter(|c| c.status == ConnectionStatus::Active)
        {
            let Ok(integration) = catalog.integration(&c.integration_id) else {
                continue;
            };
            let short =
                integration_short_name(&integration.integration_id, integration.category.as_str());
            for action in integration.actions() {
                let readable = readable_name(&short, &action.action_id, &c.name);
                pending.push((c, integration.clone(), action.clone(), readable));
            }
        }
        let requests: Vec<NameRequest<'_>> = pending
            .iter()
            .map(|(c, _, a, readable)| NameRequest {
                readable: readable.clone(),
                connection_id: &c.connection_id,
                action_id: &a.action_id,
            })
            .collect();
        let names = assign_names(&requests);
        let tools = pending
            .into_iter()
            .zip(names)
            .map(|((c, integration, action, readable), name)| Tool {
                hashed_name: hashed_name(&readable, &c.connection_id, &action.action_id, 8),
                name,
                input_schema: schema::inline_refs(action.input_schema()),
                connection: c.clone(),
                integration,
                action,
            })
            .collect();
        Self { tools }
    }

    pub fn all(&self) -> &[Tool] {
        &self.tools
    }

    pub fn select<'a>(&'a self, filter: &'a Filter) -> impl Iterator<Item = &'a Tool> + 'a {
        self.tools.iter().filter(move |t| t.matches(filter))
    }

    /// The tool called `name`: by its listed name, or by its hashed form, which stays valid
    /// when a later connection makes the readable name ambiguous.
    pub fn resolve(&self, name: &str) -> Option<&Tool> {
        self.tools
            .iter()
            .find(|t| t.name == name)
            .or_else(|| self.tools.iter().find(|t| t.hashed_name == name))
    }

    /// The selected tools in `format`; a tool breaking the format's rules is left out and
    /// reported in `skipped`.
    pub fn render(&self, format: Format, filter: &Filter) -> Rendered {
        let mut out = Rendered::default();
        for t in self.select(filter) {
            match t.render(format) {
                Ok(v) => out.tools.push(v),
                Err(reason) => out.skipped.push(Skipped {
                    name: t.name.clone(),
                    reason,
                }),
            }
        }
        out
    }
}

/// The connection and action a tool name stands for among a tenant's `connections`.
pub fn resolve(
    catalog: &Catalog,
    connections: &[Connection],
    name: &str,
) -> Option<(Connection, Arc<Action>)> {
    let toolbox = Toolbox::new(catalog, connections);
    toolbox
        .resolve(name)
        .map(|t| (t.connection.clone(), t.action.clone()))
}
