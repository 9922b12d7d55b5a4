//! Trigger filters and input mappings, in JMESPath (<https://jmespath.org>, the `jmespath` crate
//! of the JMESPath project; `docs/triggers.md` says why JMESPath rather than JSONPath).
//!
//! Expressions read the provider event as published (`schemas/messages/provider-event.schema.json`):
//! `{eventId, tenantId, connectionId, integrationId, type, providerType, occurredAt, receivedAt,
//! data}`. The input mapping is an object whose leaves are expressions and whose inner objects
//! nest, e.g. `{"toName": "data.shipping_address.name", "weight": "sum(data.line_items[].grams)",
//! "requiredNote": "'KHONGCHOXEMHANG'"}`; a leaf that yields null leaves its field out, so an
//! optional field the event lacks is simply not sent.

use jmespath::Expression;
use serde_json::{Map, Value};

use crate::catalog::Action;
use crate::error::{Error, Result};
use crate::model::{new_id, now};
use crate::webhooks::ProviderEvent;

/// Bounds on what a tenant may store: an expression's length, a mapping's leaves and depth.
pub const MAX_EXPRESSION_LEN: usize = 2048;
pub const MAX_LEAVES: usize = 200;
pub const MAX_DEPTH: usize = 8;

/// A trigger's filter and input mapping, compiled.
pub struct CompiledTrigger {
    filter: Option<Expression<'static>>,
    input: Vec<(String, Node)>,
}

enum Node {
    Expr(Expression<'static>),
    Object(Vec<(String, Node)>),
}

/// An event as expressions see it: its fields, with the unmasked payload as `data` where the
/// event carries one (see [`ProviderEvent::unmasked_data`]).
pub fn event_document(event: &ProviderEvent) -> Value {
    let mut document = serde_json::to_value(event).unwrap_or(Value::Null);
    if let (Some(unmasked), Value::Object(fields)) = (&event.unmasked_data, &mut document) {
        fields.insert("data".into(), unmasked.clone());
    }
    document
}

fn expression(text: &str, at: &str) -> Result<Expression<'static>> {
    if text.trim().is_empty() || text.len() > MAX_EXPRESSION_LEN {
        return Err(Error::validation(format!(
            "{at}: a JMESPath expression of 1 to {MAX_EXPRESSION_LEN} characters"
        )));
    }
    jmespath::compile(text)
        .map_err(|e| Error::validation(format!("{at}: not a valid JMESPath expression: {e}")))
}

fn object(
    map: &Map<String, Value>,
    at: &str,
    depth: usize,
    leaves: &mut usize,
) -> Result<Vec<(String, Node)>> {
    if depth > MAX_DEPTH {
        return Err(Error::validation(format!(
            "{at}: nested deeper than {MAX_DEPTH}"
        )));
    }
    let mut nodes = Vec::with_capacity(map.len());
    for (key, value) in map {
        let here = format!("{at}.{key}");
        let node = match value {
            Value::String(text) => {
                *leaves += 1;
                if *leaves > MAX_LEAVES {
                    return Err(Error::validation(format!(
                        "action.input: at most {MAX_LEAVES} expressions"
                    )));
                }
                Node::Expr(expression(text, &here)?)
            }
            Value::Object(inner) => Node::Object(object(inner, &here, depth + 1, leaves)?),
            _ => {
                return Err(Error::validation(format!(
                    "{here}: a JMESPath expression (a string; write a constant as a literal, \
                     `5` or 'text') or an object of them"
                )))
            }
        };
        nodes.push((key.clone(), node));
    }
    Ok(nodes)
}

/// What evaluating one expression gave.
enum Outcome {
    Value(Value),
    /// The expression failed on this event (a function given the wrong type, for instance).
    Failed(String),
}

