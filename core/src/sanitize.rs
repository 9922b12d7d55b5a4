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
    SECRET_KEYS.contains(&k.as_str())
        || k.ends_with("secret")
        || k.ends_with("password")
        // Header-style names such as `X-Api-Key`.
        || k.ends_with("apikey")
}

fn is_phone_key(k: &str) -> bool {
    k.contains("phone") || k.ends_with("tel") || k == "mobile"
}

fn is_address_key(k: &str) -> bool {
    k.contains("address") || k == "street"
}

/// Keep the last three digits: enough to recognize a number in a log, not to call it. Masked
/// digits become `*`, so masking a masked number changes nothing (every position that is a
/// digit or a `*` counts).
fn mask_phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    let positions = digits.len() + s.chars().filter(|c| *c == '*').count();
    let tail: String = digits[digits.len().saturating_sub(3)..].iter().collect();
    let stars = positions.saturating_sub(tail.len()).max(1);
    format!("{}{tail}", "*".repeat(stars))
}

fn mask_email(s: &str) -> String {
    match s.split_once('@') {
        Some((local, domain)) => {
            // A local part that is already masked (or scrubbed) stays as it is.
            let first = local
                .chars()
                .next()
                .filter(|c| *c != '*')
                .map(String::from)
                .unwrap_or_default();
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
    Redaction {
        secret_fields,
        secret_values,
        mask_pii: true,
    }
    .apply(value, None)
}

/// `value` with its credentials removed as [`sanitize`] removes them (secret keys dropped,
/// `secret_values` scrubbed) but its personal data kept: the copy a provider event's triggers
/// read, which must map a customer's real phone and address into the action they start. Never
/// stored beyond the outbox entry it travels in (see `crate::webhooks::ProviderEvent`).
pub fn redact_credentials(value: &Value, secret_values: &[&str]) -> Value {
    Redaction {
        secret_fields: &[],
        secret_values,
        mask_pii: false,
    }
    .apply(value, None)
}

struct Redaction<'a> {
    secret_fields: &'a [&'a str],
    secret_values: &'a [&'a str],
    /// Mask phones, emails and addresses too.
    mask_pii: bool,
}

impl Redaction<'_> {
    fn apply(&self, value: &Value, key: Option<&str>) -> Value {
        let secret_values = self.secret_values;
        match value {
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (k, v) in map {
                    if is_secret_key(k) || self.secret_fields.contains(&k.as_str()) {
                        continue;
                    }
                    // A provider may key a map by a credential (`{"<token>": "invalid"}`).
                    out.insert(
                        scrub_values(k.clone(), secret_values),
                        self.apply(v, Some(k)),
                    );
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.apply(v, key)).collect()),
            Value::String(s) if self.mask_pii => Value::String(mask_string(s, key, secret_values)),
            Value::String(s) => Value::String(scrub_values(s.clone(), secret_values)),
            Value::Number(n) => {
                let text = n.to_string();
                if self.mask_pii && key.is_some_and(|k| is_phone_key(&normalize(k))) {
                    Value::String(scrub_values(mask_phone(&text), secret_values))
                } else if contains_secret(&text, secret_values) {
                    // A numeric credential (a PIN, an account number) echoed as a number.
                    Value::String(scrub_values(text, secret_values))
                } else {
                    value.clone()
                }
            }
            other => other.clone(),
        }
    }
}

fn mask_string(s: &str, key: Option<&str>, secret_values: &[&str]) -> String {
    let k = key.map(normalize).unwrap_or_default();
    // What the key says comes before what the text looks like, so that a masked value is
    // masked the same way again (a phone-like text under an `email` key is an email).
    let email_key = k.contains("email");
    let masked = if is_address_key(&k) {
        "***".to_string()
    } else if is_phone_key(&k) || (!email_key && looks_like_phone(s)) {
        mask_phone(s)
    } else if email_key || looks_like_email(s) {
        // The domain is kept: a credential in it is scrubbed below.
        mask_email(s)
    } else {
        s.to_string()
    };
    scrub_values(masked, secret_values)
}

/// Credentials shorter than this are not scrubbed: they would mangle ordinary text.
const MIN_SCRUBBED_LEN: usize = 4;

