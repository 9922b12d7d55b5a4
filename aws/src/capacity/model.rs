//! Write and read units computed from item sizes by DynamoDB's published rules, for endpoints
//! that do not report them (moto reports a flat 1.0 per request).
//!
//! The model keeps the image of every item written through it (emulators and tests only: it
//! grows with the table) so that an update or a delete is billed on the item as stored and its
//! index entries are maintained as DynamoDB maintains them:
//! - a write costs 1 unit per KB (rounded up) of the larger of the item before and after, twice
//!   in a transaction; a conditional write that fails still costs its table units;
//! - each global index whose keys the item has (before or after) takes a write of the projected
//!   item when a projected attribute changes, and a delete plus a put when its keys change;
//! - a strongly consistent read costs 1 unit per 4 KB, an eventually consistent one half, a
//!   Query the sum of the items it returns (DynamoDB counts the items it read before a filter:
//!   filtered queries are undercounted).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::dynamo::{item_size, Item};

/// An index as the model maintains it.
#[derive(Debug, Clone)]
pub(crate) struct IndexSpec {
    pub name: &'static str,
    pub partition: &'static str,
    pub sort: &'static str,
    /// Projected attributes besides the keys; None: every attribute.
    pub projected: Option<&'static [&'static str]>,
}

/// A table as the model knows it: its key attributes and indexes.
#[derive(Debug, Clone)]
pub(crate) struct TableSpec {
    pub partition: &'static str,
    pub sort: Option<&'static str>,
    pub indexes: Vec<IndexSpec>,
}

/// One item's change, as a request asks it.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Put(Item),
    /// Key, update expression, names, values.
    Update(
        Item,
        String,
        HashMap<String, String>,
        HashMap<String, AttributeValue>,
    ),
    Delete(Item),
}

/// What one write cost: units per index ("" = the table) and the partition keys it wrote.
#[derive(Debug, Default)]
pub(crate) struct Cost {
    pub units: Vec<(String, f64)>,
    pub partitions: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    tables: HashMap<String, TableSpec>,
    items: HashMap<(String, String, String), Item>,
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

/// Read units of `bytes` read at once.
pub(crate) fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

impl Model {
    pub(crate) fn new(tables: HashMap<String, TableSpec>) -> Self {
        Self {
            tables,
            items: HashMap::new(),
        }
    }

    fn key_of(&self, spec: &TableSpec, table: &str, item: &Item) -> (String, String, String) {
        let text = |name: Option<&str>| match name.and_then(|n| item.get(n)) {
            Some(AttributeValue::S(v)) => v.clone(),
            Some(other) => format!("{other:?}"),
            None => String::new(),
        };
        (
            table.to_string(),
            text(Some(spec.partition)),
            text(spec.sort),
        )
    }

    /// Learns an item's image from an answer (an UpdateItem's ALL_OLD) when the model has none:
    /// the item was written by another process (the API creates, a worker claims).
    pub(crate) fn learn(&mut self, table: &str, old: &Item) {
        let Some(spec) = self.tables.get(table) else {
            return;
        };
        let key = self.key_of(spec, table, old);
        self.items.entry(key).or_insert_with(|| old.clone());
    }

    /// The cost of `change` on `table`; with `applied` the model's image is updated (the write
    /// succeeded), without it only the table is billed (a refused conditional write).
    pub(crate) fn write(
        &mut self,
        table: &str,
        change: &Change,
        transactional: bool,
        applied: bool,
    ) -> Cost {
        let Some(spec) = self.tables.get(table).cloned() else {
            return Cost::default();
        };
        let key_item = match change {
            Change::Put(item) => item,
            Change::Update(key, ..) | Change::Delete(key) => key,
        };
        let key = self.key_of(&spec, table, key_item);
        let old = self.items.get(&key).cloned();
        let new = match change {
            Change::Put(item) => Some(item.clone()),
            Change::Delete(_) => None,
            Change::Update(key_attrs, expr, names, values) => {
                let mut item = old.clone().unwrap_or_else(|| key_attrs.clone());
                apply_update(&mut item, expr, names, values);
                Some(item)
            }
        };
        let size = |i: &Option<Item>| i.as_ref().map_or(0, item_size);
        let factor = if transactional { 2.0 } else { 1.0 };
        let mut cost = Cost::default();
        cost.units.push((
            String::new(),
            factor * write_units(size(&old).max(size(&new))),
        ));
        cost.partitions.push((String::new(), key.1.clone()));
        if !applied {
            return cost;
        }
        for index in &spec.indexes {
            let before = old.as_ref().and_then(|i| entry(&spec, index, i));
            let after = new.as_ref().and_then(|i| entry(&spec, index, i));
            let mut bill = |pk: &str, entry: &Item| {
                cost.units
                    .push((index.name.to_string(), write_units(item_size(entry))));
                cost.partitions
                    .push((index.name.to_string(), pk.to_string()));
            };
            match (&before, &after) {
                (None, None) => {}
                (Some((pk, e)), None) | (None, Some((pk, e))) => bill(pk, e),
                (Some((pk_a, a)), Some((pk_b, b))) => {
                    let same_keys = pk_a == pk_b && a.get(index.sort) == b.get(index.sort);
                    if !same_keys {
                        bill(pk_a, a);
                        bill(pk_b, b);
                    } else if a != b {
                        bill(pk_b, if item_size(b) >= item_size(a) { b } else { a });
                    }
                }
            }
        }
        match new {
            Some(item) => self.items.insert(key, item),
            None => self.items.remove(&key),
        };
        cost
    }
}

/// The index entry of `item` (its partition key and projected image), if the item has the
/// index's keys (indexes are sparse).
fn entry(spec: &TableSpec, index: &IndexSpec, item: &Item) -> Option<(String, Item)> {
    let pk = match item.get(index.partition) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => return None,
    };
    item.get(index.sort)?;
    let keep = |name: &str| {
        name == spec.partition
            || Some(name) == spec.sort
            || name == index.partition
            || name == index.sort
            || index.projected.is_none_or(|p| p.contains(&name))
    };
    let projected = item
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Some((pk, projected))
}

