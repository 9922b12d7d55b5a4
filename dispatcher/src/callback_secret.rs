//! `integrations callback-secret show|rotate`: the operator's handle on a caller service's
//! callback signing secret. Secrets go to stdout (one per line, nothing else, so that scripts can
//! take them); notes go to stderr.

use std::time::Duration;

use integrations_core::backend::Backend;
use integrations_core::caller_secrets::CallerSecrets;
use integrations_core::Result;

use crate::config::CallbackSecretAction;

/// A one-shot command reads the store itself: nothing to cache.
pub fn caller_secrets(backend: &Backend) -> CallerSecrets {
    CallerSecrets::new(backend.secrets.clone(), Duration::ZERO)
}

/// The lines to print on stdout.
pub async fn run(secrets: &CallerSecrets, action: &CallbackSecretAction) -> Result<Vec<String>> {
    match action {
        CallbackSecretAction::Show { caller_service } => {
            let keys = secrets.keys(caller_service).await?;
            Ok(keys.all().iter().map(ToString::to_string).collect())
        }
        CallbackSecretAction::Rotate {
            caller_service,
            finish: false,
        } => {
            let next = secrets.rotate(caller_service).await?;
            eprintln!(
                "callbacks of '{caller_service}' are now signed with the current secret and \
                 this one; once receivers accept it, run `integrations callback-secret rotate \
                 --caller-service {caller_service} --finish`"
            );
            Ok(vec![next.to_string()])
        }
        CallbackSecretAction::Rotate {
            caller_service,
            finish: true,
        } => {
            let current = secrets.finish_rotation(caller_service).await?;
            eprintln!("callbacks of '{caller_service}' are now signed with this secret only");
            Ok(vec![current.to_string()])
        }
    }
}

#[cfg(test)]
mod tests {
    use backend_embedded::{EmbeddedBackend, EmbeddedConfig, SecretKeySource};
    use clap::Parser;
    use integrations_core::signing::CallbackSecret;
    use integrations_core::ErrorKind;

    use super::*;
    use crate::config::{Cli, Command};

    fn action(args: &[&str]) -> CallbackSecretAction {
        let cli = Cli::try_parse_from(["integrations", "callback-secret"].iter().chain(args))
            .expect("parses");
        match cli.command {
            Command::CallbackSecret { action } => action,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[tokio::test]
    async fn show_rotate_and_finish_print_the_secrets() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = EmbeddedConfig::new(
            dir.path().join("integrations.db"),
            SecretKeySource::Raw(vec![7; 32]),
        );
        let backend = EmbeddedBackend::open(&config)
            .await
            .expect("open")
            .backend();
        let secrets = caller_secrets(&backend);
        let show = action(&["show", "--caller-service", "flows"]);
        let rotate = action(&["rotate", "--caller-service", "flows"]);
        let finish = action(&["rotate", "--caller-service", "flows", "--finish"]);

        let err = run(&secrets, &show).await.expect_err("none yet");
        assert_eq!(err.kind, ErrorKind::CallbackSecretMissing);

        let first = run(&secrets, &rotate).await.expect("first secret");
        assert_eq!(run(&secrets, &show).await.expect("show"), first);
        let next = run(&secrets, &rotate).await.expect("rotate");
        assert_ne!(next, first);
        let both = run(&secrets, &show).await.expect("show");
        assert_eq!(both, [first, next.clone()].concat());
        for line in &both {
            assert!(CallbackSecret::parse(line).is_ok(), "{line}");
        }
        assert_eq!(run(&secrets, &finish).await.expect("finish"), next);
        assert_eq!(run(&secrets, &show).await.expect("show"), next);
        assert!(run(&secrets, &finish).await.is_err(), "nothing to finish");

        let bad = action(&["show", "--caller-service", "a/b"]);
        let err = run(&secrets, &bad).await.expect_err("invalid name");
        assert_eq!(err.kind, ErrorKind::ValidationFailed);
    }
}
