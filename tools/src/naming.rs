//! Tool names and property-key renames.
//!
//! A tool name is `{integration}_{action}_{connection}`: the integration's short name (its id
//! without the category prefix: `shipping-ghn` → `ghn`), the action id, and a slug of the
//! connection's name, all lowercase ASCII, e.g. `ghn_create_order_my_shop`. Names match
//! `^[a-zA-Z0-9_-]{1,64}$`, the rule every tool format accepts (no dots: OpenAI and Anthropic
//! reject them). A name longer than 64 characters, or one that two tools would share, gets
//! the hash of the connection id and action id as a suffix instead of its tail: stable for as
//! long as the connection exists, whatever its neighbours are called.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

pub const MAX_NAME: usize = 64;
const HASH_LEN: usize = 8;
/// Longest slug kept of a connection name before the length rule applies.
const MAX_SLUG: usize = 32;

/// Whether `name` is a valid tool name in every format.
pub fn valid_tool_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether `key` is a valid property key for Anthropic (`^[a-zA-Z0-9_.-]{1,64}$`).
pub fn valid_property_key(key: &str) -> bool {
    (1..=MAX_NAME).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn hash_hex(parts: &[&str], len: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        h.update([0u8]);
    }
    let mut s = hex::encode(h.finalize());
    s.truncate(len);
    s
}

/// Lowercase ASCII words of `text` joined by `_` (`"Cửa hàng Hà Nội #2"` → `cua_hang_ha_noi_2`).
pub fn slug(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_ascii_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// The integration's short name: its id without the category prefix, `-` as `_`.
pub fn integration_short_name(integration_id: &str, category: &str) -> String {
    let short = integration_id
        .strip_prefix(category)
        .and_then(|s| s.strip_prefix('-'))
        .filter(|s| !s.is_empty())
        .unwrap_or(integration_id);
    slug(short)
}

fn cut(s: &str, max: usize) -> &str {
    // Slugs are ASCII, so any byte index is a char boundary.
    let s = &s[..s.len().min(max)];
    s.trim_end_matches('_')
}

/// The readable name, before the uniqueness rule.
pub fn readable_name(short: &str, action_id: &str, connection_name: &str) -> String {
    let mut connection = slug(connection_name);
    if connection.is_empty() {
        connection = "connection".into();
    }
    format!("{short}_{action_id}_{}", cut(&connection, MAX_SLUG))
}

/// The name with the hash suffix: `readable` cut to fit, then `_` and the hash of
/// (connection id, action id), `hash_len` hex digits.
pub fn hashed_name(
    readable: &str,
    connection_id: &str,
    action_id: &str,
    hash_len: usize,
) -> String {
    let hash = hash_hex(&[connection_id, action_id], hash_len);
    format!("{}_{hash}", cut(readable, MAX_NAME - 1 - hash.len()))
}

/// One tool to name.
pub struct NameRequest<'a> {
    pub readable: String,
    pub connection_id: &'a str,
    pub action_id: &'a str,
}

/// Final names for `requests`, in the same order: the readable name when it is valid and
/// unique, else the hashed name (longer hashes in the practically impossible case of a hash
/// collision). Every member of a colliding group gets a hash, so which one came first does not
/// matter.
pub fn assign_names(requests: &[NameRequest<'_>]) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for r in requests {
        *count.entry(r.readable.as_str()).or_default() += 1;
    }
    let mut names: Vec<Option<String>> = requests
        .iter()
        .map(|r| {
            let unique = count.get(r.readable.as_str()) == Some(&1);
            (unique && valid_tool_name(&r.readable)).then(|| r.readable.clone())
        })
        .collect();
    let mut taken: BTreeSet<String> = names.iter().flatten().cloned().collect();
    let mut hash_len = HASH_LEN;
    while names.iter().any(Option::is_none) && hash_len <= 32 {
        let mut round: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in requests.iter().enumerate() {
            if names[i].is_none() {
                let n = hashed_name(&r.readable, r.connection_id, r.action_id, hash_len);
                round.entry(n).or_default().push(i);
            }
        }
        for (name, idx) in round {
            if idx.len() == 1 && !taken.contains(&name) {
                taken.insert(name.clone());
                names[idx[0]] = Some(name);
            }
        }
        hash_len += 4;
    }
    names
        .into_iter()
        .zip(requests)
        .map(|(n, r)| {
            n.unwrap_or_else(|| hashed_name(&r.readable, r.connection_id, r.action_id, 32))
        })
        .collect()
}