/// Applies the SET and REMOVE clauses of an update expression as this crate writes them
/// (`a = :v`, `a = if_not_exists(a, :z) + :one`, `a = a - :one`, `REMOVE a, b`).
fn apply_update(
    item: &mut Item,
    expr: &str,
    names: &HashMap<String, String>,
    values: &HashMap<String, AttributeValue>,
) {
    let name = |t: &str| {
        names
            .get(t.trim())
            .cloned()
            .unwrap_or_else(|| t.trim().to_string())
    };
    let (set, remove) = match expr.split_once("REMOVE") {
        Some((set, remove)) => (set, remove),
        None => (expr, ""),
    };
    for attr in remove.split(',').filter(|a| !a.trim().is_empty()) {
        item.remove(&name(attr));
    }
    let set = set.trim().strip_prefix("SET").unwrap_or("");
    for assignment in split_top(set) {
        let Some((lhs, rhs)) = assignment.split_once('=') else {
            continue;
        };
        let target = name(lhs);
        let value = eval(item, rhs.trim(), &name, values);
        if let Some(v) = value {
            item.insert(target, v);
        }
    }
}

/// Splits on commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

fn eval(
    item: &Item,
    rhs: &str,
    name: &dyn Fn(&str) -> String,
    values: &HashMap<String, AttributeValue>,
) -> Option<AttributeValue> {
    let operand = |t: &str| -> Option<AttributeValue> {
        let t = t.trim();
        if let Some(inner) = t
            .strip_prefix("if_not_exists(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let (path, default) = inner.split_once(',')?;
            return item
                .get(&name(path))
                .or_else(|| values.get(default.trim()))
                .cloned();
        }
        if t.starts_with(':') {
            return values.get(t).cloned();
        }
        item.get(&name(t)).cloned()
    };
    let number = |v: Option<AttributeValue>| match v {
        Some(AttributeValue::N(n)) => n.parse::<f64>().ok(),
        _ => None,
    };
    for (op, sign) in [(" + ", 1.0), (" - ", -1.0)] {
        if let Some((a, b)) = rhs.split_once(op) {
            let total = number(operand(a))? + sign * number(operand(b))?;
            return Some(AttributeValue::N(total.to_string()));
        }
    }
    operand(rhs)
}

/// Units and partition writes summed over requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacitySnapshot {
    /// Capacity units by (table, index, operation); index "" is the table itself.
    pub units: BTreeMap<(String, String, String), f64>,
    /// Writes by (table, index, partition key), as modelled (emulators only).
    pub partition_writes: BTreeMap<(String, String, String), u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::{n, s};

    fn spec() -> HashMap<String, TableSpec> {
        HashMap::from([(
            "t".to_string(),
            TableSpec {
                partition: "PK",
                sort: None,
                indexes: vec![IndexSpec {
                    name: "ByShard",
                    partition: "shard",
                    sort: "created",
                    projected: Some(&["status"]),
                }],
            },
        )])
    }

    #[test]
    fn index_writes_follow_projected_changes_only() {
        let mut m = Model::new(spec());
        let item = Item::from([
            ("PK".into(), s("a")),
            ("shard".into(), s("T#1")),
            ("created".into(), s("1")),
            ("status".into(), s("queued")),
            ("lease".into(), n(1)),
        ]);
        let put = m.write("t", &Change::Put(item), false, true);
        assert_eq!(
            put.partitions,
            vec![
                (String::new(), "a".into()),
                ("ByShard".into(), "T#1".into())
            ]
        );
        let key = Item::from([("PK".into(), s("a"))]);
        let update = |expr: &str, v: AttributeValue| {
            Change::Update(
                key.clone(),
                expr.into(),
                HashMap::new(),
                HashMap::from([(":v".into(), v)]),
            )
        };
        // Not projected: the table only.
        let lease = m.write("t", &update("SET lease = :v", n(2)), false, true);
        assert_eq!(lease.partitions.len(), 1);
        // Projected: the index too; in a transaction the table write counts twice.
        let done = m.write(
            "t",
            &update("SET status = :v REMOVE lease", s("done")),
            true,
            true,
        );
        assert_eq!(done.partitions.len(), 2);
        assert_eq!(done.units[0], (String::new(), 2.0));
        let gone = m.write("t", &Change::Delete(key.clone()), false, true);
        assert_eq!(gone.partitions.len(), 2);
    }

    #[test]
    fn sizes_round_up_per_kilobyte_and_numbers_are_evaluated() {
        assert_eq!(write_units(1), 1.0);
        assert_eq!(write_units(1025), 2.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(10, false), 0.5);
        let mut item = Item::from([("attempts".into(), n(1))]);
        let values = HashMap::from([(":one".to_string(), n(1)), (":z".to_string(), n(0))]);
        apply_update(
            &mut item,
            "SET attempts = if_not_exists(attempts, :z) + :one",
            &HashMap::new(),
            &values,
        );
        assert_eq!(item.get("attempts"), Some(&n(2)));
    }
}
