//! Requests as connectors write them ([`Request`]: method, path, query, headers, a typed
//! body) and as they leave ([`Outgoing`]: the body encoded to the exact bytes sent, so a
//! signer signs what the provider receives).

use integrations_core::{Error, Result};
use reqwest::Method;
use serde_json::Value;
use url::form_urlencoded;

/// A request body before encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Empty,
    Json(Value),
    /// `application/x-www-form-urlencoded`, in the given order.
    Form(Vec<(String, String)>),
    /// Bytes sent as they are, for providers with their own formats.
    Raw {
        content_type: String,
        bytes: Vec<u8>,
    },
}

/// One provider request, relative to the connector's base URL.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    /// Appended to the base URL as it is (connectors own their paths; nothing is escaped).
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    pub fn form<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.body = Body::Form(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    pub fn raw(mut self, content_type: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.body = Body::Raw {
            content_type: content_type.into(),
            bytes: bytes.into(),
        };
        self
    }

    /// Encode the body to the bytes that will be sent and set its Content-Type (unless the
    /// connector set one).
    pub fn encode(self) -> Result<Outgoing> {
        let (content_type, body) = match self.body {
            Body::Empty => (None, Vec::new()),
            Body::Json(v) => {
                let bytes = serde_json::to_vec(&v)
                    .map_err(|e| Error::internal(format!("request body: {e}")))?;
                (Some("application/json".to_string()), bytes)
            }
            Body::Form(pairs) => (
                Some("application/x-www-form-urlencoded".to_string()),
                encode_pairs(&pairs).into_bytes(),
            ),
            Body::Raw {
                content_type,
                bytes,
            } => (Some(content_type), bytes),
        };
        let mut out = Outgoing {
            method: self.method,
            path: self.path,
            query: self.query,
            headers: self.headers,
            body,
        };
        if let Some(ct) = content_type {
            if out.header("content-type").is_none() {
                out.headers.push(("Content-Type".to_string(), ct));
            }
        }
        Ok(out)
    }
}

/// A request exactly as it will be sent. Signers ([`crate::kit::auth::Signer`]) see and may
/// extend it (add a header or a query parameter); the body bytes are final.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outgoing {
    /// The query string as sent (form-urlencoded, in order, without `?`).
    pub fn query_string(&self) -> String {
        encode_pairs(&self.query)
    }

    /// Path and query, appended to the base URL.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query_string())
        }
    }

    /// A header's value, by name in any casing.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Set a header, replacing any of the same name.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value.into()));
    }
}

/// `k=v&…` form-urlencoded (spaces as `+`), in the given order.
pub fn encode_pairs(pairs: &[(String, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_form_and_raw_bodies_encode_to_the_bytes_sent() {
        let out = Request::post("/a")
            .json(json!({"b": 1}))
            .encode()
            .expect("encode");
        assert_eq!(out.body, br#"{"b":1}"#);
        assert_eq!(out.header("content-type"), Some("application/json"));

        let out = Request::post("/a")
            .form([("name", "Nguyễn A"), ("x", "a&b=c")])
            .encode()
            .expect("encode");
        assert_eq!(
            String::from_utf8_lossy(&out.body),
            "name=Nguy%E1%BB%85n+A&x=a%26b%3Dc"
        );
        assert_eq!(
            out.header("Content-Type"),
            Some("application/x-www-form-urlencoded")
        );

        let out = Request::put("/a")
            .header("content-type", "text/xml")
            .raw("application/octet-stream", b"<x/>".to_vec())
            .encode()
            .expect("encode");
        assert_eq!(out.body, b"<x/>");
        assert_eq!(
            out.header("Content-Type"),
            Some("text/xml"),
            "the connector's wins"
        );
        assert_eq!(out.headers.len(), 1);
    }

    #[test]
    fn query_parameters_keep_their_order_and_are_escaped() {
        let out = Request::get("/q")
            .query("b", "2")
            .query("a", "x y")
            .encode()
            .expect("encode");
        assert_eq!(out.target(), "/q?b=2&a=x+y");
        assert!(out.body.is_empty() && out.header("content-type").is_none());
        assert_eq!(Request::get("/q").encode().expect("encode").target(), "/q");
    }

    #[test]
    fn set_header_replaces_any_casing() {
        let mut out = Request::get("/")
            .header("X-Sig", "old")
            .encode()
            .expect("encode");
        out.set_header("x-sig", "new");
        assert_eq!(out.headers, [("x-sig".to_string(), "new".to_string())]);
    }
}
