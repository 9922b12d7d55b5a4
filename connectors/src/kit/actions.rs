//! Actions as a table: each connector lists `(actionId, handler)` once; the kit dispatches,
//! answers unknown ids, checks the table against the catalog, and applies the catalog's
//! `idempotency.providerField` so the execution id reaches the provider where the catalog says.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use integrations_core::catalog::{schema_files, Catalog, Idempotency};
use integrations_core::{Error, ErrorKind, Result};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::key::KeyFormat;
use super::request::{Body, Request};

pub type ActionFuture<'a> = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;

/// A handler: `|api, call| Box::pin(my_action(api, call))`.
pub type Handler<A> = for<'a> fn(&'a A, &'a ActionCall<'a>) -> ActionFuture<'a>;

pub struct Action<A: 'static> {
    pub id: &'static str,
    pub run: Handler<A>,
}

/// Where the catalog's `providerField` puts the execution id: `a.b` is a body field (nested
/// for JSON), `header:Name` a header, `query:name` a query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderKey {
    BodyField(Vec<String>),
    Header(String),
    Query(String),
}

impl ProviderKey {
    pub fn parse(field: &str) -> Result<Self> {
        let bad = || Error::internal(format!("providerField '{field}' is not a usable place"));
        if let Some(name) = field.strip_prefix("header:") {
            return (!name.is_empty())
                .then(|| Self::Header(name.to_string()))
                .ok_or_else(bad);
        }
        if let Some(name) = field.strip_prefix("query:") {
            return (!name.is_empty())
                .then(|| Self::Query(name.to_string()))
                .ok_or_else(bad);
        }
        let path: Vec<String> = field.split('.').map(str::to_string).collect();
        if path.iter().any(String::is_empty) {
            return Err(bad());
        }
        Ok(Self::BodyField(path))
    }

    /// `request` with `value` placed; an existing value at that place is replaced, so the
    /// key cannot be overridden by input.
    pub fn apply(&self, mut request: Request, value: &str) -> Result<Request> {
        match self {
            Self::Header(name) => {
                request
                    .headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                request.headers.push((name.clone(), value.to_string()));
            }
            Self::Query(name) => {
                request.query.retain(|(n, _)| n != name);
                request.query.push((name.clone(), value.to_string()));
            }
            Self::BodyField(path) => match &mut request.body {
                // A bodiless read or delete carries its fields in the query.
                Body::Empty if is_bodiless(&request.method) => {
                    let [name] = path.as_slice() else {
                        return Err(Error::internal("a nested provider key needs a JSON body"));
                    };
                    request.query.retain(|(n, _)| n != name);
                    request.query.push((name.clone(), value.to_string()));
                }
                Body::Empty => {
                    let mut body = Value::Object(Map::new());
                    set_path(&mut body, path, value)?;
                    request.body = Body::Json(body);
                }
                Body::Json(body) => set_path(body, path, value)?,
                Body::Form(pairs) => {
                    let name = path.join(".");
                    pairs.retain(|(n, _)| *n != name);
                    pairs.push((name, value.to_string()));
                }
                Body::Raw { .. } => {
                    return Err(Error::internal("a provider key cannot go into a raw body"))
                }
            },
        }
        Ok(request)
    }
}

fn is_bodiless(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::DELETE)
}

fn set_path(body: &mut Value, path: &[String], value: &str) -> Result<()> {
    let mut at = body;
    for (i, key) in path.iter().enumerate() {
        let obj = at
            .as_object_mut()
            .ok_or_else(|| Error::internal(format!("provider key: '{key}' is not in an object")))?;
        if i + 1 == path.len() {
            obj.insert(key.clone(), Value::String(value.to_string()));
            return Ok(());
        }
        at = obj
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// What a handler gets besides its API.
pub struct ActionCall<'a> {
    /// Validated against the action's inputSchema.
    pub input: &'a Value,
    pub execution_id: &'a str,
    provider_key: Option<&'a ProviderKey>,
    format: Option<&'a KeyFormat>,
}

impl<'a> ActionCall<'a> {
    pub fn new(input: &'a Value, execution_id: &'a str, key: Option<&'a ProviderKey>) -> Self {
        Self {
            input,
            execution_id,
            provider_key: key,
            format: None,
        }
    }

    /// The key's value is built by `format` instead of being the bare execution id.
    pub fn with_format(mut self, format: Option<&'a KeyFormat>) -> Self {
        self.format = format;
        self
    }

    /// The request that creates the effect, with the execution id where the catalog's
    /// providerField says, so a retry after an unknown outcome finds the first effect.
    /// Unchanged for actions without a provider key.
    pub fn keyed(&self, request: Request) -> Result<Request> {
        self.keyed_with(request, &[])
    }

    /// [`ActionCall::keyed`] for a key with a declared format, given its parameters.
    pub fn keyed_with(&self, request: Request, params: &[(&str, &str)]) -> Result<Request> {
        match self.provider_key {
            Some(key) => key.apply(request, &self.key(params)?),
            None => Ok(request),
        }
    }

    /// The provider key's value (for providers that also sign or report it): the declared
    /// format rendered, else the execution id. An action without a provider key in the
    /// catalog has none, and asking for it is refused rather than inventing one.
    pub fn key(&self, params: &[(&str, &str)]) -> Result<String> {
        if self.provider_key.is_none() {
            return Err(Error::internal(
                "this action has no providerField in the catalog",
            ));
        }
        match self.format {
            Some(f) => f.render(self.execution_id, params),
            None => Ok(self.execution_id.to_string()),
        }
    }

    /// [`ActionCall::keyed`] with a value derived from the execution id, for providers whose
    /// key has a format of its own (a date prefix, a length limit); the derivation must be
    /// deterministic so that a retry sends the same key.
    pub fn keyed_as(&self, request: Request, value: &str) -> Result<Request> {
        match self.provider_key {
            Some(key) => key.apply(request, value),
            None => Ok(request),
        }
    }
}

pub struct Actions<A: 'static> {
    integration_id: &'static str,
    table: &'static [Action<A>],
    /// Declared by the connector: keys whose value is not the bare execution id.
    formats: &'static [(&'static str, KeyFormat)],
    /// From the embedded catalog. An unreadable catalog fails every run rather than sending
    /// writes without their idempotency key.
    keys: Result<BTreeMap<String, ProviderKey>>,
}

