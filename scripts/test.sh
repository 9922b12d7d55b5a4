#!/usr/bin/env bash
# Runs every test: installs what the tests need (cargo-nextest, the moto AWS emulator from PyPI),
# starts moto on a free loopback port, runs the whole workspace's tests against it, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi

# Prints `export VAR=...` lines (the emulator's endpoint) and leaves moto running.
eval "$(scripts/moto.sh start)"
trap 'scripts/moto.sh stop' EXIT

profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi
cargo nextest run --workspace --profile "$profile" "$@"
