//! Creating executions, with or without an idempotency key.
//!
//! Without a key: one PutItem conditioned on the id being free. With a key: one
//! TransactWriteItems of the execution and its idempotency record (`IDEMP#<key>` in the tenant's
//! partition), each conditioned on being new, so that the key is reserved exactly when the
//! execution is created. The failed condition's old item comes back with the error
//! (ReturnValuesOnConditionCheckFailure), which saves a read in the common "key taken" case.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use integrations_core::backend::{CreateOutcome, IdempotencyClaim};
use integrations_core::model::Execution;
use integrations_core::{Error, Result};

use super::DynamoExecutions;
use crate::dynamo::exec_item::{exec_key, execution_from_item, idempotency_item, idempotency_key};
use crate::dynamo::{get_s, Item};
use crate::error::{built, sdk_error};

/// DynamoDB sort keys hold 1024 bytes; `IDEMP#` takes some.
const MAX_IDEMPOTENCY_KEY: usize = 1000;
const IS_NEW: &str = "attribute_not_exists(PK)";

impl DynamoExecutions {
    pub(super) async fn create_plain(
        &self,
        item: Item,
        execution: &Execution,
    ) -> Result<CreateOutcome> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(IS_NEW)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => {
                    let old = c.item().cloned();
                    self.existing_execution(execution, old).await
                }
                _ => Err(sdk_error("DynamoDB PutItem (executions)", e)),
            },
        }
    }

    pub(super) async fn create_with_key(
        &self,
        item: Item,
        execution: &Execution,
        claim: &IdempotencyClaim,
    ) -> Result<CreateOutcome> {
        if claim.key.len() > MAX_IDEMPOTENCY_KEY {
            return Err(Error::validation(format!(
                "idempotency keys are limited to {MAX_IDEMPOTENCY_KEY} bytes"
            )));
        }
        let items = [item, idempotency_item(execution, claim)]
            .into_iter()
            .map(|i| {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(i))
                    .condition_expression(IS_NEW)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build();
                Ok(TransactWriteItem::builder()
                    .put(built("DynamoDB Put", put)?)
                    .build())
            })
            .collect::<Result<Vec<_>>>()?;
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(CreateOutcome::Created),
            Err(e) => e,
        };
        let reasons = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                c.cancellation_reasons().to_vec()
            }
            _ => return Err(sdk_error("DynamoDB TransactWriteItems (create)", err)),
        };
        let failed = |i: usize| {
            reasons
                .get(i)
                .filter(|r| r.code() == Some("ConditionalCheckFailed"))
                .map(|r| r.item().filter(|i| !i.is_empty()).cloned())
        };
        // The key wins over the id: answer with the execution the key was reserved for.
        if let Some(record) = failed(1) {
            let record = match record {
                Some(r) => r,
                None => self
                    .get_item(idempotency_key(&execution.tenant_id, &claim.key))
                    .await?
                    .ok_or_else(|| Error::backend("idempotency record vanished; retry"))?,
            };
            let id = get_s(&record, "executionId").unwrap_or_default();
            let existing = self
                .get_item(exec_key(&execution.tenant_id, id))
                .await?
                .ok_or_else(|| {
                    Error::internal(format!(
                        "idempotency key `{}` refers to execution {id}, which is gone",
                        claim.key
                    ))
                })?;
            return Ok(CreateOutcome::Existing {
                execution: Box::new(execution_from_item(&existing)?),
                request_hash: get_s(&record, "requestHash").map(str::to_string),
            });
        }
        if let Some(old) = failed(0) {
            return self.existing_execution(execution, old).await;
        }
        Err(sdk_error("DynamoDB TransactWriteItems (create)", err))
    }

    /// `Existing` for an id collision, from the old item when DynamoDB returned it.
    async fn existing_execution(&self, e: &Execution, old: Option<Item>) -> Result<CreateOutcome> {
        let item = match old.filter(|i| !i.is_empty()) {
            Some(item) => item,
            None => self
                .get_item(exec_key(&e.tenant_id, &e.execution_id))
                .await?
                .ok_or_else(|| Error::backend("execution vanished during create; retry"))?,
        };
        Ok(CreateOutcome::Existing {
            execution: Box::new(execution_from_item(&item)?),
            request_hash: None,
        })
    }
}