/// Renames making every key of one object valid for Anthropic, as (original, new) pairs: valid
/// keys are kept; each other key becomes its ASCII transliteration with invalid characters as
/// `_` (`rule_name[]` → `rule_name`), or, when that is empty, too long or taken, a cut of it plus
/// the key's hash. Keys are processed sorted, so both directions compute the same map.
pub fn property_renames<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let keys: BTreeSet<&str> = keys.into_iter().collect();
    let mut taken: BTreeSet<String> = keys
        .iter()
        .filter(|k| valid_property_key(k))
        .map(|k| k.to_string())
        .collect();
    let mut out = Vec::new();
    for key in keys.iter().filter(|k| !valid_property_key(k)) {
        let ascii = deunicode::deunicode(key);
        let mut base = String::with_capacity(ascii.len());
        for c in ascii.chars() {
            let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            };
            if !(c == '_' && base.ends_with('_')) {
                base.push(c);
            }
        }
        let base = base.trim_matches('_').to_string();
        let mut candidate = base.clone();
        let mut hash_len = HASH_LEN;
        while candidate.is_empty() || candidate.len() > MAX_NAME || taken.contains(&candidate) {
            let hash = hash_hex(&[key], hash_len);
            let stem = cut(&base, MAX_NAME - 1 - hash.len());
            candidate = if stem.is_empty() {
                format!("field_{hash}")
            } else {
                format!("{stem}_{hash}")
            };
            hash_len += 4;
        }
        taken.insert(candidate.clone());
        out.push((key.to_string(), candidate));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_ascii_words() {
        assert_eq!(slug("Cửa hàng Hà Nội #2"), "cua_hang_ha_noi_2");
        assert_eq!(slug("  GHN -- Shop  "), "ghn_shop");
        assert_eq!(slug("🚚"), "truck");
        assert_eq!(slug("!!!"), "");
    }

    #[test]
    fn short_names_drop_the_category() {
        assert_eq!(integration_short_name("shipping-ghn", "shipping"), "ghn");
        assert_eq!(integration_short_name("crm-hub-spot", "crm"), "hub_spot");
        assert_eq!(integration_short_name("stripe", "payment"), "stripe");
    }

    #[test]
    fn collisions_and_long_names_get_stable_hashes() {
        let long = "x".repeat(80);
        let reqs = [
            NameRequest {
                readable: readable_name("ghn", "track_order", "Shop"),
                connection_id: "c1",
                action_id: "track_order",
            },
            NameRequest {
                readable: readable_name("ghn", "track_order", "shop!"),
                connection_id: "c2",
                action_id: "track_order",
            },
            NameRequest {
                readable: readable_name("ghn", "get_wards", "Other"),
                connection_id: "c3",
                action_id: "get_wards",
            },
            NameRequest {
                readable: format!("ghn_{long}"),
                connection_id: "c4",
                action_id: "a",
            },
        ];
        let names = assign_names(&reqs);
        assert_eq!(names[2], "ghn_get_wards_other");
        assert!(
            names[0].starts_with("ghn_track_order_shop_") && names[0].len() == 29,
            "{}",
            names[0]
        );
        assert_ne!(names[0], names[1]);
        assert!(names.iter().all(|n| valid_tool_name(n)), "{names:?}");
        // Stable: the same inputs give the same names.
        assert_eq!(names, assign_names(&reqs));
    }

    #[test]
    fn property_keys_are_renamed_without_collisions() {
        let renames = property_renames(["rule_name[]", "rule_name", "số tiền", "ok.key-1", "[]"]);
        let map: BTreeMap<_, _> = renames.into_iter().collect();
        assert!(!map.contains_key("ok.key-1") && !map.contains_key("rule_name"));
        assert!(map["rule_name[]"].starts_with("rule_name_"), "{map:?}");
        assert_eq!(map["số tiền"], "so_tien");
        assert!(map["[]"].starts_with("field_"));
        assert!(map.values().all(|k| valid_property_key(k)));
    }
}
