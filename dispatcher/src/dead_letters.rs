//! `integrations dead-letters list|redrive|delete`: the operator's view of the dead-letter queue,
//! the same on every backend.

use std::time::Duration;

use integrations_core::backend::{Backend, Delivery};
use integrations_core::dead_letters::{execution_of, mark};
use integrations_core::{Error, Result};
use serde_json::json;

use crate::config::DeadLetterAction;

/// How long listed messages stay hidden in the dead-letter queue while we work on them.
const HOLD: Duration = Duration::from_secs(5);

async fn receive_all(backend: &Backend, max: usize) -> Result<Vec<Delivery>> {
    let mut all = Vec::new();
    while all.len() < max {
        let batch = backend
            .queue
            .receive_dead_letters(10.min(max - all.len()), HOLD)
            .await?;
        if batch.is_empty() {
            break;
        }
        all.extend(batch);
    }
    Ok(all)
}

/// Returns how many messages were listed, redriven or deleted.
pub async fn run(backend: &Backend, action: &DeadLetterAction) -> Result<usize> {
    let count = match action {
        DeadLetterAction::List { max } => {
            let all = receive_all(backend, *max).await?;
            for d in &all {
                mark(backend, d).await?;
                let (tenant, execution) = execution_of(d).unzip();
                let line = json!({
                    "messageId": d.message_id,
                    "receiveCount": d.receive_count,
                    "tenantId": tenant,
                    "executionId": execution,
                    "traceParent": d.trace_parent,
                    "body": d.body,
                });
                println!("{line}");
            }
            all.len()
        }
        DeadLetterAction::Redrive {
            message_ids,
            body_file,
            max,
        } => {
            let body = body_file
                .as_ref()
                .map(|p| {
                    std::fs::read_to_string(p)
                        .map_err(|e| Error::validation(format!("{}: {e}", p.display())))
                })
                .transpose()?;
            let mut redriven = 0;
            for d in receive_all(backend, *max).await? {
                if !message_ids.is_empty() && !message_ids.contains(&d.message_id) {
                    continue;
                }
                let fixed = Delivery {
                    body: body.clone().unwrap_or_else(|| d.body.clone()),
                    ..d.clone()
                };
                if let Some((tenant, id)) = execution_of(&fixed) {
                    backend.executions.reopen_execution(&tenant, &id).await?;
                }
                backend.queue.redrive(&d, body.as_deref()).await?;
                redriven += 1;
            }
            println!("redriven {redriven}");
            redriven
        }
        DeadLetterAction::Delete { message_ids } => {
            let mut deleted = 0;
            for d in receive_all(backend, usize::MAX).await? {
                if message_ids.contains(&d.message_id) {
                    backend.queue.delete_dead_letter(&d.receipt).await?;
                    deleted += 1;
                }
            }
            println!("deleted {deleted}");
            deleted
        }
    };
    Ok(count)
}
