//! Sanitized copies of inputs and outputs for execution logs: secret fields dropped, phone
//! numbers, emails and addresses masked. Applied before anything is stored or published.

use serde_json::{Map, Value};

/// Keys whose values are secrets wherever they appear (compared lowercase, without `_`/`-`).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "secretkey",
    "clientsecret",
    "token",
    "accesstoken",
    "refreshtoken",
    "apikey",
    "apisecret",
    "authorization",
    "privatekey",
    "signature",
    "hashsecret",
    "cardnumber",
    "cvv",
];

fn normalize(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_secret_key(key: &str) -> bool {
    let k = normalize(key);
    SECRET_KEYS.contains(&k.as_str()) || k.ends_with("secret") || k.ends_with("password")
}

fn is_phone_key(k: &str) -> bool {
    k.contains("phone") || k.ends_with("tel") || k == "mobile"
}

fn is_address_key(k: &str) -> bool {
    k.contains("address") || k == "street"
}

/// Keep the last three digits: enough to recognize a number in a log, not to call it.
fn mask_phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(3);
    let tail: String = digits[keep..].iter().collect();
    format!("{}{tail}", "*".repeat(keep.max(1)))
}

fn mask_email(s: &str) -> String {
    match s.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace)
}

/// Phone-like: 9 to 15 digits, only digits and `+ -.()` and spaces.
fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (9..=15).contains(&digits)
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c))
        && (s.starts_with('+') || s.starts_with('0'))
}

/// A sanitized copy of `value`. `secret_fields` are dropped wherever they appear (in addition to
/// the well-known secret keys), and `secret_values` (the connection's credentials) are replaced
/// wherever they appear inside strings, in case a provider echoed one back.
pub fn sanitize(value: &Value, secret_fields: &[&str], secret_values: &[&str]) -> Value {
    sanitize_inner(value, None, secret_fields, secret_values)
}

fn sanitize_inner(
    value: &Value,
    key: Option<&str>,
    secret_fields: &[&str],
    secret_values: &[&str],
) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                if is_secret_key(k) || secret_fields.contains(&k.as_str()) {
                    continue;
                }
                out.insert(
                    k.clone(),
                    sanitize_inner(v, Some(k), secret_fields, secret_values),
                );
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| sanitize_inner(v, key, secret_fields, secret_values))
                .collect(),
        ),
        Value::String(s) => Value::String(mask_string(s, key, secret_values)),
        Value::Number(_) if key.is_some_and(|k| is_phone_key(&normalize(k))) => {
            Value::String(mask_phone(&value.to_string()))
        }
        other => other.clone(),
    }
}

fn mask_string(s: &str, key: Option<&str>, secret_values: &[&str]) -> String {
    let k = key.map(normalize).unwrap_or_default();
    if is_address_key(&k) {
        return "***".to_string();
    }
    if is_phone_key(&k) || looks_like_phone(s) {
        return mask_phone(s);
    }
    if k.contains("email") || looks_like_email(s) {
        return mask_email(s);
    }
    let mut out = s.to_string();
    for secret in secret_values.iter().filter(|v| v.len() >= 4) {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// Replace any credential value inside a free-text message (errors from providers).
pub fn scrub(message: &str, secret_values: &[&str]) -> String {
    mask_string(message, None, secret_values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_secrets_and_masks_pii() {
        let input = json!({
            "toName": "Nguyen Van A",
            "toPhone": "0912345678",
            "to_address": "12 Ly Thuong Kiet, Ha Noi",
            "email": "jon@example.com",
            "apiKey": "k-123",
            "nested": {"client_secret": "s", "contactEmail": "a.b@c.vn", "tel": 84912345678_u64},
            "items": [{"name": "shirt", "password": "x"}],
            "note": "call +84 912 345 678",
            "weight": 500
        });
        let out = sanitize(&input, &["shopToken"], &[]);
        assert_eq!(
            out,
            json!({
                "toName": "Nguyen Van A",
                "toPhone": "*******678",
                "to_address": "***",
                "email": "j***@example.com",
                "nested": {"contactEmail": "a***@c.vn", "tel": "********678"},
                "items": [{"name": "shirt"}],
                "note": "call +84 912 345 678",
                "weight": 500
            })
        );
    }

    #[test]
    fn credential_values_never_survive() {
        let out = sanitize(
            &json!({"message": "bad token tok-SECRET-1 for shop"}),
            &[],
            &["tok-SECRET-1"],
        );
        assert_eq!(out, json!({"message": "bad token *** for shop"}));
        assert_eq!(scrub("x tok-SECRET-1 y", &["tok-SECRET-1"]), "x *** y");
    }
}
