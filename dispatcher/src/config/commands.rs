//! The operator subcommands' own arguments.

use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Clone, Subcommand)]
pub enum KeysAction {
    /// Print every key as a JSON line: id, caller service, tenants, creation time (never the
    /// key or its hash), oldest first.
    List,
    /// Delete a key: requests with it are refused (401) once each API process's key cache has
    /// let it go, within `KEY_CACHE_TTL` (10 s).
    Revoke {
        #[arg(long)]
        key_id: String,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum CallbackSecretAction {
    /// Print the current secret and, during a rotation, the next one: one per line.
    Show {
        #[arg(long)]
        caller_service: String,
    },
    /// Start a rotation: print the new secret, which signs alongside the current one until
    /// --finish (during a rotation, the same one again). A service without a secret gets its
    /// first one.
    Rotate {
        #[arg(long)]
        caller_service: String,
        /// End the rotation: the new secret becomes the only one; print it.
        #[arg(long)]
        finish: bool,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum OAuthAppAction {
    /// Register (or replace) the OAuth app of an oauth2 integration: its client id, and its
    /// secret read from a file (kept in the secret store only, never printed).
    Register {
        #[arg(long)]
        integration: String,
        #[arg(long)]
        client_id: String,
        #[arg(long)]
        client_secret_file: PathBuf,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum DeadLetterAction {
    /// Print dead letters as JSON lines (and mark their executions `dead_lettered`).
    List {
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Move dead letters back to the work queue and reopen their executions.
    Redrive {
        /// Only these messages (default: every dead letter, up to --max).
        #[arg(long = "message-id")]
        message_ids: Vec<String>,
        /// Replace the message body with this file's content (a corrected request).
        #[arg(long, requires = "message_ids")]
        body_file: Option<PathBuf>,
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Delete dead letters for good.
    Delete {
        #[arg(long = "message-id", required = true)]
        message_ids: Vec<String>,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct MigrateLayoutArgs {
    /// The table in the old layout (e.g. `<prefix>-executions`); items are copied into the
    /// configured executions table (`--aws-executions-table`, default `<prefix>-executions-v2`).
    #[arg(long)]
    pub from: String,
    /// Copy only this segment of a parallel scan (0-based; with --segments), so that several
    /// processes can share a large table.
    #[arg(long, requires = "segments")]
    pub segment: Option<i32>,
    #[arg(long, requires = "segment", value_parser = clap::value_parser!(i32).range(1..=1_000_000))]
    pub segments: Option<i32>,
    /// Continue from the `resume` position a run printed (the same --segment).
    #[arg(long)]
    pub resume: Option<String>,
}