impl<A: Sync + 'static> Actions<A> {
    /// The table, with provider keys from the catalog embedded in this build.
    pub fn new(integration_id: &'static str, table: &'static [Action<A>]) -> Self {
        let keys = embedded_keys(integration_id);
        if let Err(e) = &keys {
            tracing::error!(integration_id, error = %e, "connector cannot read its catalog entry");
        }
        Self {
            integration_id,
            table,
            formats: &[],
            keys,
        }
    }

    /// Key formats by action id ([`KeyFormat`]); each must be for an action the catalog gives
    /// a providerField ([`Actions::check_catalog`]).
    pub fn with_key_formats(mut self, formats: &'static [(&'static str, KeyFormat)]) -> Self {
        self.formats = formats;
        self
    }

    fn format(&self, action_id: &str) -> Option<&KeyFormat> {
        self.formats
            .iter()
            .find(|(id, _)| *id == action_id)
            .map(|(_, f)| f)
    }

    pub fn ids(&self) -> Vec<&'static str> {
        self.table.iter().map(|a| a.id).collect()
    }

    pub fn provider_key(&self, action_id: &str) -> Option<&ProviderKey> {
        self.keys.as_ref().ok().and_then(|k| k.get(action_id))
    }

    pub async fn run(
        &self,
        api: &A,
        action_id: &str,
        input: &Value,
        execution_id: &str,
    ) -> Result<Value> {
        let keys = self.keys.as_ref().map_err(Clone::clone)?;
        let Some(action) = self.table.iter().find(|a| a.id == action_id) else {
            return Err(Error::new(
                ErrorKind::ActionNotFound,
                format!(
                    "{} has no action '{action_id}'; known: {}",
                    self.integration_id,
                    self.ids().join(", ")
                ),
            ));
        };
        let call = ActionCall::new(input, execution_id, keys.get(action_id))
            .with_format(self.format(action_id));
        (action.run)(api, &call).await
    }

    /// The table and the catalog list the same actions, and every provider key is usable.
    pub fn check_catalog(&self, catalog: &Catalog) -> Result<()> {
        let integration = catalog.integration(self.integration_id)?;
        let ours: BTreeSet<&str> = self.table.iter().map(|a| a.id).collect();
        if ours.len() != self.table.len() {
            return Err(Error::internal(format!(
                "{}: duplicate action ids in the table",
                self.integration_id
            )));
        }
        let theirs: BTreeSet<&str> = integration
            .actions()
            .map(|a| a.action_id.as_str())
            .collect();
        if ours != theirs {
            return Err(Error::internal(format!(
                "{}: only in the connector: {:?}; only in the catalog: {:?}",
                self.integration_id,
                ours.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours).collect::<Vec<_>>()
            )));
        }
        for action in integration.actions() {
            if let Idempotency::ProviderKey { provider_field } = &action.idempotency {
                let key = ProviderKey::parse(provider_field)?;
                if self.provider_key(&action.action_id) != Some(&key) {
                    return Err(Error::internal(format!(
                        "{}.{}: provider key not loaded",
                        self.integration_id, action.action_id
                    )));
                }
            }
        }
        for (action_id, _) in self.formats {
            if self.provider_key(action_id).is_none() {
                return Err(Error::internal(format!(
                    "{}.{action_id}: a key format for an action without a providerField",
                    self.integration_id
                )));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DocHead {
    integration_id: String,
    #[serde(default)]
    actions: Vec<ActionHead>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActionHead {
    action_id: String,
    idempotency: Idempotency,
}

fn embedded_keys(integration_id: &str) -> Result<BTreeMap<String, ProviderKey>> {
    for (path, text) in schema_files() {
        if !path.starts_with("integrations/") {
            continue;
        }
        // Another integration's broken document is the catalog's problem (it refuses to
        // load), not a reason to stop this connector.
        let Ok(doc) = serde_json::from_str::<DocHead>(text) else {
            continue;
        };
        if doc.integration_id == integration_id {
            return keys_of(&doc.actions);
        }
    }
    Err(Error::internal(format!(
        "no catalog document for '{integration_id}'"
    )))
}

fn keys_of(actions: &[ActionHead]) -> Result<BTreeMap<String, ProviderKey>> {
    let mut keys = BTreeMap::new();
    for a in actions {
        if let Idempotency::ProviderKey { provider_field } = &a.idempotency {
            keys.insert(a.action_id.clone(), ProviderKey::parse(provider_field)?);
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
