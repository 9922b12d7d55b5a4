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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::{Cli, Command};

    async fn run_with(args: &[&str]) -> Result<()> {
        let cli = Cli::try_parse_from(["integrations"].iter().chain(args)).expect("arguments");
        match &cli.command {
            Command::MigrateLayout { args } => run(&cli.common, args).await,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn refused(answer: Result<()>, says: &str) {
        let err = answer.expect_err("refused");
        assert_eq!(err.kind, integrations_core::ErrorKind::ValidationFailed);
        assert!(err.message.contains(says), "{}", err.message);
    }

    #[tokio::test]
    async fn refuses_what_it_cannot_copy_before_any_request() {
        let embedded = run_with(&["migrate-layout", "--from", "old"]).await;
        refused(embedded, "--backend aws");
        let aws = [
            "--backend",
            "aws",
            "--aws-prefix",
            "p",
            "--aws-region",
            "us-east-1",
        ];
        let same: Vec<&str> = aws
            .iter()
            .copied()
            .chain(["migrate-layout", "--from", "p-executions-v2"])
            .collect();
        refused(run_with(&same).await, "new one");
        let segment: Vec<&str> = aws
            .iter()
            .copied()
            .chain([
                "migrate-layout",
                "--from",
                "old",
                "--segment",
                "4",
                "--segments",
                "4",
            ])
            .collect();
        refused(run_with(&segment).await, "--segment");
        assert!(Cli::try_parse_from([
            "integrations",
            "migrate-layout",
            "--from",
            "x",
            "--segment",
            "1"
        ])
        .is_err());
    }
}
