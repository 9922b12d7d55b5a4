//! A fleet of `integrations` processes (an API, workers) sharing one backend: one embedded file,
//! or a stack on moto under a fresh prefix. Processes die with their [`KillOnDrop`] handles.

use std::process::{Command, Stdio};
use std::time::Duration;

use fake_provider::{FakeConfig, FakeProvider};
use integrations_core::model::new_id;

use crate::{spawn_reading_first_line, ApiClient, KillOnDrop, SHOP_ID, TOKEN};

/// The fake GHN (the harness's token and shop, answering after `latency`) and the flags that
/// point a fleet's processes at it.
pub async fn fake_ghn(latency: Duration) -> (FakeProvider, Vec<String>) {
    let fake = fake_provider::start(FakeConfig {
        latency,
        token: TOKEN.into(),
        shop_id: SHOP_ID,
        ..FakeConfig::default()
    })
    .await
    .expect("fake GHN");
    let flags = vec![
        "--provider-base-url".to_string(),
        format!("shipping-ghn={}", fake.base_url()),
    ];
    (fake, flags)
}

pub struct Fleet {
    /// The `integrations` binary under test (`env!("CARGO_BIN_EXE_integrations-under-test")`).
    bin: String,
    common: Vec<String>,
    /// The resource name prefix of the fleet's stack on moto.
    pub prefix: Option<String>,
}

impl Fleet {
    /// Processes on one embedded file in `dir`, providers as `provider_args` point them.
    pub fn embedded(
        bin: &str,
        provider_args: &[String],
        dir: &std::path::Path,
        extra: &[&str],
    ) -> Self {
        let mut common = vec!["--data-dir".to_string(), dir.display().to_string()];
        common.extend(provider_args.iter().cloned());
        common.extend(extra.iter().map(|s| s.to_string()));
        Self {
            bin: bin.to_string(),
            common,
            prefix: None,
        }
    }

    /// Processes on a stack on moto under a fresh prefix.
    pub fn on_moto(
        bin: &str,
        moto: &str,
        provider_args: &[String],
        dir: &std::path::Path,
        extra: &[&str],
    ) -> Self {
        let prefix = format!("fleet-{}", new_id().to_lowercase());
        let mut fleet = Self::embedded(bin, provider_args, dir, extra);
        let aws = ["--backend", "aws", "--aws-prefix", &prefix];
        let aws = aws.iter().map(|s| s.to_string());
        let aws = aws.chain(["--aws-emulator-endpoint".to_string(), moto.to_string()]);
        fleet.common.splice(0..0, aws);
        fleet.prefix = Some(prefix);
        fleet
    }

    /// Provision the stack (on moto) and create a key for `flows` on `t1`: a one-off command,
    /// as an operator would.
    pub fn provision_key(&self) -> String {
        let mut args = vec!["create-key", "--caller-service", "flows", "--tenants", "t1"];
        if self.prefix.is_some() {
            args.insert(0, "--aws-provision");
        }
        self.run(&args).trim().to_string()
    }

    /// Start `integrations api`; returns it with its base URL.
    pub fn start_api(&self) -> (KillOnDrop, String) {
        self.start_listening(&["api", "--listen", "127.0.0.1:0"])
    }

    /// Start a role that serves the API (`api` or `serve`, with `args`, listening on a free
    /// port); returns it with its base URL.
    pub fn start_listening(&self, args: &[&str]) -> (KillOnDrop, String) {
        let (process, line) = self.spawn(args);
        let base = line
            .strip_prefix("integrations listening on ")
            .expect("address line")
            .to_string();
        (process, base)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(&self.common)
            .args(args)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit());
        c
    }

    /// Start a long-running role and read its first stdout line.
    pub fn spawn(&self, args: &[&str]) -> (KillOnDrop, String) {
        spawn_reading_first_line(&mut self.command(args))
    }

    /// The API process and a client for it with `key`.
    pub fn api(&self, key: String) -> (KillOnDrop, ApiClient) {
        self.api_with(&["api", "--listen", "127.0.0.1:0"], key)
    }

    /// As [`Self::api`], the process started as [`Self::start_listening`] starts it.
    pub fn api_with(&self, args: &[&str], key: String) -> (KillOnDrop, ApiClient) {
        let (process, base) = self.start_listening(args);
        let api = ApiClient {
            http: reqwest::Client::new(),
            base,
            key,
        };
        (process, api)
    }

    /// A worker process with `args` after `worker`.
    pub fn worker(&self, args: &[&str]) -> KillOnDrop {
        let mut all = vec!["worker"];
        all.extend_from_slice(args);
        self.spawn(&all).0
    }

    /// The API and `workers` workers; the processes die with the returned handles.
    pub fn start(
        &self,
        key: String,
        workers: usize,
        worker_args: &[&str],
    ) -> (Vec<KillOnDrop>, ApiClient) {
        let (api_process, api) = self.api(key);
        let mut processes = vec![api_process];
        processes.extend((0..workers).map(|_| self.worker(worker_args)));
        (processes, api)
    }

    /// Runs a one-shot command (`create-key`, `keys list`) and returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }
}
