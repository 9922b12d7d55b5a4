//! The catalog of integrations and actions, loaded from the JSON documents in `schemas/` (embedded
//! at build time), with every JSON Schema compiled once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use jsonschema::Validator;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

mod kinds;
mod oauth2;

pub use kinds::{AuthType, IntegrationCategory, IntegrationStatus, RateLimitScope};
pub use oauth2::OAuth2Spec;

include!(concat!(env!("OUT_DIR"), "/schema_files.rs"));

/// Every embedded document under `schemas/`, by path relative to it (e.g.
/// `integrations/shipping-ghn.json`).
pub fn schema_files() -> &'static [(&'static str, &'static str)] {
    SCHEMA_FILES
}

fn compile(schema: &Value, what: &str) -> Result<Validator> {
    jsonschema::draft202012::new(schema)
        .map_err(|e| Error::internal(format!("{what}: schema does not compile: {e}")))
}

/// Validate `instance`, naming every failing field (up to five) in the message.
pub fn validate(validator: &Validator, instance: &Value, root: &str) -> Result<()> {
    let mut problems = validator.iter_errors(instance).take(5).map(|e| {
        let path = e.instance_path().to_string();
        format!("{root}{path}: {e}")
    });
    let Some(first) = problems.next() else {
        return Ok(());
    };
    let message = std::iter::once(first)
        .chain(problems)
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::validation(message))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionCategory {
    Read,
    Write,
}

/// How a repeated call of an action behaves; decides whether an unknown outcome may be retried.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", tag = "strategy")]
pub enum Idempotency {
    /// Repeating has no further effect.
    Natural,
    /// The execution id is sent to the provider in `providerField`.
    ProviderKey {
        #[serde(rename = "providerField")]
        provider_field: String,
    },
    /// A repeat could act twice.
    None,
}

pub struct Action {
    pub integration_id: String,
    pub action_id: String,
    pub category: ActionCategory,
    /// Calls per minute (burst the same), fleet-wide, counted by `rate_limit_scope`.
    pub rate_limit_per_minute: Option<u32>,
    pub rate_limit_scope: RateLimitScope,
    /// The config field naming the provider account, for [`RateLimitScope::Account`].
    pub account_field: Option<String>,
    pub timeout: Duration,
    pub idempotency: Idempotency,
    /// The action's catalog entry, as served by the API.
    pub doc: Value,
    input: Validator,
    output: Validator,
}

impl Action {
    /// The fleet-wide bucket this action's calls on `connection` count against, and its limit;
    /// None when the catalog sets no limit.
    pub fn rate_limit_bucket(
        &self,
        connection: &crate::model::Connection,
    ) -> Option<(String, crate::limits::BucketLimit)> {
        let per_minute = self.rate_limit_per_minute?;
        let scope = match self.rate_limit_scope {
            RateLimitScope::Connection => {
                format!("{}:{}", connection.tenant_id, connection.connection_id)
            }
            // Connections of any tenant to one provider account share its budget; without the
            // field in the config, the connection stands for its account.
            RateLimitScope::Account => match self
                .account_field
                .as_deref()
                .and_then(|f| connection.config.get(f))
            {
                Some(account) => format!("account:{account}"),
                None => format!("{}:{}", connection.tenant_id, connection.connection_id),
            },
            RateLimitScope::Integration => "all".to_string(),
        };
        Some((
            format!("rl:{}:{scope}:{}", self.integration_id, self.action_id),
            crate::limits::BucketLimit::per_minute(per_minute),
        ))
    }

    pub fn validate_input(&self, input: &Value) -> Result<()> {
        validate(&self.input, input, "input")
    }

    /// Where `input` breaks the inputSchema other than by lacking a required property
    /// (`input/weight: "heavy" is not of type "integer"`), up to five: a trigger's check of
    /// what its mapping yields before any event data is known.
    pub fn input_violations_besides_missing(&self, input: &Value) -> Vec<String> {
        self.input
            .iter_errors(input)
            .filter(|e| {
                !matches!(
                    e.kind(),
                    jsonschema::error::ValidationErrorKind::Required { .. }
                )
            })
            .take(5)
            .map(|e| format!("input{}: {e}", e.instance_path()))
            .collect()
    }

    /// Check a connector's output against the action's outputSchema (tests require a match;
    /// at run time a mismatch is counted and logged, see the engine).
    pub fn validate_output(&self, output: &Value) -> Result<()> {
        validate(&self.output, output, "output")
    }

