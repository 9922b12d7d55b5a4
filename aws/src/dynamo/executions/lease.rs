//! Claims, leases, releases and reopening: each one conditional UpdateItem.
//!
//! The lease is two attributes of the execution item, `leaseOwner` and `leaseUntil` (epoch
//! milliseconds, so that the claim's condition can compare it with the claimer's clock). Workers'
//! clocks only matter for deciding that a lease expired: keep them NTP-synchronised, and leases
//! long compared to the skew.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use integrations_core::backend::{ClaimOutcome, Lease, Release};
use integrations_core::model::{now, ExecutionStatus};
use integrations_core::{Error, Result};

use super::{Change, DynamoExecutions};
use crate::dynamo::exec_item::{
    exec_key, execution_from_item, ERROR, LEASE_OWNER, LEASE_UNTIL, STATUS,
};
use crate::dynamo::{get_n, get_s, n, s, to_json, ts};

/// "Held" means running under that owner, even past `until`, as long as nobody claimed it since.
const HELD_BY_OWNER: &str = "#status = :running AND leaseOwner = :owner";
const CLAIMABLE: &str = "attribute_exists(PK) AND (#status = :queued OR (#status = :running AND \
     (attribute_not_exists(leaseUntil) OR leaseUntil <= :now_ms)))";
const CLAIM: &str = "SET #status = :running, leaseOwner = :owner, leaseUntil = :until, \
     attempts = if_not_exists(attempts, :zero) + :one, updatedAt = :now REMOVE nextAttemptAt";
const STATUS_NAME: (&str, &str) = ("#status", STATUS);

fn status(value: ExecutionStatus) -> AttributeValue {
    s(value.as_str())
}

