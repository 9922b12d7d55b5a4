//! `integrations migrate-layout`: copies an executions table of the one-partition-per-tenant
//! layout into today's (`backend_aws::migrate`), printing one JSON line per scanned page.

use integrations_core::{Error, Result};
use serde_json::json;

use crate::config::{BackendKind, CommonArgs, MigrateLayoutArgs};

pub async fn run(common: &CommonArgs, args: &MigrateLayoutArgs) -> Result<()> {
    if common.backend != BackendKind::Aws {
        return Err(Error::validation(
            "migrate-layout copies DynamoDB tables: run it with --backend aws",
        ));
    }
    if let (Some(segment), Some(total)) = (args.segment, args.segments) {
        if !(0..total).contains(&segment) {
            return Err(Error::validation("--segment: 0 to --segments - 1"));
        }
    }
    let config = crate::service::aws_config(common);
    if config.executions_table == args.from {
        return Err(Error::validation(
            "--from is the configured executions table: copy into a new one",
        ));
    }
    let scope = backend_aws::migrate::MigrationScope {
        segment: args.segment.zip(args.segments),
        resume: args.resume.clone(),
    };
    let counts = backend_aws::migrate::copy_layout(&config, &args.from, &scope, |c, resume| {
        println!("{}", json!({"page": c, "resume": resume}));
    })
    .await?;
    tracing::info!(
        scanned = counts.scanned,
        skipped = counts.skipped,
        "migrate-layout: done"
    );
    Ok(())
}
