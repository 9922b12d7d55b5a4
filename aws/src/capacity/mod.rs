//! DynamoDB capacity accounting: every request asks for `ReturnConsumedCapacity = INDEXES`, and
//! the units each one consumed, by table, index and operation, are summed and exported as the
//! `metrics` counter `aws_consumed_capacity_total{table, index, operation}` (index "" is the
//! table itself).
//!
//! Emulators do not report real figures (moto answers a flat 1.0 per request): with
//! `AwsConfig::capacity_from_item_sizes` (set by `for_emulator`) the units are computed from
//! the items written and read instead, by DynamoDB's published rules ([`model`]), and the writes
//! each partition key of the table and of every index takes are counted too.

mod model;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::scan::{ScanInput, ScanOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, FinalizerInterceptorContextRef, Input, Output,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

pub use model::CapacitySnapshot;
use model::{read_units, Change, Model};
pub(crate) use model::{IndexSpec, TableSpec};

use crate::dynamo::item_size;

/// Shared by the interceptor of one backend's DynamoDB client.
#[derive(Debug, Clone, Default)]
pub struct CapacityMeter {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Some: compute units from item sizes (emulators).
    model: Option<Model>,
    snapshot: CapacitySnapshot,
}

/// What a request will do, noted before it is sent for the model to bill after the answer.
#[derive(Debug, Default)]
struct Pending {
    /// (table, change, in a transaction)
    writes: Vec<(String, Change, bool)>,
    /// (table, index, strongly consistent)
    read: Option<(String, String, bool)>,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

impl CapacityMeter {
    /// A meter that computes units from item sizes for `tables` (name → keys and indexes).
    pub(crate) fn modelled(tables: HashMap<String, TableSpec>) -> Self {
        let meter = Self::default();
        if let Ok(mut s) = meter.state.lock() {
            s.model = Some(Model::new(tables));
        }
        meter
    }

    pub fn snapshot(&self) -> CapacitySnapshot {
        self.state
            .lock()
            .map(|s| s.snapshot.clone())
            .unwrap_or_default()
    }

    fn record(state: &mut State, table: &str, index: &str, operation: &str, units: f64) {
        let key = (table.to_string(), index.to_string(), operation.to_string());
        let total = state.snapshot.units.entry(key).or_default();
        *total += units;
        // Counters are integers: the exact sum is kept here, the counter follows it.
        metrics::counter!(
            "aws_consumed_capacity_total",
            "table" => table.to_string(),
            "index" => index.to_string(),
            "operation" => operation.to_string()
        )
        .absolute(total.ceil() as u64);
    }

    fn reported(state: &mut State, operation: &str, consumed: &[ConsumedCapacity]) {
        for c in consumed {
            let table = c.table_name().unwrap_or_default();
            let mut indexed = 0.0;
            for (index, cap) in c.global_secondary_indexes().into_iter().flatten() {
                let units = cap.capacity_units().unwrap_or_default();
                indexed += units;
                Self::record(state, table, index, operation, units);
            }
            let units = match c.table() {
                Some(t) => t.capacity_units().unwrap_or_default(),
                None => c.capacity_units().unwrap_or_default() - indexed,
            };
            Self::record(state, table, "", operation, units);
        }
    }

    fn modelled_answer(
        state: &mut State,
        operation: &str,
        pending: &Pending,
        output: Option<&Output>,
    ) {
        let applied = output.is_some();
        // This crate's UpdateItems ask for ALL_OLD or nothing: an old image tells the model
        // about an item another process wrote.
        if let Some(old) = output
            .and_then(|o| o.downcast_ref::<UpdateItemOutput>())
            .and_then(|o| o.attributes())
        {
            if let (Some(model), Some((table, ..))) = (state.model.as_mut(), pending.writes.first())
            {
                model.learn(table, old);
            }
        }
        for (table, change, transactional) in &pending.writes {
            let Some(model) = state.model.as_mut() else {
                return;
            };
            let cost = model.write(table, change, *transactional, applied);
            for (index, pk) in cost.partitions {
                *state
                    .snapshot
                    .partition_writes
                    .entry((table.clone(), index, pk))
                    .or_default() += 1;
            }
            for (index, units) in cost.units {
                Self::record(state, table, &index, operation, units);
            }
        }
        let (Some((table, index, consistent)), Some(output)) = (&pending.read, output) else {
            return;
        };
        let bytes = if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            o.item().map_or(0, item_size)
        } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
            o.items().iter().map(item_size).sum()
        } else if let Some(o) = output.downcast_ref::<ScanOutput>() {
            o.items().iter().map(item_size).sum()
        } else {
            0
        };
        Self::record(
            state,
            table,
            index,
            operation,
            read_units(bytes, *consistent),
        );
    }
}

