//! GHN's envelope and request checking, with the messages GHN's Go gateway produces: a JSON
//! syntax error, then type errors ("Unmarshal type error"), then missing required fields (Go
//! validator's `required` tag, which also rejects zero numbers and empty strings).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// A GHN failure: HTTP status plus the `{code, message, data: null, code_message}` envelope.
#[derive(Debug)]
pub(crate) struct GhnError {
    pub status: StatusCode,
    pub message: String,
    pub code_message: Option<&'static str>,
}

impl GhnError {
    pub(crate) fn bad_request(message: impl Into<String>, code_message: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            code_message: Some(code_message),
        }
    }

    /// GHN's "not found" comes as a 400 whose message embeds the inner 404.
    pub(crate) fn order_not_found() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message:
                "Lỗi gọi API: corev2_tenant_order_detail - code=404, message=Đơn hàng không tồn tại"
                    .into(),
            code_message: None,
        }
    }

    pub(crate) fn unauthorized(message: &str) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
            code_message: None,
        }
    }

    fn common(message: String) -> Self {
        Self::bad_request(message, "USER_ERR_COMMON")
    }
}

impl IntoResponse for GhnError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "code": self.status.as_u16(),
            "message": self.message,
            "data": null,
        });
        if let Some(cm) = self.code_message {
            body["code_message"] = json!(cm);
        }
        (self.status, Json(body)).into_response()
    }
}

/// The success envelope.
pub(crate) fn success(data: Value) -> Response {
    Json(json!({ "code": 200, "message": "Success", "data": data })).into_response()
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Str,
    StrArray,
    ObjArray,
    Object,
}

impl Kind {
    fn go_name(self) -> &'static str {
        match self {
            Kind::Int => "int",
            Kind::Str => "string",
            Kind::StrArray => "[]string",
            Kind::ObjArray => "[]Item",
            Kind::Object => "struct",
        }
    }

    fn accepts(self, v: &Value) -> bool {
        match self {
            Kind::Int => v.as_i64().is_some(),
            Kind::Str => v.is_string(),
            Kind::StrArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Kind::ObjArray => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
            Kind::Object => v.is_object(),
        }
    }
}

pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
}

pub(crate) const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

pub(crate) const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

/// A request body that passed the syntax, type and required checks for its field table.
pub(crate) struct Body(Map<String, Value>);

impl Body {
    pub(crate) fn parse(bytes: &[u8], request: &str, fields: &[Field]) -> Result<Self, GhnError> {
        let value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Map::new())
        } else {
            serde_json::from_slice(bytes).map_err(|e| {
                GhnError::common(format!(
                    "code=400, message=Syntax error: offset={}, error={e}",
                    e.column()
                ))
            })?
        };
        let Value::Object(obj) = value else {
            return Err(GhnError::common(format!(
                "code=400, message=Unmarshal type error: expected={request}, got={}, field=, offset=0",
                json_type(&value)
            )));
        };
        check_fields(&obj, request, fields)?;
        Ok(Self(obj))
    }

    fn present(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.present(name).and_then(Value::as_i64)
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.present(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub(crate) fn array(&self, name: &str) -> &[Value] {
        self.present(name)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    pub(crate) fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

/// Type errors first (Go fails while unmarshalling), then required fields (validation).
pub(crate) fn check_fields(
    obj: &Map<String, Value>,
    request: &str,
    fields: &[Field],
) -> Result<(), GhnError> {
    for f in fields {
        if let Some(v) = obj.get(f.name).filter(|v| !v.is_null()) {
            if !f.kind.accepts(v) {
                return Err(GhnError::common(format!(
                    "code=400, message=Unmarshal type error: expected={}, got={}, field={}, offset=0",
                    f.kind.go_name(),
                    json_type(v),
                    f.name
                )));
            }
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        let missing = match obj.get(f.name) {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        if missing {
            let go = pascal(f.name);
            return Err(GhnError::common(format!(
                "Key: '{request}.{go}' Error:Field validation for '{go}' failed on the 'required' tag"
            )));
        }
    }
    Ok(())
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `to_district_id` → `ToDistrictId`, as Go struct fields are named.
fn pascal(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[Field] = &[req("to_district_id", Kind::Int), opt("coupon", Kind::Str)];

    fn message(r: Result<Body, GhnError>) -> String {
        r.err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn syntax_type_and_required_errors_read_like_ghn() {
        assert!(message(Body::parse(b"{", "FeeRequest", FIELDS)).contains("Syntax error"));
        assert!(message(Body::parse(b"[]", "FeeRequest", FIELDS)).contains("expected=FeeRequest"));
        let m = message(Body::parse(
            br#"{"to_district_id":"1442"}"#,
            "FeeRequest",
            FIELDS,
        ));
        assert!(
            m.contains("expected=int, got=string, field=to_district_id"),
            "{m}"
        );
        let m = message(Body::parse(
            br#"{"to_district_id":0}"#,
            "FeeRequest",
            FIELDS,
        ));
        assert!(
            m.contains("'FeeRequest.ToDistrictId'") && m.contains("'required' tag"),
            "{m}"
        );
        assert!(Body::parse(
            br#"{"to_district_id":1442,"coupon":null}"#,
            "FeeRequest",
            FIELDS
        )
        .is_ok());
    }
}
