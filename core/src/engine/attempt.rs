//! One attempt at the provider: the fleet's limits and breakers first (a delay is not an
//! attempt), the call, then its outcome (all under the job's heartbeat, see `heartbeat.rs`).

use std::time::{Duration, Instant};

use tracing::warn;

use super::{chrono_duration, Disposition, Engine, Job};
use crate::backend::Release;
use crate::catalog::Action;
use crate::connector::{CallContext, Renewal};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{now, Connection};
use crate::sanitize::{sanitize, scrub};

impl Engine {
    pub(super) async fn attempt(
        &self,
        job: &mut Job<'_>,
        connection: &Connection,
        action: &Action,
    ) -> Result<Disposition> {
        let capacity = self.wait_for_capacity(connection, action).await?;
        if let Some(wait) = capacity {
            let release = Release {
                next_attempt_at: now() + chrono_duration(wait),
                error: None,
                refund_attempt: true,
            };
            if !self.release(job, &release).await? {
                return Ok(Disposition::Leave);
            }
            return Ok(Disposition::Requeue(wait));
        }
        let credentials = self
            .backend
            .secrets
            .get_secret(&connection.credentials_ref)
            .await?;
        let Some(credentials) = credentials else {
            let err = Error::new(
                ErrorKind::ConnectionInactive,
                "the connection's credentials are missing; update the connection",
            );
            return self.finish(job, Err(err)).await;
        };
        let connector = match self.connectors.get(&connection.integration_id) {
            Ok(c) => c.clone(),
            Err(err) => return self.finish(job, Err(err)).await,
        };
        let timeout = self
            .config
            .action_timeout_cap
            .map_or(action.timeout, |cap| cap.min(action.timeout));
        let ctx = CallContext {
            execution_id: &job.execution.execution_id,
            tenant_id: &job.execution.tenant_id,
            config: &connection.config,
            credentials: &credentials,
            timeout,
            renewal: Some(Renewal {
                secret_name: &connection.credentials_ref,
                renewer: &self.renewer,
            }),
        };
        job.started = Instant::now();
        let call = tokio::time::timeout(
            timeout,
            connector.execute(&action.action_id, &job.request.input, ctx),
        );
        let outcome = call.await;
        let outcome_label = match &outcome {
            Ok(Ok(_)) => "ok",
            Ok(Err(e)) if e.retryable => "retryable_error",
            Ok(Err(_)) => "error",
            Err(_) => "timeout",
        };
        metrics::histogram!("provider_call_duration_seconds",
            "integration" => connection.integration_id.clone(), "action" => action.action_id.clone(),
            "outcome" => outcome_label)
        .record(job.started.elapsed().as_secs_f64());
        let secrets: Vec<&str> = credentials.values().collect();
        let outcome = match outcome {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(mut e)) => {
                e.message = scrub(&e.message, &secrets);
                Err(e)
            }
            Err(_elapsed) => Err(Error::new(
                ErrorKind::ProviderTimeout,
                format!("no answer within {} ms", timeout.as_millis()),
            )
            .with_request_sent(true)),
        };
        if let Err(e) = &outcome {
            if matches!(
                e.kind,
                ErrorKind::ProviderAuthFailed | ErrorKind::ConnectionReauthRequired
            ) {
                self.reject_credentials(connection, e).await;
            }
        }
        match &outcome {
            Ok(_) => {
                self.breakers
                    .record_success(&connection.integration_id)
                    .await
            }
            Err(e) if e.retryable && e.kind != ErrorKind::ProviderRateLimited => {
                self.breakers
                    .record_failure(&connection.integration_id)
                    .await
            }
            Err(_) => {}
        }
        if let Ok(output) = &outcome {
            let mismatches = action.output_mismatches(output);
            if !mismatches.is_empty() {
                // Passed on (the provider's answer is the truth), but never silently.
                metrics::counter!("connector_output_mismatch_total",
                    "integration" => action.integration_id.clone(), "action" => action.action_id.clone())
                .increment(1);
                warn!(mismatches = ?mismatches, "connector output does not match the outputSchema");
            }
        }
        let outcome = outcome.map(|v| sanitize(&v, &[], &secrets));
        match outcome {
            Err(e) if e.retryable => self.retry_or_give_up(job, action, e).await,
            other => self.finish(job, other).await,
        }
    }

    /// The provider rejected the connection's credentials: mark it `error` so that its next
    /// executions fail fast (CONNECTION_CREDENTIALS_REJECTED) instead of each asking the
    /// provider again, until the connection is updated or tested successfully.
    async fn reject_credentials(&self, connection: &Connection, error: &Error) {
        let mut marked = connection.clone();
        marked.status = crate::model::ConnectionStatus::Error;
        marked.last_error = Some(format!("{}: {}", error.kind, error.message));
        marked.last_error_at = Some(now());
        marked.updated_at = now();
        match self.backend.connections.update_connection(&marked).await {
            Ok(_) => {
                metrics::counter!("connections_credentials_rejected_total",
                    "integration" => connection.integration_id.clone())
                .increment(1);
                warn!(connection_id = %connection.connection_id, "credentials rejected; connection marked error");
            }
            Err(e) => {
                warn!(error = %e.chain(), "could not mark the connection's credentials rejected")
            }
        }
    }

    /// Rate limit and breaker: short waits happen here, longer ones are returned.
    async fn wait_for_capacity(
        &self,
        connection: &Connection,
        action: &Action,
    ) -> Result<Option<Duration>> {
        let bucket = action
            .rate_limit_bucket(connection)
            .filter(|_| self.config.catalog_rate_limits);
        loop {
            let limited = match &bucket {
                Some((key, limit)) => self.limits.check(key, limit).await?,
                None => None,
            };
            let limited = match limited {
                Some(wait) => Some(wait),
                None => self.breakers.check(&connection.integration_id).await?,
            };
            let Some(wait) = limited else {
                return Ok(None);
            };
            if wait > self.config.max_local_delay {
                metrics::counter!("worker_delays_total", "where" => "queue").increment(1);
                return Ok(Some(wait));
            }
            metrics::counter!("worker_delays_total", "where" => "local").increment(1);
            tokio::time::sleep(wait).await;
        }
    }
}
