#!/usr/bin/env bash
# Runs every test: installs what the tests need (cargo-nextest, the moto AWS emulator from PyPI,
# the Python MCP client `mcp` 2.x from PyPI in a venv under target/), starts moto on a free
# loopback port, runs the whole workspace's tests against it, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest" >&2
  cargo install cargo-nextest --locked
fi

# The real MCP client for tests/tests/mcp.rs, in its own venv (target/ is ignored by git and
# survives between runs; `cargo clean` removes it and the next run makes it again).
MCP_VENV=${INTEGRATIONS_TEST_MCP_VENV:-target/mcp-venv}
if ! "$MCP_VENV/bin/python" -c 'import mcp, httpx2' 2>/dev/null; then
  echo "installing the Python MCP client (mcp 2.x) into $MCP_VENV" >&2
  python3 -m venv "$MCP_VENV"
  "$MCP_VENV/bin/python" -m pip install --quiet 'mcp>=2,<3'
fi
# Set, so the MCP client tests run (and fail if the client fails) instead of being skipped.
INTEGRATIONS_TEST_MCP_PYTHON=$(cd "$MCP_VENV/bin" && pwd)/python
export INTEGRATIONS_TEST_MCP_PYTHON

# Prints `export VAR=...` lines (the emulator's endpoint) and leaves moto running.
eval "$(scripts/moto.sh start)"
trap 'scripts/moto.sh stop' EXIT

profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi
cargo nextest run --workspace --profile "$profile" "$@"
