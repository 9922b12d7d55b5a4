//! The fake portal's contacts and deals, answered as HubSpot's CRM v3 objects: every property
//! value a string, `createdAt`/`updatedAt`/`archived` beside them. Seeded with contact 5101
//! (an@example.com). Emails are unique, as in HubSpot.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde_json::{json, Map, Value};

use crate::faults::lock;

const STAGES: &[&str] = &[
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "closedwon",
    "closedlost",
];

#[derive(Clone)]
struct Object {
    properties: BTreeMap<String, String>,
    created: String,
}

pub(crate) enum Refused {
    NotFound,
    Conflict(u64),
    Invalid(String),
}

pub(crate) struct Portal {
    contacts: Mutex<BTreeMap<u64, Object>>,
    deals: Mutex<BTreeMap<u64, Object>>,
    associations: Mutex<BTreeSet<(u64, u64)>>,
    seq: Mutex<u64>,
}

impl Default for Portal {
    fn default() -> Self {
        let seed = Object {
            properties: [
                ("email", "an@example.com"),
                ("firstname", "An"),
                ("lastname", "Nguyen"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            created: "2026-11-01T09:00:00.000Z".into(),
        };
        Self {
            contacts: Mutex::new([(5101, seed)].into()),
            deals: Mutex::default(),
            associations: Mutex::default(),
            seq: Mutex::new(7000),
        }
    }
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// HubSpot's answer for one object, with the properties asked for (all when `names` is None;
/// `hs_object_id` always).
fn render(id: u64, o: &Object, names: Option<&[String]>) -> Value {
    let mut props = Map::new();
    props.insert("hs_object_id".into(), json!(id.to_string()));
    for (k, v) in &o.properties {
        if names.is_none_or(|n| n.contains(k)) {
            props.insert(k.clone(), json!(v));
        }
    }
    if let Some(names) = names {
        for n in names {
            props.entry(n.clone()).or_insert(Value::Null);
        }
    }
    json!({"id": id.to_string(), "properties": props, "createdAt": o.created,
           "updatedAt": now(), "archived": false})
}

/// Property values must be strings (HubSpot coerces numbers too; the fake is strict).
fn properties(body: &Value) -> Result<BTreeMap<String, String>, Refused> {
    let Some(map) = body.get("properties").and_then(Value::as_object) else {
        return Err(Refused::Invalid(
            "Property values were not valid: no properties".into(),
        ));
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Number(n) => Ok((k.clone(), n.to_string())),
            _ => Err(Refused::Invalid(format!(
                "Property values were not valid: {k} must be a string"
            ))),
        })
        .collect()
}

fn valid_email(e: &str) -> bool {
    e.split_once('@')
        .is_some_and(|(a, d)| !a.is_empty() && d.contains('.'))
}

impl Portal {
    fn next(&self) -> u64 {
        let mut seq = lock(&self.seq);
        *seq += 1;
        *seq
    }

    fn by_email(&self, email: &str) -> Option<u64> {
        lock(&self.contacts)
            .iter()
            .find(|(_, o)| o.properties.get("email").map(String::as_str) == Some(email))
            .map(|(id, _)| *id)
    }

    pub(crate) fn get_contact(
        &self,
        key: &str,
        by_email: bool,
        names: Option<&[String]>,
    ) -> Option<Value> {
        let id = if by_email {
            self.by_email(key)?
        } else {
            key.parse().ok()?
        };
        lock(&self.contacts).get(&id).map(|o| render(id, o, names))
    }

    pub(crate) fn create_contact(&self, body: &Value) -> Result<Value, Refused> {
        let props = properties(body)?;
        let Some(email) = props.get("email") else {
            return Err(Refused::Invalid(
                "Property values were not valid: email is required".into(),
            ));
        };
        if !valid_email(email) {
            return Err(Refused::Invalid(format!(
                "Property values were not valid: {email} is not a valid email"
            )));
        }
        if let Some(existing) = self.by_email(email) {
            return Err(Refused::Conflict(existing));
        }
        let id = self.next();
        let o = Object {
            properties: props,
            created: now(),
        };
        let out = render(id, &o, None);
        lock(&self.contacts).insert(id, o);
        Ok(out)
    }

    pub(crate) fn update_contact(&self, id: &str, body: &Value) -> Result<Value, Refused> {
        let props = properties(body)?;
        let id: u64 = id.parse().map_err(|_| Refused::NotFound)?;
        let mut contacts = lock(&self.contacts);
        let o = contacts.get_mut(&id).ok_or(Refused::NotFound)?;
        o.properties.extend(props);
        Ok(render(id, o, None))
    }

    /// `filterGroups[0].filters`, ANDed; EQ, NEQ, CONTAINS_TOKEN and HAS_PROPERTY are
    /// understood, the others refused as HubSpot refuses unknown operators.
    pub(crate) fn search(&self, body: &Value) -> Result<Value, Refused> {
        let filters = body
            .pointer("/filterGroups/0/filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let names: Option<Vec<String>> =
            body.get("properties").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            });
        let limit = body["limit"].as_u64().unwrap_or(10).min(200) as usize;
        let after: usize = body["after"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        let contacts = lock(&self.contacts);
        let mut matched = Vec::new();
        for (id, o) in contacts.iter().rev() {
            let mut all = true;
            for f in &filters {
                let value = o
                    .properties
                    .get(f["propertyName"].as_str().unwrap_or_default());
                let want = f["value"].as_str().unwrap_or_default();
                all &= match f["operator"].as_str() {
                    Some("EQ") => value.is_some_and(|v| v.eq_ignore_ascii_case(want)),
                    Some("NEQ") => value.is_none_or(|v| !v.eq_ignore_ascii_case(want)),
                    Some("CONTAINS_TOKEN") => value.is_some_and(|v| v.contains(want)),
                    Some("HAS_PROPERTY") => value.is_some(),
                    other => {
                        return Err(Refused::Invalid(format!(
                            "Unsupported filter operator {other:?}"
                        )))
                    }
                };
            }
            if all {
                matched.push(render(*id, o, names.as_deref()));
            }
        }
        let total = matched.len();
        let page: Vec<Value> = matched.into_iter().skip(after).take(limit).collect();
        let end = after + page.len();
        let mut answer = json!({"total": total, "results": page});
        if end < total {
            answer["paging"] = json!({"next": {"after": end.to_string()}});
        }
        Ok(answer)
    }

    pub(crate) fn create_deal(&self, body: &Value) -> Result<Value, Refused> {
        let props = properties(body)?;
        if !props.contains_key("dealname") {
            return Err(Refused::Invalid(
                "Property values were not valid: dealname is required".into(),
            ));
        }
        match props.get("dealstage") {
            Some(stage) if STAGES.contains(&stage.as_str()) => {}
            other => {
                return Err(Refused::Invalid(format!(
                    "Property values were not valid: {other:?} is not a valid dealstage"
                )))
            }
        }
        let id = self.next();
        let o = Object {
            properties: props,
            created: now(),
        };
        let out = render(id, &o, None);
        lock(&self.deals).insert(id, o);
        Ok(out)
    }

    pub(crate) fn associate(&self, deal: &str, contact: &str) -> Result<Value, Refused> {
        let (Ok(d), Ok(c)) = (deal.parse::<u64>(), contact.parse::<u64>()) else {
            return Err(Refused::NotFound);
        };
        if !lock(&self.deals).contains_key(&d) || !lock(&self.contacts).contains_key(&c) {
            return Err(Refused::NotFound);
        }
        lock(&self.associations).insert((d, c));
        Ok(json!({
            "status": "COMPLETE",
            "results": [{"from": {"id": deal}, "to": {"id": contact},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}}],
            "startedAt": now(), "completedAt": now(),
        }))
    }
}
