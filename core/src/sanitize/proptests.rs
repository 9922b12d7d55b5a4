//! Properties of the sanitizer over arbitrary JSON: it never panics, a second pass changes
//! nothing, a value under a secret-looking key (any casing, any `_`/`-`, at any depth) never
//! survives, and a credential value never survives anywhere (inside strings, as a key, as a
//! number), however the text around it is arranged.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{sanitize, scrub, SECRET_KEYS};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        // Failures are kept as unit tests in `super::tests`, not in a regressions file.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A small alphabet, so that generated text often collides with credentials, masks (`*`),
/// emails (`@`, `.`) and phone numbers (digits, `+`).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ab*@.+0-9 ]{0,16}",
        "\\PC{0,12}",
        "0[0-9]{9,11}",
        "[a-z]{1,5}@[a-z]{1,5}\\.vn",
    ]
}

/// Keys that mean something to the sanitizer, and others.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_]{1,8}",
        Just("toPhone".to_string()),
        Just("mobile".to_string()),
        Just("tel".to_string()),
        Just("contactEmail".to_string()),
        Just("to_address".to_string()),
        Just("street".to_string()),
        "[ab*]{1,6}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..100_000_000_000).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A secret-looking key: a well-known one or one ending in `secret`/`password`/`apikey`, in
/// arbitrary casing with `_` and `-` sprinkled in.
fn secret_key() -> impl Strategy<Value = String> {
    let base = prop_oneof![
        prop::sample::select(SECRET_KEYS).prop_map(String::from),
        (
            "[a-z]{0,6}",
            prop::sample::select(&["secret", "password", "apikey"][..])
        )
            .prop_map(|(p, s)| format!("{p}{s}")),
    ];
    (base, prop::collection::vec((any::<bool>(), 0u8..4), 24)).prop_map(|(base, noise)| {
        let mut out = String::new();
        for (c, (upper, sep)) in base.chars().zip(noise.iter().cycle()) {
            match sep {
                1 => out.push('_'),
                2 => out.push('-'),
                _ => {}
            }
            out.extend(if *upper {
                c.to_uppercase().collect::<Vec<_>>()
            } else {
                vec![c]
            });
        }
        out
    })
}

/// Put `(k, v)` into the object (or array) reached by following `path` as far as it leads
/// through containers; a scalar root becomes an object.
fn plant(value: &mut Value, path: &[usize], k: String, v: Value) {
    if let Some((step, rest)) = path.split_first() {
        let child = match value {
            Value::Object(m) if !m.is_empty() => {
                let n = m.len();
                m.values_mut().nth(step % n)
            }
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                a.get_mut(step % n)
            }
            _ => None,
        };
        if let Some(child) = child.filter(|c| c.is_object() || c.is_array()) {
            return plant(child, rest, k, v);
        }
    }
    match value {
        Value::Object(m) => {
            m.insert(k, v);
        }
        Value::Array(a) => a.push(Value::Object([(k, v)].into_iter().collect())),
        other => *other = Value::Object([(k, v)].into_iter().collect()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_second_pass_changes_nothing(
        value in json(),
        secrets in prop::collection::vec("[ab*@.0-9]{4,6}", 0..3),
    ) {
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let once = sanitize(&value, &["shopToken"], &secrets);
        let twice = sanitize(&once, &["shopToken"], &secrets);
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn a_value_under_a_secret_looking_key_never_survives(
        mut value in json(),
        path in prop::collection::vec(any::<usize>(), 0..4),
        key in secret_key(),
        planted in "[A-Z]{6}[0-9]{6}",
        nested in any::<bool>(),
    ) {
        let v = if nested {
            // Even inside a structure under that key.
            serde_json::json!({"inner": [planted.clone()], "n": 1})
        } else {
            Value::String(planted.clone())
        };
        plant(&mut value, &path, key.clone(), v);
        let out = sanitize(&value, &[], &[]).to_string();
        prop_assert!(!out.contains(&planted), "{key} kept: {out}");
    }

    #[test]
    fn a_credential_value_never_survives_anywhere(
        mut value in json(),
        path in prop::collection::vec(any::<usize>(), 0..4),
        credential in "[ab*@.0-9]{4,8}",
        around in ("[ab*@.0-9 ]{0,6}", "[ab*@.0-9 ]{0,6}"),
        as_key in any::<bool>(),
    ) {
        let (before, after) = around;
        let embedded = format!("{before}{credential}{after}");
        if as_key {
            plant(&mut value, &path, embedded, Value::from(1));
        } else {
            plant(&mut value, &path, "message".into(), Value::String(embedded));
        }
        let out = sanitize(&value, &[], &[&credential]);
        let text = out.to_string();
        // Serialized JSON escapes nothing of this alphabet: a plain search is exact.
        prop_assert!(!text.contains(&credential), "{credential} in {text}");
    }

    #[test]
    fn scrubbed_messages_hold_no_credential(
        message in "\\PC{0,40}",
        credential in "[ab*x]{4,6}",
        at in any::<usize>(),
    ) {
        let chars: Vec<char> = message.chars().collect();
        let cut = at % (chars.len() + 1);
        let message: String = chars[..cut]
            .iter()
            .chain(credential.chars().collect::<Vec<_>>().iter())
            .chain(chars[cut..].iter())
            .collect();
        let out = scrub(&message, &[&credential]);
        prop_assert!(!out.contains(&credential), "{out}");
        prop_assert_eq!(scrub(&out, &[&credential]), out);
    }

    #[test]
    fn a_numeric_credential_echoed_as_a_number_never_survives(
        pin in 1000u64..100_000_000,
        key in "[a-z]{1,8}",
    ) {
        let value = serde_json::json!({ key: pin });
        let pin = pin.to_string();
        let out = sanitize(&value, &[], &[&pin]).to_string();
        prop_assert!(!out.contains(&pin), "{out}");
    }
}