    /// Where an output breaks the outputSchema, without any of its data: the failing field and
    /// the rule it broke (`/fee at /properties/fee/type`), up to five, for logs.
    pub fn output_mismatches(&self, output: &Value) -> Vec<String> {
        self.output
            .iter_errors(output)
            .take(5)
            .map(|e| format!("output{} at {}", e.instance_path(), e.schema_path()))
            .collect()
    }

    /// Whether re-sending after an unknown outcome could act twice.
    pub fn unsafe_to_repeat(&self) -> bool {
        self.category == ActionCategory::Write && self.idempotency == Idempotency::None
    }

    pub fn input_schema(&self) -> &Value {
        &self.doc["inputSchema"]
    }
}

pub struct Integration {
    pub integration_id: String,
    pub category: IntegrationCategory,
    pub status: IntegrationStatus,
    pub auth_type: AuthType,
    /// The authorization server, for `oauth2` integrations (required for them).
    pub oauth2: Option<OAuth2Spec>,
    /// The whole document, as served by the API.
    pub doc: Value,
    /// Config fields marked `writeOnly`: accepted only as credentials, kept in the secret store.
    pub secret_fields: BTreeSet<String>,
    config: Validator,
    actions: BTreeMap<String, Arc<Action>>,
}

impl Integration {
    pub fn action(&self, action_id: &str) -> Result<&Arc<Action>> {
        self.actions.get(action_id).ok_or_else(|| {
            Error::new(
                ErrorKind::ActionNotFound,
                format!(
                    "integration '{}' has no action '{action_id}'; actions: {}",
                    self.integration_id,
                    self.actions.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    pub fn actions(&self) -> impl Iterator<Item = &Arc<Action>> {
        self.actions.values()
    }

    /// Check a connection's config and credentials: secret fields only in credentials, the
    /// others only in config, and together valid against the configSchema.
    pub fn validate_connection(
        &self,
        config: &Map<String, Value>,
        credentials: &BTreeMap<String, String>,
    ) -> Result<()> {
        if let Some(k) = config.keys().find(|k| self.secret_fields.contains(*k)) {
            return Err(Error::validation(format!(
                "config/{k}: is a secret field; send it in credentials"
            )));
        }
        if let Some(k) = credentials
            .keys()
            .find(|k| !self.secret_fields.contains(*k))
        {
            return Err(Error::validation(format!(
                "credentials/{k}: is not a secret field of '{}'; secret fields: {}",
                self.integration_id,
                self.secret_fields
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut merged = config.clone();
        for (k, v) in credentials {
            merged.insert(k.clone(), Value::String(v.clone()));
        }
        let merged = Value::Object(merged);
        // Name the failing field without echoing a secret value into the message.
        let first = self
            .config
            .iter_errors(&merged)
            .next()
            .map(|e| (e.instance_path().to_string(), e.to_string()));
        let Some((path, detail)) = first else {
            return Ok(());
        };
        let field = path.trim_start_matches('/');
        if self.secret_fields.contains(field) {
            Err(Error::validation(format!("credentials{path}: is invalid")))
        } else if detail.contains('"') && self.secret_fields.iter().any(|s| detail.contains(s)) {
            // A "required" error at the root names a missing secret field.
            Err(Error::validation(format!("credentials: {detail}")))
        } else {
            Err(Error::validation(format!("config{path}: {detail}")))
        }
    }

    /// The catalog listing entry: the document without schemas.
    pub fn summary(&self) -> Value {
        let mut s = self.doc.clone();
        if let Some(obj) = s.as_object_mut() {
            obj.remove("configSchema");
            let actions = self
                .actions
                .values()
                .map(|a| {
                    serde_json::json!({
                        "actionId": a.action_id,
                        "name": a.doc["name"],
                        "category": a.doc["category"],
                    })
                })
                .collect();
            obj.insert("actions".into(), Value::Array(actions));
        }
        s
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionHead {
    action_id: String,
    category: ActionCategory,
    rate_limit: Option<u32>,
    #[serde(default = "default_scope")]
    rate_limit_scope: RateLimitScope,
    timeout_ms: u64,
    idempotency: Idempotency,
}

fn default_scope() -> RateLimitScope {
    RateLimitScope::Connection
}

/// The integrations and the message schemas.
pub struct Catalog {
    integrations: BTreeMap<String, Arc<Integration>>,
    messages: BTreeMap<String, Arc<Validator>>,
}

impl Catalog {
    /// The catalog built into this binary.
    pub fn embedded() -> Result<Self> {
        Self::from_files(SCHEMA_FILES.iter().map(|(p, s)| (*p, *s)))
    }

    /// Build from `(path, json)` pairs: `integrations/*.json` are integrations,
    /// `messages/*.schema.json` are message schemas; each integration is checked against
    /// `integration.schema.json`.
    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let files: Vec<(&str, Value)> = files
            .into_iter()
            .map(|(path, text)| {
                serde_json::from_str(text)
                    .map(|v| (path, v))
                    .map_err(|e| Error::internal(format!("{path}: invalid JSON: {e}")))
            })
            .collect::<Result<_>>()?;
        let meta = files
            .iter()
            .find(|(p, _)| *p == "integration.schema.json")
            .ok_or_else(|| Error::internal("integration.schema.json missing"))?;
        let meta = compile(&meta.1, "integration.schema.json")?;

        let mut integrations = BTreeMap::new();
        let mut messages = BTreeMap::new();
        for (path, doc) in &files {
            if let Some(name) = path.strip_prefix("messages/") {
                let name = name.trim_end_matches(".json").trim_end_matches(".schema");
                messages.insert(name.to_string(), Arc::new(compile(doc, path)?));
            } else if path.starts_with("integrations/") {
                validate(&meta, doc, path)?;
                let integration = load_integration(path, doc)?;
                integrations.insert(integration.integration_id.clone(), Arc::new(integration));
            }
        }
        Ok(Self {
            integrations,
            messages,
        })
    }

    pub fn integration(&self, integration_id: &str) -> Result<&Arc<Integration>> {
        self.integrations.get(integration_id).ok_or_else(|| {
            Error::new(
                ErrorKind::IntegrationNotFound,
                format!("no integration '{integration_id}' in the catalog"),
            )
        })
    }

    pub fn action(&self, integration_id: &str, action_id: &str) -> Result<&Arc<Action>> {
        self.integration(integration_id)?.action(action_id)
    }

    pub fn integrations(&self) -> impl Iterator<Item = &Arc<Integration>> {
        self.integrations.values()
    }

    /// A compiled message schema by name (e.g. `execution-request`).
    pub fn message_schema(&self, name: &str) -> Result<&Validator> {
        self.messages
            .get(name)
            .map(|v| v.as_ref())
            .ok_or_else(|| Error::internal(format!("message schema '{name}' missing")))
    }
}

/// A closed-set field of an integration document (the meta-schema has checked it already).
fn closed<T: serde::de::DeserializeOwned>(doc: &Value, name: &str, path: &str) -> Result<T> {
    serde_json::from_value(doc[name].clone())
        .map_err(|e| Error::internal(format!("{path}: {name}: {e}")))
}

fn load_integration(path: &str, doc: &Value) -> Result<Integration> {
    let field = |name: &str| doc[name].as_str().unwrap_or_default().to_string();
    let integration_id = field("integrationId");
    let config_schema = &doc["configSchema"];
    let secret_fields = config_schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .filter(|(_, p)| p["writeOnly"] == Value::Bool(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    let config = compile(config_schema, &format!("{path}: configSchema"))?;
    let mut actions = BTreeMap::new();
    for a in doc["actions"].as_array().into_iter().flatten() {
        let head: ActionHead = serde_json::from_value(a.clone())
            .map_err(|e| Error::internal(format!("{path}: action: {e}")))?;
        let what = format!("{path}: {}", head.action_id);
        let input = compile(&a["inputSchema"], &format!("{what}.inputSchema"))?;
        let output = compile(&a["outputSchema"], &format!("{what}.outputSchema"))?;
        let action = Action {
            integration_id: integration_id.clone(),
            action_id: head.action_id.clone(),
            category: head.category,
            rate_limit_per_minute: head.rate_limit,
            rate_limit_scope: head.rate_limit_scope,
            account_field: doc["accountField"].as_str().map(str::to_string),
            timeout: Duration::from_millis(head.timeout_ms),
            idempotency: head.idempotency,
            doc: a.clone(),
            input,
            output,
        };
        if actions
            .insert(head.action_id.clone(), Arc::new(action))
            .is_some()
        {
            return Err(Error::internal(format!("{what}: duplicate actionId")));
        }
    }
    let auth_type = closed(doc, "authType", path)?;
    let oauth2 = OAuth2Spec::load(doc, path)?;
    if (auth_type == AuthType::OAuth2) != oauth2.is_some() {
        return Err(Error::internal(format!(
            "{path}: `oauth2` is declared by oauth2 integrations, and only by them"
        )));
    }
    Ok(Integration {
        integration_id,
        category: closed(doc, "category", path)?,
        status: closed(doc, "status", path)?,
        auth_type,
        oauth2,
        doc: doc.clone(),
        secret_fields,
        config,
        actions,
    })
}