impl DynamoExecutions {
    pub(super) async fn claim(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<ClaimOutcome> {
        let at = now();
        let until_ms = lease.until.timestamp_millis();
        let result = self
            .update(
                exec_key(tenant_id, execution_id),
                Change {
                    what: "DynamoDB UpdateItem (claim)",
                    update: CLAIM,
                    condition: CLAIMABLE,
                    names: &[STATUS_NAME],
                    values: vec![
                        (":running", status(ExecutionStatus::Running)),
                        (":queued", status(ExecutionStatus::Queued)),
                        (":owner", s(&lease.owner)),
                        (":until", n(until_ms)),
                        (":zero", n(0)),
                        (":one", n(1)),
                        (":now", s(ts(&at))),
                        (":now_ms", n(at.timestamp_millis())),
                    ],
                    // The old item tells a recovery (it was running) from a first claim; the new
                    // state is exactly what the update expression makes of it.
                    returns: ReturnValue::AllOld,
                },
            )
            .await?;
        let old = match result {
            Ok(old) => {
                let mut execution = execution_from_item(&old)?;
                let recovered = execution.status == ExecutionStatus::Running;
                execution.status = ExecutionStatus::Running;
                execution.attempts += 1;
                execution.updated_at = at;
                execution.next_attempt_at = None;
                return Ok(ClaimOutcome::Claimed {
                    execution: Box::new(execution),
                    recovered,
                });
            }
            Err(None) => return Ok(ClaimOutcome::NotFound),
            Err(Some(old)) => old,
        };
        let execution = execution_from_item(&old)?;
        if execution.status.is_terminal() {
            return Ok(ClaimOutcome::Terminal(Box::new(execution)));
        }
        let held_until: Option<i64> = get_n(&old, LEASE_UNTIL);
        if get_s(&old, LEASE_OWNER) == Some(lease.owner.as_str()) && held_until == Some(until_ms) {
            // This very lease: our own claim, applied by an attempt whose answer was lost and
            // retried by the SDK. (A new claim by the same owner has a new `until`.)
            return Ok(ClaimOutcome::Claimed {
                execution: Box::new(execution),
                recovered: false,
            });
        }
        match held_until.and_then(chrono::DateTime::from_timestamp_millis) {
            Some(until) => Ok(ClaimOutcome::Leased { until }),
            None => Err(Error::internal(format!(
                "execution {execution_id} could not be claimed from status {}",
                execution.status.as_str()
            ))),
        }
    }

    pub(super) async fn extend(
        &self,
        tenant_id: &str,
        execution_id: &str,
        lease: &Lease,
    ) -> Result<bool> {
        let result = self
            .update(
                exec_key(tenant_id, execution_id),
                Change {
                    what: "DynamoDB UpdateItem (extend lease)",
                    update: "SET leaseUntil = :until",
                    condition: HELD_BY_OWNER,
                    names: &[STATUS_NAME],
                    values: vec![
                        (":running", status(ExecutionStatus::Running)),
                        (":owner", s(&lease.owner)),
                        (":until", n(lease.until.timestamp_millis())),
                    ],
                    returns: ReturnValue::None,
                },
            )
            .await?;
        Ok(result.is_ok())
    }

    pub(super) async fn release(
        &self,
        tenant_id: &str,
        execution_id: &str,
        owner: &str,
        release: &Release,
    ) -> Result<bool> {
        let released = self
            .release_once(
                tenant_id,
                execution_id,
                owner,
                release,
                release.refund_attempt,
            )
            .await?;
        match released {
            Ok(_) => Ok(true),
            // A refund is conditioned on attempts > 0: never below zero. Held, but nothing to
            // refund: release without the refund.
            Err(Some(old))
                if release.refund_attempt
                    && get_s(&old, STATUS) == Some(ExecutionStatus::Running.as_str())
                    && get_s(&old, LEASE_OWNER) == Some(owner) =>
            {
                let again = self
                    .release_once(tenant_id, execution_id, owner, release, false)
                    .await?;
                Ok(again.is_ok())
            }
            Err(_) => Ok(false),
        }
    }

    async fn release_once(
        &self,
        tenant_id: &str,
        execution_id: &str,
        owner: &str,
        release: &Release,
        refund: bool,
    ) -> Result<super::Conditional> {
        let mut set = vec![
            "#status = :queued",
            "nextAttemptAt = :next",
            "updatedAt = :now",
        ];
        let mut names = vec![STATUS_NAME];
        let mut values = vec![
            (":queued", status(ExecutionStatus::Queued)),
            (":running", status(ExecutionStatus::Running)),
            (":owner", s(owner)),
            (":next", s(ts(&release.next_attempt_at))),
            (":now", s(ts(&now()))),
        ];
        // No new error keeps the last one: a delay does not erase the last failure.
        if let Some(error) = &release.error {
            set.push("#error = :error");
            names.push(("#error", ERROR));
            values.push((":error", s(to_json(error)?)));
        }
        let mut condition = HELD_BY_OWNER.to_string();
        if refund {
            set.push("attempts = attempts - :one");
            condition.push_str(" AND attempts > :zero");
            values.push((":one", n(1)));
            values.push((":zero", n(0)));
        }
        let update = format!("SET {} REMOVE leaseOwner, leaseUntil", set.join(", "));
        self.update(
            exec_key(tenant_id, execution_id),
            Change {
                what: "DynamoDB UpdateItem (release)",
                update: &update,
                condition: &condition,
                names: &names,
                values,
                returns: ReturnValue::None,
            },
        )
        .await
    }

    pub(super) async fn reopen(&self, tenant_id: &str, execution_id: &str) -> Result<bool> {
        let change = Change {
            what: "DynamoDB UpdateItem (reopen)",
            update: "SET #status = :queued, updatedAt = :now \
                 REMOVE #error, #output, outputTruncated, finishedAt, leaseOwner, leaseUntil",
            condition: "#status = :dead_lettered",
            names: &[STATUS_NAME, ("#error", ERROR), ("#output", "output")],
            values: vec![
                (":queued", status(ExecutionStatus::Queued)),
                (":dead_lettered", status(ExecutionStatus::DeadLettered)),
                (":now", s(ts(&now()))),
            ],
            returns: ReturnValue::None,
        };
        let result = self
            .update(exec_key(tenant_id, execution_id), change)
            .await?;
        Ok(result.is_ok())
    }
}
