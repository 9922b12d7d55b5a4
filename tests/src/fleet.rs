//! A fleet of real processes on one store: `integrations api` and N `integrations worker`s
//! sharing one embedded file (or one moto stack, with `--backend aws` in the common arguments).

use std::process::{Command, Stdio};

use crate::{spawn_reading_first_line, ApiClient, KillOnDrop};

pub struct Fleet {
    /// The command under test (`env!("CARGO_BIN_EXE_integrations-under-test")`: only test
    /// targets see that variable).
    pub bin: &'static str,
    /// Arguments every process gets: the store, provider base URLs.
    pub common: Vec<String>,
}

impl Fleet {
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.bin);
        c.args(&self.common)
            .args(args)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit());
        c
    }

    /// Runs a one-shot command (`create-key`, `dead-letters list`) and returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    }

    /// The API process and a client for it with `key`.
    pub fn api(&self, key: String) -> (KillOnDrop, ApiClient) {
        let (process, line) =
            spawn_reading_first_line(&mut self.command(&["api", "--listen", "127.0.0.1:0"]));
        let base = line
            .strip_prefix("integrations listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
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
        spawn_reading_first_line(&mut self.command(&all)).0
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
}
