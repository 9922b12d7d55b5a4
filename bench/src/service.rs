//! The service under test, run as a child process so that its CPU time and peak memory can be
//! read apart from the load generator's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::Backend;

/// `integrations` next to this executable (both are built into the same target directory).
pub fn default_binary() -> PathBuf {
    let name = format!("integrations{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// How to launch the service: the binary and the flags shared by every subcommand.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub backend: Backend,
    pub provider_base_url: String,
    /// `RUST_LOG` of the service.
    pub log_filter: String,
    /// Environment added to the service's (AWS endpoint and credentials for moto).
    pub env: Vec<(String, String)>,
}

impl Launcher {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--backend")
            .arg(self.backend.as_str())
            .arg("--provider-base-url")
            .arg(format!("shipping-ghn={}", self.provider_base_url))
            .arg("--allow-private-urls")
            .arg("--log-format")
            .arg("json")
            .env("RUST_LOG", &self.log_filter)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// `integrations create-key`: the key is printed once on stdout.
    pub async fn create_key(&self, tenant: &str) -> Result<String, String> {
        let out = self
            .command()
            .args([
                "create-key",
                "--caller-service",
                "bench",
                "--tenants",
                tenant,
            ])
            .output();
        let out = tokio::time::timeout(Duration::from_secs(120), out)
            .await
            .map_err(|_| "create-key did not finish within 120 s".to_string())?
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        if !out.status.success() {
            return Err(format!(
                "create-key failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .map(str::to_string)
            .ok_or_else(|| "create-key printed no key".to_string())
    }

    /// `integrations serve` on an ephemeral port: the API with in-process workers.
    pub async fn serve(
        &self,
        worker_concurrency: usize,
        extra: &[String],
    ) -> Result<Service, String> {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--concurrency"];
        let concurrency = worker_concurrency.to_string();
        args.push(&concurrency);
        args.extend(extra.iter().map(String::as_str));
        self.spawn(&args, "integrations listening on ", "service.log")
            .await
    }

    /// `integrations api` alone on an ephemeral port (fleet mode).
    pub async fn api(&self) -> Result<Service, String> {
        self.spawn(
            &["api", "--listen", "127.0.0.1:0"],
            "integrations listening on ",
            "api.log",
        )
        .await
    }

    /// `integrations worker` alone; `url` is where it serves /metrics.
    pub async fn worker(&self, concurrency: usize, extra: &[String]) -> Result<Service, String> {
        let mut args = vec!["worker", "--metrics-listen", "127.0.0.1:0", "--concurrency"];
        let concurrency = concurrency.to_string();
        args.push(&concurrency);
        args.extend(extra.iter().map(String::as_str));
        self.spawn(
            &args,
            "integrations worker running; metrics on ",
            "worker.log",
        )
        .await
    }

    /// Start a subcommand and wait for the first stdout line, `<ready>URL`.
    async fn spawn(&self, args: &[&str], ready: &str, log_name: &str) -> Result<Service, String> {
        let log_path = self.data_dir.join(log_name);
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let mut child = self
            .command()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        let pid = child
            .id()
            .ok_or_else(|| "the service exited at once".to_string())?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| "no stdout pipe".to_string())?;
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await;
        let url = match first {
            Ok(Ok(Some(line))) => line
                .trim()
                .strip_prefix(ready)
                .map(|u| u.trim_end_matches('/').to_string())
                .ok_or_else(|| format!("unexpected first line from the service: {line}")),
            Ok(Ok(None)) => Err("the service exited before it was ready".to_string()),
            Ok(Err(e)) => Err(format!("reading the service's stdout: {e}")),
            Err(_) => Err("the service was not ready within 120 s".to_string()),
        };
        let url = match url {
            Ok(u) => u,
            Err(e) => {
                let _ = child.kill().await;
                return Err(format!("{e}\n{}", tail(&log_path, 20)));
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Service {
            child,
            pid: pid.to_string(),
            url,
            log_path,
        })
    }
}

pub struct Service {
    child: Child,
    pub pid: String,
    pub url: String,
    pub log_path: PathBuf,
}

impl Service {
    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Send a signal (`TERM`, `STOP`, `CONT`) with kill(1).
    pub async fn signal(&self, name: &str) -> bool {
        Command::new("kill")
            .arg(format!("-{name}"))
            .arg(&self.pid)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok_and(|s| s.success())
    }

    /// SIGTERM (graceful shutdown), then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration) {
        // A stopped process would not act on TERM.
        self.signal("CONT").await;
        if self.signal("TERM").await && tokio::time::timeout(grace, self.child.wait()).await.is_ok()
        {
            return;
        }
        let _ = self.child.kill().await;
    }
}

/// The last lines of a log file, for error messages.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    format!(
        "--- last lines of {} ---\n{}",
        path.display(),
        all[start..].join("\n")
    )
}
