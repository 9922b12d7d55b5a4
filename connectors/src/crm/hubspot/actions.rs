//! HubSpot actions on the CRM v3 objects API and the v4 default associations, their answers
//! mapped to the catalog's outputSchemas.

use integrations_core::{Error, ErrorKind, Result};
use reqwest::Method;
use serde_json::{json, Value};

use super::client::HubSpotApi;
use crate::fields::required_str;
use crate::kit::protocol::interpret;
use crate::kit::{Action, ActionCall, Request};

pub(crate) const TABLE: &[Action<HubSpotApi>] = &[
    Action {
        id: "search_contacts",
        run: |api, call| Box::pin(search_contacts(api, call)),
    },
    Action {
        id: "get_contact",
        run: |api, call| Box::pin(get_contact(api, call)),
    },
    Action {
        id: "create_contact",
        run: |api, call| Box::pin(create_contact(api, call)),
    },
    Action {
        id: "update_contact",
        run: |api, call| Box::pin(update_contact(api, call)),
    },
    Action {
        id: "create_deal",
        run: |api, call| Box::pin(create_deal(api, call)),
    },
    Action {
        id: "associate_deal_contact",
        run: |api, call| Box::pin(associate(api, call)),
    },
];

const CONTACTS: &str = "/crm/v3/objects/contacts";

/// A CRM object as the outputSchema has it.
fn object(o: &Value) -> Value {
    json!({
        "id": o["id"], "properties": o.get("properties").cloned().unwrap_or(json!({})),
        "createdAt": o["createdAt"], "updatedAt": o["updatedAt"],
        "archived": o.get("archived").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn with_properties(request: Request, input: &Value) -> Request {
    match input.get("properties").and_then(Value::as_array) {
        Some(names) if !names.is_empty() => {
            let list: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            request.query("properties", list.join(","))
        }
        _ => request,
    }
}

/// Ids and property names are held to `^[0-9]+$` / `^[a-z][a-z0-9_]*$` by the inputSchema;
/// an email is percent-encoded before it goes in a path.
fn path_segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

async fn search_contacts(api: &HubSpotApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let mut body = json!({
        "filterGroups": [{"filters": input["filters"]}],
        "limit": input.get("limit").and_then(Value::as_i64).unwrap_or(10),
        "sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}],
    });
    if let Some(p) = input.get("properties") {
        body["properties"] = p.clone();
    }
    if let Some(after) = input.get("after") {
        body["after"] = after.clone();
    }
    let data = api
        .call(Request::post(format!("{CONTACTS}/search")).json(body))
        .await?;
    let contacts: Vec<Value> = data["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(object)
        .collect();
    Ok(json!({
        "total": data["total"].as_u64().unwrap_or(contacts.len() as u64),
        "contacts": contacts,
        "nextAfter": data.pointer("/paging/next/after").cloned().unwrap_or(Value::Null),
    }))
}

async fn get_contact(api: &HubSpotApi, call: &ActionCall<'_>) -> Result<Value> {
    let input = call.input;
    let request = match input.get("contactId").and_then(Value::as_str) {
        Some(id) => Request::get(format!("{CONTACTS}/{id}")),
        None => Request::get(format!(
            "{CONTACTS}/{}",
            path_segment(required_str(input, "email")?)
        ))
        .query("idProperty", "email"),
    };
    let data = api.call(with_properties(request, input)).await?;
    Ok(object(&data))
}

/// The id HubSpot names in its conflict answer: "Contact already exists. Existing ID: 123".
fn existing_id(message: &str) -> Option<&str> {
    let rest = &message[message.find("Existing ID: ")? + "Existing ID: ".len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|id| !id.is_empty())
}

/// Emails are unique in HubSpot: a repeat of a create whose answer was lost meets HubSpot's
/// 409 CONFLICT naming the first contact, which is then read and answered.
async fn create_contact(api: &HubSpotApi, call: &ActionCall<'_>) -> Result<Value> {
    let body = json!({"properties": call.input["properties"]});
    let reply = api.send(Request::post(CONTACTS).json(body)).await?;
    if reply.status.as_u16() == 409 {
        let message = reply
            .json(super::client::PROVIDER)
            .ok()
            .and_then(|b| b["message"].as_str().map(str::to_string))
            .unwrap_or_default();
        if let Some(id) = existing_id(&message) {
            let first = api
                .call(Request::get(format!("{CONTACTS}/{id}")).query("properties", "email"))
                .await?;
            let mut out = object(&first);
            out["alreadyExisted"] = json!(true);
            return Ok(out);
        }
    }
    let data = interpret(&super::client::HUBSPOT, &reply)?;
    let mut out = object(&data);
    out["alreadyExisted"] = json!(false);
    Ok(out)
}

async fn update_contact(api: &HubSpotApi, call: &ActionCall<'_>) -> Result<Value> {
    let id = required_str(call.input, "contactId")?;
    let request = Request::new(Method::PATCH, format!("{CONTACTS}/{id}"))
        .json(json!({"properties": call.input["properties"]}));
    Ok(object(&api.call(request).await?))
}

async fn create_deal(api: &HubSpotApi, call: &ActionCall<'_>) -> Result<Value> {
    let request = Request::post("/crm/v3/objects/deals")
        .json(json!({"properties": call.input["properties"]}));
    Ok(object(&api.call(request).await?))
}

async fn associate(api: &HubSpotApi, call: &ActionCall<'_>) -> Result<Value> {
    let deal = required_str(call.input, "dealId")?;
    let contact = required_str(call.input, "contactId")?;
    let path = format!("/crm/v4/objects/deal/{deal}/associations/default/contact/{contact}");
    let data = api.call(Request::put(path)).await?;
    let types: Vec<Value> = data["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.pointer("/associationSpec/associationTypeId").cloned())
        .collect();
    if types.is_empty() {
        return Err(Error::new(
            ErrorKind::ProviderBadResponse,
            "HubSpot answered the association without its types",
        )
        .with_request_sent(true));
    }
    Ok(json!({"dealId": deal, "contactId": contact, "associationTypeIds": types}))
}

#[cfg(test)]
mod tests {
    use super::existing_id;

    #[test]
    fn the_conflict_message_names_the_first_contact() {
        assert_eq!(
            existing_id("Contact already exists. Existing ID: 5101"),
            Some("5101")
        );
        assert_eq!(existing_id("Property values were not valid"), None);
    }
}
