//! infra/template.yaml deployed to the emulator, for the tests that run the service on exactly
//! what the stack creates.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;

use super::PYTHON_ENV;

/// A container of one of the stack's task definitions, as ECS would start it.
#[derive(Debug, Clone)]
pub struct Container {
    pub command: Vec<String>,
    pub environment: BTreeMap<String, String>,
}

/// A stack created in the emulator.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub outputs: BTreeMap<String, String>,
    pub containers: BTreeMap<String, Container>,
    /// (logical id, type) of the template's resources moto did not create.
    pub skipped: Vec<(String, String)>,
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Create infra/template.yaml as a stack named after `prefix` (infra/moto_stack.py, with
/// boto3), with a max receive count of 2 and `params` (`Key=Value`); panics when it fails.
pub fn deploy_stack(endpoint: &str, prefix: &str, params: &[&str]) -> Deployed {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/moto_stack.py");
    let python = std::env::var(PYTHON_ENV).unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .args([script, endpoint, prefix, "2"])
        .args(params)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "stack creation failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the script's JSON");
    let map = |v: &serde_json::Value| -> BTreeMap<String, String> {
        v.as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default()
    };
    let containers = json["taskEnvironments"]
        .as_object()
        .expect("taskEnvironments")
        .iter()
        .map(|(name, c)| {
            let command = c["command"].as_array().expect("command");
            let container = Container {
                command: command.iter().map(text).collect(),
                environment: map(&c["environment"]),
            };
            (name.clone(), container)
        })
        .collect();
    let skipped = json["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| (text(&s["logicalId"]), text(&s["type"])))
        .collect();
    Deployed {
        outputs: map(&json["outputs"]),
        containers,
        skipped,
    }
}
