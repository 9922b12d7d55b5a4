//! Test support: a moto endpoint and uniquely named stacks on it.
//!
//! [`moto`] uses the endpoint in `INTEGRATIONS_TEST_AWS_ENDPOINT` when set (for example the one
//! `scripts/moto.sh start` prints), else spawns its own moto server on a free loopback port,
//! killed when the [`MotoEndpoint`] drops. A missing emulator fails the test: AWS tests never
//! skip silently. Every [`MotoEndpoint::config`] names its resources with a fresh ULID, so tests
//! can run in parallel on one emulator.
//!
//! The server is moto's own, started through `aws/moto_server.py`, which handles DynamoDB
//! requests one at a time: plain `moto_server` lets two concurrent conditional writes to one item
//! both succeed, which real DynamoDB never does (see that file).

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::AwsConfig;

mod stack;
mod subscriber;

pub use stack::{deploy_stack, Container, Deployed};
pub use subscriber::Subscriber;

/// The variable naming a running emulator to use instead of spawning one.
pub const ENDPOINT_ENV: &str = "INTEGRATIONS_TEST_AWS_ENDPOINT";
/// The Python that has moto installed (default `python3`).
pub const PYTHON_ENV: &str = "INTEGRATIONS_TEST_PYTHON";
/// `aws/moto_server.py`: moto's server with DynamoDB requests serialised.
pub const MOTO_SERVER_PY: &str = include_str!("../../moto_server.py");
const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct MotoEndpoint {
    url: String,
    port: u16,
    child: Option<Child>,
    /// The server's output, shown when it fails to start.
    log: Option<PathBuf>,
}

/// The shared emulator from `INTEGRATIONS_TEST_AWS_ENDPOINT`, or a new moto server.
pub async fn moto() -> MotoEndpoint {
    match std::env::var(ENDPOINT_ENV) {
        Ok(url) if !url.trim().is_empty() => MotoEndpoint {
            url: url.trim().trim_end_matches('/').to_string(),
            port: 0,
            child: None,
            log: None,
        },
        _ => spawn_moto().await,
    }
}

/// Always a new moto server of this test's own (for tests that stop and restart it).
pub async fn spawn_moto() -> MotoEndpoint {
    let port = free_port();
    let mut endpoint = MotoEndpoint {
        url: format!("http://127.0.0.1:{port}"),
        port,
        child: None,
        log: None,
    };
    endpoint.start().await;
    endpoint
}

impl MotoEndpoint {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A configuration pointed at this emulator, with dummy credentials and resource names of
    /// its own (`it-<ulid>-…`). Nothing is created: see [`MotoEndpoint::provisioned`].
    pub fn config(&self) -> AwsConfig {
        let prefix = format!("it-{}", ulid::Ulid::new().to_string().to_lowercase());
        AwsConfig::with_prefix(&prefix).for_emulator(&self.url)
    }

    /// [`MotoEndpoint::config`] with its resources provisioned.
    pub async fn provisioned(&self) -> AwsConfig {
        self.provision(self.config()).await
    }

    /// Provisions `config`'s resources (panics with the reason if it cannot).
    pub async fn provision(&self, config: AwsConfig) -> AwsConfig {
        if let Err(e) = crate::provision(&config).await {
            panic!(
                "provisioning the test stack on moto at {} failed: {e}",
                self.url
            );
        }
        config
    }

