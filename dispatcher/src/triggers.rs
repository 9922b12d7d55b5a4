//! Firing triggers: the [`ProviderEventHandler`] the outbox relay calls for every provider event
//! before the event leaves the outbox. Each matching trigger whose filter holds submits its
//! action through the one submission path ([`crate::submit`]) with an idempotency key derived
//! from (event, trigger), so an event handled any number of times starts one execution.
//!
//! A firing that cannot succeed on this event (its mapped input fails the action's inputSchema,
//! an expression fails on the event's data, the action's connection is gone or inactive) is
//! recorded as a failed execution of the trigger (`callerService` `trigger:<id>`, the event id as
//! `callerRef`, its error's stable code), under the same idempotency key: the tenant sees why
//! the trigger did not run, and the event still leaves the outbox. Only a failure that may pass
//! (the store down, load shedding, the tenant's quota) is returned, so the relay tries again.

use std::sync::Arc;

use async_trait::async_trait;
use integrations_core::backend::{CreateOutcome, IdempotencyClaim};
use integrations_core::completion::Completion;
use integrations_core::engine::new_execution;
use integrations_core::model::{
    new_id, now, ExecutionRequest, ExecutionStatus, EXECUTION_REQUEST_VERSION,
};
use integrations_core::triggers::mapping::{event_document, CompiledTrigger};
use integrations_core::triggers::Trigger;
use integrations_core::webhooks::{ProviderEvent, ProviderEventHandler};
use integrations_core::{Error, Result};
use serde_json::{json, Value};
use tracing::Instrument;

use crate::app::AppState;
use crate::auth::Caller;
use crate::submit::{submit, Submission};

/// The `request_hash` recorded with a failed firing's idempotency key (a submission with the
/// same key never follows one: the same event fails the same way).
pub const FAILED_FIRING: &str = "trigger-firing-failed";

/// The triggers of the API's state, as the relay's [`ProviderEventHandler`].
pub struct TriggerFirer {
    state: Arc<AppState>,
}

impl TriggerFirer {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    /// The firer of a worker process, which serves no API: a submission state of its own over
    /// the worker's backend, catalog and connectors, admitting trigger submissions under the
    /// same tenant quotas as the API's.
    pub fn for_worker(
        parts: &crate::service::Parts,
        quotas: &integrations_core::engine::TenantQuotas,
    ) -> Arc<dyn ProviderEventHandler> {
        let settings = crate::app::ApiSettings {
            tenant_quotas: quotas.clone(),
            ..crate::app::ApiSettings::default()
        };
        let state = AppState::new(
            parts.backend.clone(),
            parts.catalog.clone(),
            parts.connectors.clone(),
            settings,
        );
        Arc::new(Self::new(Arc::new(state)))
    }

    /// Fire `trigger` for `event`: Ok when it started (or had started) its execution, did not
    /// match, or recorded why it cannot run; Err only for what may pass on a later try.
    async fn fire(&self, trigger: &Trigger, event: &ProviderEvent, document: &Value) -> Result<()> {
        let compiled = match CompiledTrigger::of(trigger) {
            Ok(c) => c,
            Err(e) => return self.record_failure(trigger, event, Value::Null, e).await,
        };
        if !compiled.matches(document) {
            metrics::counter!("trigger_firings_total", "outcome" => "filtered").increment(1);
            return Ok(());
        }
        let input = match compiled.input(document) {
            Ok(input) => input,
            Err(e) => return self.record_failure(trigger, event, Value::Null, e).await,
        };
        let caller = Caller {
            tenant_id: trigger.tenant_id.clone(),
            caller_service: trigger.caller_service(),
        };
        let submission = Submission {
            connection_id: trigger.action.connection_id.clone(),
            action_id: trigger.action.action_id.clone(),
            input: input.clone(),
            caller_ref: Some(event.event_id.clone()).filter(|id| id.len() <= 256),
            idempotency_key: Some(trigger.idempotency_key(&event.event_id)),
            ..Submission::default()
        };
        match submit(&self.state, &caller, submission).await {
            Ok(execution) => {
                metrics::counter!("trigger_firings_total", "outcome" => "submitted").increment(1);
                tracing::info!(execution_id = %execution.execution_id, "trigger fired");
                Ok(())
            }
            Err(e) if e.0.retryable => Err(e.0),
            Err(e) => self.record_failure(trigger, event, input, e.0).await,
        }
    }

    /// Record a firing that cannot succeed on this event as a failed execution, once.
    async fn record_failure(
        &self,
        trigger: &Trigger,
        event: &ProviderEvent,
        input: Value,
        mut error: Error,
    ) -> Result<()> {
        // The same error (its kind and cause kept), saying which trigger and event it is about.
        error.message = format!(
            "trigger {} on event {}: {}",
            trigger.trigger_id, event.event_id, error.message
        );
        error.retryable = false;
        tracing::warn!(code = error.kind.code(), error = %error, "trigger firing failed");
        let key = trigger.idempotency_key(&event.event_id);
        let request = ExecutionRequest {
            version: EXECUTION_REQUEST_VERSION,
            execution_id: new_id(),
            tenant_id: trigger.tenant_id.clone(),
            connection_id: trigger.action.connection_id.clone(),
            action_id: trigger.action.action_id.clone(),
            input: if input.is_object() { input } else { json!({}) },
            caller_service: Some(trigger.caller_service()),
            caller_ref: Some(event.event_id.clone()).filter(|id| id.len() <= 256),
            callback_url: None,
            submitted_at: now(),
        };
        let execution = new_execution(
            &self.state.catalog,
            &request,
            &trigger.action.integration_id,
            Some(key.clone()),
        );
        let claim = IdempotencyClaim {
            key,
            request_hash: FAILED_FIRING.to_string(),
        };
        let store = self.state.backend.executions.as_ref();
        let recorded = match store.create_execution(&execution, Some(&claim)).await? {
            CreateOutcome::Created => execution,
            // A handling before this one recorded the failure; finish it if that one died
            // before it did. A submitted execution under the key is left alone: it runs.
            CreateOutcome::Existing {
                execution,
                request_hash,
            } if request_hash.as_deref() == Some(FAILED_FIRING)
                && execution.status == ExecutionStatus::Queued =>
            {
                *execution
            }
            CreateOutcome::Existing { .. } => return Ok(()),
        };
        Completion::new(recorded, Err(error), None)
            .store(store, None)
            .await?;
        metrics::counter!("trigger_firings_total", "outcome" => "failed").increment(1);
        Ok(())
    }
}

#[async_trait]
impl ProviderEventHandler for TriggerFirer {
    async fn handle(&self, event: &ProviderEvent) -> Result<()> {
        let span = tracing::info_span!("triggers", tenant_id = %event.tenant_id,
            event_id = %event.event_id, event_type = %event.event_type);
        async {
            let triggers = self
                .state
                .backend
                .triggers
                .matching_triggers(&event.tenant_id, &event.connection_id, &event.event_type)
                .await?;
            let document = event_document(event);
            // Every trigger gets its try even when one fails; a retry redoes only what had not
            // happened (the others' idempotency keys answer with their first executions).
            let mut retry = None;
            for trigger in &triggers {
                let fired = self
                    .fire(trigger, event, &document)
                    .instrument(tracing::info_span!("trigger", trigger_id = %trigger.trigger_id))
                    .await;
                if let Err(e) = fired {
                    tracing::warn!(trigger_id = %trigger.trigger_id, error = %e,
                        "trigger firing left for a later try");
                    retry.get_or_insert(e);
                }
            }
            retry.map_or(Ok(()), Err)
        }
        .instrument(span)
        .await
    }
}