fn scrubbed<'a>(secret_values: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    secret_values
        .iter()
        .copied()
        .filter(|v| v.len() >= MIN_SCRUBBED_LEN)
}

fn contains_secret(s: &str, secret_values: &[&str]) -> bool {
    scrubbed(secret_values).any(|v| find_ignore_case(s, v).is_some())
}

/// The byte offset of the first ASCII-case-insensitive occurrence of `needle` in `haystack`: a
/// provider may echo a credential upper-cased (`ABC123` for `abc123`). ASCII lowercasing keeps
/// byte offsets, so an offset found in the lowered copy indexes the original.
fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    if haystack.len() < needle.len() {
        return None;
    }
    haystack
        .to_ascii_lowercase()
        .find(&needle.to_ascii_lowercase())
}

/// `s` with every credential value, in any ASCII casing, replaced by `***`. One pass is not
/// enough: the text around a replaced occurrence can form another one (`xx***yy` holds
/// `x***y`), and one credential's mask can complete another. Each replacement shortens the text
/// (credentials have at least 4 bytes, the mask 3), so repeating until none is left ends.
fn scrub_values(mut s: String, secret_values: &[&str]) -> String {
    while let Some((at, len)) =
        scrubbed(secret_values).find_map(|v| find_ignore_case(&s, v).map(|at| (at, v.len())))
    {
        s.replace_range(at..at + len, "***");
    }
    s
}

/// Replace any credential value inside a free-text message (errors from providers, messages
/// built from provider text): the one redactor for free text, as [`sanitize`] is for records.
pub fn scrub(message: &str, secret_values: &[&str]) -> String {
    mask_string(message, None, secret_values)
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacting_credentials_keeps_personal_data() {
        let input = json!({
            "toPhone": "0912345678",
            "tel": 84912345678_u64,
            "to_address": "12 Ly Thuong Kiet",
            "email": "jon@example.com",
            "apiKey": "k-123",
            "note": "echoed tok-secret-1 back",
            "pin": 98765
        });
        assert_eq!(
            redact_credentials(&input, &["tok-secret-1", "98765"]),
            json!({
                "toPhone": "0912345678",
                "tel": 84912345678_u64,
                "to_address": "12 Ly Thuong Kiet",
                "email": "jon@example.com",
                "note": "echoed *** back",
                "pin": "***"
            })
        );
    }

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

    /// Found by the property tests: each used to change on a second pass, or to keep a
    /// credential.
    #[test]
    fn masked_values_stay_masked_and_replacements_never_rebuild_a_credential() {
        let once = sanitize(&json!({"contactEmail": "0000000000"}), &[], &[]);
        assert_eq!(once, json!({"contactEmail": "***"}));
        assert_eq!(sanitize(&once, &[], &[]), once);
        let phone = sanitize(&json!({"toPhone": "0912345678"}), &[], &[]);
        assert_eq!(sanitize(&phone, &[], &[]), phone);
        assert_eq!(scrub("xx***yy", &["x***y"]), "***");
        assert_eq!(
            sanitize(&json!({"email": "a@tok-1234.vn"}), &[], &["tok-1234"]),
            json!({"email": "a***@***.vn"})
        );
    }

    #[test]
    fn scrub_finds_every_casing_of_each_credential() {
        assert_eq!(
            scrub(
                "bad token ABC123 (abc123) for key k9",
                &["abc123", "k9", ""]
            ),
            "bad token *** (***) for key k9"
        );
        // A credential inside the mask, or formed again around one, cannot loop forever.
        assert_eq!(scrub("**** ***", &["****"]), "*** ***");
        assert_eq!(scrub("xX***Yy", &["x***y"]), "***");
        let out = sanitize(&json!({"m": "Tok-ÄB-Secret"}), &[], &["tok-äb-secret"]);
        // Only ASCII letters fold: a non-ASCII letter must match exactly.
        assert_eq!(out, json!({"m": "Tok-ÄB-Secret"}));
        let out = sanitize(&json!({"m": "TOK-äB-SECRET"}), &[], &["tok-äb-secret"]);
        assert_eq!(out, json!({"m": "***"}));
    }
}
