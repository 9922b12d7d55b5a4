//! The `integrations` command.

use integrations_core::caller_secrets::validate_caller_service;
use integrations_core::{Error, Result};
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, LogFormat};
use crate::service;

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr: stdout carries the command's output (a created key, dead letters).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Resolves on SIGTERM or SIGINT.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

pub async fn run(cli: Cli) -> Result<()> {
    init_logging(cli.common.log_format);
    let common = &cli.common;
    let running = match &cli.command {
        Command::Serve { api, worker } => service::start(common, Some(api), Some(worker)).await?,
        Command::Api { api } => service::start(common, Some(api), None).await?,
        Command::Worker { worker } => service::start(common, None, Some(worker)).await?,
        Command::CreateKey {
            caller_service,
            tenants,
            all_tenants,
        } => {
            validate_caller_service(caller_service)?;
            let backend = service::open_backend(common).await?;
            // Its callbacks are signed from the first one on; the secret is shown by
            // `callback-secret show`, not here (stdout carries only the key).
            crate::callback_secret::caller_secrets(&backend)
                .ensure(caller_service)
                .await?;
            let scope = (!*all_tenants).then(|| tenants.clone());
            let (key, record) = crate::auth::generate_key(caller_service, scope);
            backend.api_keys.put_api_key(&record).await?;
            // The only time the key is shown: it is stored hashed.
            println!("{key}");
            return Ok(());
        }
        Command::Keys { action } => {
            let backend = service::open_backend(common).await?;
            for line in crate::keys::run(backend.api_keys.as_ref(), action).await? {
                println!("{line}");
            }
            return Ok(());
        }
        Command::DeadLetters { action } => {
            let backend = service::open_backend(common).await?;
            return crate::dead_letters::run(&backend, action).await.map(|_| ());
        }
        Command::Openapi => {
            // Needs no backend: the document comes from the code alone.
            let doc = crate::app::openapi();
            let text = serde_json::to_string_pretty(&doc)
                .map_err(|e| Error::internal(format!("the document: {e}")))?;
            println!("{text}");
            return Ok(());
        }
        Command::MigrateLayout { args } => {
            return crate::migrate_layout::run(common, args).await;
        }
        Command::OauthApp { action } => {
            let backend = service::open_backend(common).await?;
            let catalog = integrations_core::catalog::Catalog::embedded()?;
            for line in crate::oauth::apps::run(backend.secrets.as_ref(), &catalog, action).await? {
                println!("{line}");
            }
            return Ok(());
        }
        Command::CallbackSecret { action } => {
            let backend = service::open_backend(common).await?;
            let secrets = crate::callback_secret::caller_secrets(&backend);
            for line in crate::callback_secret::run(&secrets, action).await? {
                println!("{line}");
            }
            return Ok(());
        }
    };
    match (running.addr, running.metrics_addr) {
        (Some(addr), _) => println!("integrations listening on http://{addr}"),
        (None, Some(metrics)) => {
            println!("integrations worker running; metrics on http://{metrics}")
        }
        (None, None) => println!("integrations worker running"),
    }
    terminated().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

pub fn main() -> std::process::ExitCode {
    use clap::Parser;
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Error { kind, message, .. }) => {
            eprintln!("error: {kind}: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