fn search(expr: &Expression<'static>, event: &Value) -> Outcome {
    match expr.search(event) {
        Ok(found) => match serde_json::to_value(&*found) {
            Ok(v) => Outcome::Value(whole_numbers(v)),
            Err(e) => Outcome::Failed(e.to_string()),
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// JMESPath computes in floating point (`sum([300, 100])` is `400.0`): a whole number within
/// the exactly representable range is made an integer again, as an integer input field needs.
fn whole_numbers(v: Value) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < EXACT => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(whole_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, whole_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Evaluate `nodes`; nulls leave their field out. `strict`: a failing expression is an error;
/// otherwise its field is left out (the check at creation, where the event's data is unknown).
fn evaluate(
    nodes: &[(String, Node)],
    event: &Value,
    at: &str,
    strict: bool,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (key, node) in nodes {
        let here = format!("{at}.{key}");
        let value = match node {
            Node::Expr(expr) => match search(expr, event) {
                Outcome::Value(v) => v,
                Outcome::Failed(why) if strict => {
                    return Err(Error::validation(format!("{here}: {why}")))
                }
                Outcome::Failed(_) => Value::Null,
            },
            Node::Object(inner) => Value::Object(evaluate(inner, event, &here, strict)?),
        };
        if !value.is_null() {
            out.insert(key.clone(), value);
        }
    }
    Ok(out)
}

impl CompiledTrigger {
    /// Compile a filter and an input mapping; `VALIDATION_FAILED` names the failing field.
    pub fn compile(filter: Option<&str>, input: &Value) -> Result<Self> {
        let filter = filter.map(|f| expression(f, "source.filter")).transpose()?;
        let Value::Object(map) = input else {
            return Err(Error::validation(
                "action.input: an object mapping the action's input fields to JMESPath expressions",
            ));
        };
        let input = object(map, "action.input", 1, &mut 0)?;
        Ok(Self { filter, input })
    }

    pub fn of(trigger: &super::Trigger) -> Result<Self> {
        Self::compile(trigger.source.filter.as_deref(), &trigger.action.input)
    }

    /// Whether the filter (if any) is truthy on `event` (an [`event_document`]). A filter that
    /// fails on the event does not hold.
    pub fn matches(&self, event: &Value) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|f| f.search(event).is_ok_and(|v| v.is_truthy()))
    }

    /// The action's input mapped from `event`; an expression failing on it is `VALIDATION_FAILED`.
    pub fn input(&self, event: &Value) -> Result<Value> {
        evaluate(&self.input, event, "action.input", true).map(Value::Object)
    }

    /// What can be checked before any event arrives (`docs/triggers.md`): every field the
    /// mapping sets is one the action's inputSchema declares (where it allows no others),
    /// every field it requires is mapped, and what the mapping yields without any event data
    /// (constants, the event's envelope) fits the schema. What the event's data will hold is
    /// checked when it arrives.
    pub fn check(&self, action: &Action, sample: &ProviderEvent) -> Result<()> {
        let schema = action.input_schema();
        let mapped: Vec<&str> = self.input.iter().map(|(k, _)| k.as_str()).collect();
        if schema["additionalProperties"] == Value::Bool(false) {
            let properties = schema["properties"].as_object();
            if let Some(unknown) = mapped
                .iter()
                .find(|k| !properties.is_some_and(|p| p.contains_key(**k)))
            {
                return Err(Error::validation(format!(
                    "action.input.{unknown}: {} has no input '{unknown}'",
                    action.action_id
                )));
            }
        }
        let required = schema["required"].as_array().into_iter().flatten();
        if let Some(missing) = required
            .filter_map(Value::as_str)
            .find(|r| !mapped.contains(r))
        {
            return Err(Error::validation(format!(
                "action.input: {} requires '{missing}', which the mapping does not set",
                action.action_id
            )));
        }
        let yielded = Value::Object(evaluate(
            &self.input,
            &event_document(sample),
            "action.input",
            false,
        )?);
        let violations = action.input_violations_besides_missing(&yielded);
        if !violations.is_empty() {
            return Err(Error::validation(format!(
                "action.input: whatever the event holds, the mapping yields {}",
                violations.join("; ")
            )));
        }
        Ok(())
    }
}

/// An event of `event_type` from `connection_id` with no data, for [`CompiledTrigger::check`].
pub fn sample_event(
    tenant_id: &str,
    connection_id: &str,
    integration_id: &str,
    event_type: &str,
) -> ProviderEvent {
    let t = now();
    ProviderEvent {
        event_id: new_id(),
        tenant_id: tenant_id.to_string(),
        connection_id: connection_id.to_string(),
        integration_id: integration_id.to_string(),
        event_type: event_type.to_string(),
        provider_type: event_type.to_string(),
        occurred_at: t,
        received_at: t,
        data: Value::Object(Map::new()),
        unmasked_data: None,
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