    /// Stops this test's own emulator (its state is lost, as with a crash).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            panic!(
                "stop: this endpoint ({}) was not spawned by the test",
                self.url
            );
        };
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts this test's emulator again on the same port (empty, like a fresh deployment).
    pub async fn start(&mut self) {
        assert!(
            self.port != 0,
            "start: the endpoint {} is not the test's own",
            self.url
        );
        assert!(self.child.is_none(), "start: moto is already running");
        let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".into());
        let log =
            std::env::temp_dir().join(format!("moto-{}-{}.log", self.port, std::process::id()));
        let log_file = File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create the moto log {}: {e}", log.display()));
        let child = Command::new(&python)
            .args([
                "-c",
                MOTO_SERVER_PY,
                "-H",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{python}` for moto ({e}). {INSTALL}"));
        self.log = Some(log);
        self.child = Some(child);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!(
                    "moto on port {} exited at start-up ({status}): {}\n{INSTALL}",
                    self.port,
                    self.output().trim()
                );
            }
            if started.elapsed() > START_TIMEOUT {
                panic!(
                    "moto on port {} did not answer within {START_TIMEOUT:?}: {}",
                    self.port,
                    self.output().trim()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn output(&self) -> String {
        self.log
            .as_ref()
            .and_then(|l| std::fs::read_to_string(l).ok())
            .unwrap_or_default()
    }
}

impl Drop for MotoEndpoint {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(log) = self.log.take() {
            let _ = std::fs::remove_file(log);
        }
    }
}

const INSTALL: &str = "The AWS backend's tests need moto: `pip install 'moto[server]'` (or set \
     INTEGRATIONS_TEST_PYTHON to a Python that has it), or run `scripts/moto.sh start` and \
     export INTEGRATIONS_TEST_AWS_ENDPOINT. A missing emulator fails these tests; they never skip.";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The bodies of up to 10 messages of any queue (waiting up to 1 s), for tests that look at
/// what the stack routes to queues of its own.
pub async fn receive_raw(endpoint: &str, queue_url: &str) -> Vec<String> {
    let config = AwsConfig::with_prefix("raw").for_emulator(endpoint);
    let sqs = aws_sdk_sqs::Client::new(&crate::sdk_config(&config).await);
    let got = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    got.messages()
        .iter()
        .filter_map(|m| m.body().map(str::to_string))
        .collect()
}

/// The URL of the queue named `name` (for [`send_raw`] to a queue the service provisioned).
pub async fn queue_url(endpoint: &str, name: &str) -> String {
    let config = AwsConfig::with_prefix("raw").for_emulator(endpoint);
    let sqs = aws_sdk_sqs::Client::new(&crate::sdk_config(&config).await);
    let got = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no queue {name}: {e}"));
    got.queue_url().unwrap_or_default().to_string()
}

/// Put a raw body on a queue (a producer that sends garbage, or more than our own client
/// would send: it refuses bodies over 256 KiB, while SQS and moto take up to 1 MiB).
pub async fn send_raw(endpoint: &str, queue_url: &str, body: &str) {
    let config = AwsConfig::with_prefix("raw").for_emulator(endpoint);
    let sqs = aws_sdk_sqs::Client::new(&crate::sdk_config(&config).await);
    sqs.send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .expect("send");
}

/// Every item of every DynamoDB table whose name starts with `prefix`, one line each (their
/// Debug text: strings appear verbatim), for tests that scan what a run stored.
pub async fn dump_tables(endpoint: &str, prefix: &str) -> Vec<String> {
    let config = AwsConfig::with_prefix("raw").for_emulator(endpoint);
    let ddb = aws_sdk_dynamodb::Client::new(&crate::sdk_config(&config).await);
    // ListTables answers 100 names a page, and a whole suite on one moto makes many more.
    let mut tables = Vec::new();
    let mut after = None;
    loop {
        let page = ddb
            .list_tables()
            .set_exclusive_start_table_name(after)
            .send()
            .await
            .expect("list tables");
        tables.extend(page.table_names().iter().cloned());
        after = page.last_evaluated_table_name().map(str::to_string);
        if after.is_none() {
            break;
        }
    }
    let mut lines = Vec::new();
    for table in tables.iter().filter(|t| t.starts_with(prefix)) {
        let mut start = None;
        loop {
            let page = ddb
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap_or_else(|e| panic!("scan {table}: {e}"));
            lines.extend(page.items().iter().map(|item| format!("{table}: {item:?}")));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    lines
}