/// Asks for the capacity on every DynamoDB request this crate sends, and notes what the model
/// needs to bill it.
fn prepare(input: &mut Input, modelled: bool) -> Pending {
    let mut p = Pending::default();
    let want = Some(ReturnConsumedCapacity::Indexes);
    if let Some(i) = input.downcast_mut::<PutItemInput>() {
        i.return_consumed_capacity = want;
        if modelled {
            let change = Change::Put(i.item.clone().unwrap_or_default());
            p.writes
                .push((i.table_name.clone().unwrap_or_default(), change, false));
        }
    } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
        i.return_consumed_capacity = want;
        if modelled {
            let change = Change::Update(
                i.key.clone().unwrap_or_default(),
                i.update_expression.clone().unwrap_or_default(),
                i.expression_attribute_names.clone().unwrap_or_default(),
                i.expression_attribute_values.clone().unwrap_or_default(),
            );
            p.writes
                .push((i.table_name.clone().unwrap_or_default(), change, false));
        }
    } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
        i.return_consumed_capacity = want;
        if modelled {
            let change = Change::Delete(i.key.clone().unwrap_or_default());
            p.writes
                .push((i.table_name.clone().unwrap_or_default(), change, false));
        }
    } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
        i.return_consumed_capacity = want;
        for item in i.transact_items.iter().flatten().filter(|_| modelled) {
            if let Some(put) = item.put() {
                let change = Change::Put(put.item().clone());
                p.writes.push((put.table_name().to_string(), change, true));
            } else if let Some(u) = item.update() {
                let change = Change::Update(
                    u.key().clone(),
                    u.update_expression().to_string(),
                    u.expression_attribute_names().cloned().unwrap_or_default(),
                    u.expression_attribute_values().cloned().unwrap_or_default(),
                );
                p.writes.push((u.table_name().to_string(), change, true));
            } else if let Some(d) = item.delete() {
                let change = Change::Delete(d.key().clone());
                p.writes.push((d.table_name().to_string(), change, true));
            }
        }
    } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
        i.return_consumed_capacity = want;
        for (table, requests) in i.request_items.iter().flatten().filter(|_| modelled) {
            for r in requests {
                let change = match (r.put_request(), r.delete_request()) {
                    (Some(put), _) => Change::Put(put.item().clone()),
                    (None, Some(delete)) => Change::Delete(delete.key().clone()),
                    (None, None) => continue,
                };
                p.writes.push((table.clone(), change, false));
            }
        }
    } else if let Some(i) = input.downcast_mut::<GetItemInput>() {
        i.return_consumed_capacity = want;
        let table = i.table_name.clone().unwrap_or_default();
        p.read = Some((table, String::new(), i.consistent_read == Some(true)));
    } else if let Some(i) = input.downcast_mut::<QueryInput>() {
        i.return_consumed_capacity = want;
        let table = i.table_name.clone().unwrap_or_default();
        let index = i.index_name.clone().unwrap_or_default();
        p.read = Some((table, index, i.consistent_read == Some(true)));
    } else if let Some(i) = input.downcast_mut::<ScanInput>() {
        i.return_consumed_capacity = want;
        let table = i.table_name.clone().unwrap_or_default();
        let index = i.index_name.clone().unwrap_or_default();
        p.read = Some((table, index, i.consistent_read == Some(true)));
    }
    p
}

/// The capacity DynamoDB reported in an answer.
fn consumed(output: &Output) -> Vec<ConsumedCapacity> {
    macro_rules! one {
        ($($t:ty),*) => {$(
            if let Some(o) = output.downcast_ref::<$t>() {
                return o.consumed_capacity().into_iter().cloned().collect();
            }
        )*};
    }
    macro_rules! many {
        ($($t:ty),*) => {$(
            if let Some(o) = output.downcast_ref::<$t>() {
                return o.consumed_capacity().to_vec();
            }
        )*};
    }
    one!(
        PutItemOutput,
        UpdateItemOutput,
        DeleteItemOutput,
        GetItemOutput,
        QueryOutput,
        ScanOutput
    );
    many!(TransactWriteItemsOutput, BatchWriteItemOutput);
    Vec::new()
}

impl Intercept for CapacityMeter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let modelled = self
            .state
            .lock()
            .map(|s| s.model.is_some())
            .unwrap_or(false);
        let pending = prepare(context.input_mut(), modelled);
        cfg.interceptor_state().store_put(pending);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or("unknown", |m| m.name())
            .to_string();
        let output = context.output_or_error().and_then(Result::ok);
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        if state.model.is_some() {
            if let Some(pending) = cfg.load::<Pending>() {
                Self::modelled_answer(&mut state, &operation, pending, output);
            }
        } else if let Some(output) = output {
            Self::reported(&mut state, &operation, &consumed(output));
        }
        Ok(())
    }
}
