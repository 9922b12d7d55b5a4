//! Shopify's `@idempotent(key: …)` directive on the mutations that take it (here
//! `inventoryAdjustQuantities`): unknown before API 2026-01, optional in 2026-01, required from
//! 2026-04 (Shopify answers an error at run time without it). The first answer for a key is kept
//! and every later request with that key gets it again, changing nothing more; a key reused with
//! other variables is refused rather than answered with another request's result.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::faults::lock;

const INTRODUCED: &str = "2026-01";
const REQUIRED_FROM: &str = "2026-04";

#[derive(Default)]
pub(crate) struct Keys {
    /// Per key: the variables of its first request and the data answered.
    answers: Mutex<HashMap<String, (Value, Value)>>,
}

impl Keys {
    /// `apply`'s answer for a new key; the first answer again for a repeated one. Err is the
    /// GraphQL error's message. (Quarterly versions compare as strings.)
    pub(crate) fn run(
        &self,
        version: &str,
        query: &str,
        vars: &Value,
        apply: impl FnOnce() -> Value,
    ) -> Result<Value, String> {
        let key = match directive_key(query, vars) {
            None if version >= REQUIRED_FROM => {
                return Err(
                    "This mutation requires an idempotency key: add the @idempotent directive"
                        .into(),
                )
            }
            None => return Ok(apply()),
            Some(_) if version < INTRODUCED => {
                return Err("Directive 'idempotent' doesn't exist".into())
            }
            Some(key) => key?,
        };
        // Held while applying: a concurrent repeat waits for the first answer.
        let mut answers = lock(&self.answers);
        if let Some((first_vars, data)) = answers.get(&key) {
            if first_vars != vars {
                return Err(
                    "The idempotency key was already used for a request with other parameters"
                        .into(),
                );
            }
            return Ok(data.clone());
        }
        let data = apply();
        answers.insert(key, (vars.clone(), data.clone()));
        Ok(data)
    }
}

/// The key of `@idempotent(key: $var)` or `@idempotent(key: "literal")`; None without the
/// directive.
fn directive_key(query: &str, vars: &Value) -> Option<Result<String, String>> {
    let rest = &query[query.find("@idempotent")? + "@idempotent".len()..];
    let argument = rest
        .trim_start()
        .strip_prefix('(')
        .and_then(|r| r.trim_start().strip_prefix("key"))
        .and_then(|r| r.trim_start().strip_prefix(':'))
        .map(str::trim_start);
    let invalid =
        || Err("Directive 'idempotent' needs its 'key' argument, a non-empty String".into());
    let Some(argument) = argument else {
        return Some(invalid());
    };
    let key = if let Some(name) = argument.strip_prefix('$') {
        let end = name
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        vars.get(&name[..end])
            .and_then(Value::as_str)
            .map(str::to_string)
    } else {
        argument
            .strip_prefix('"')
            .and_then(|r| r.split_once('"'))
            .map(|(literal, _)| literal.to_string())
    };
    Some(key.filter(|k| !k.is_empty()).map_or_else(invalid, Ok))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KEYED: &str = "mutation A($k: String!) { inventoryAdjustQuantities(input: {}) \
                         @idempotent(key: $k) { userErrors { message } } }";

    #[test]
    fn a_key_is_applied_once_and_its_answer_repeated() {
        let keys = Keys::default();
        let vars = json!({"k": "4f5b6ebf-143c-4da5-8d0f-fb8553bfd85d"});
        let mut applied = 0;
        let first = keys.run("2026-10", KEYED, &vars, || {
            applied += 1;
            json!({"n": applied})
        });
        let again = keys.run("2026-10", KEYED, &vars, || json!({"n": 2}));
        assert_eq!(first, Ok(json!({"n": 1})));
        assert_eq!(again, first);
        let other = json!({"k": "4f5b6ebf-143c-4da5-8d0f-fb8553bfd85d", "x": 1});
        assert!(keys.run("2026-10", KEYED, &other, || json!({})).is_err());
    }

    #[test]
    fn the_directive_is_required_from_2026_04_and_unknown_before_2026_01() {
        let keys = Keys::default();
        let bare = "mutation { inventoryAdjustQuantities(input: {}) { userErrors { message } } }";
        assert!(keys.run("2026-04", bare, &json!({}), || json!({})).is_err());
        assert_eq!(
            keys.run("2026-01", bare, &json!({}), || json!(1)),
            Ok(json!(1))
        );
        let vars = json!({"k": "a-key"});
        assert!(keys.run("2025-10", KEYED, &vars, || json!({})).is_err());
        assert!(keys
            .run("2026-10", KEYED, &json!({"k": ""}), || json!({}))
            .is_err());
        let literal = KEYED.replace("$k", "\"literal-key\"");
        assert_eq!(
            keys.run("2026-10", &literal, &json!({}), || json!(3)),
            Ok(json!(3))
        );
    }
}
