#!/usr/bin/env bash
# The local AWS emulator (moto) for tests and development.
#
#   scripts/moto.sh start    install moto[server] with pip if it is missing, start it on a free
#                            loopback port in the background, wait until it answers, and print
#                            `export VAR=value` lines for eval:  eval "$(scripts/moto.sh start)"
#   scripts/moto.sh stop     stop the server that `start` started
#   scripts/moto.sh status   print the endpoint if it runs (exit 1 if not)
#
# The server is moto's own, started through aws/moto_server.py, which handles DynamoDB requests
# one at a time (plain moto_server lets two concurrent conditional writes to one item both pass).
# Only `export` lines go to stdout; progress and errors go to stderr. The exported credentials are
# the emulator's dummy ones: eval this in a test shell, not in one holding real AWS credentials.
#
# Environment: INTEGRATIONS_TEST_PYTHON (default python3): the Python to install moto into and
# run it with; MOTO_STATE_DIR (default $TMPDIR/integrations-moto-$UID-<checkout hash>): pid, port
# and log files.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${INTEGRATIONS_TEST_PYTHON:-python3}
# One emulator per checkout: two checkouts' test runs never stop each other's server.
CHECKOUT=$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)
STATE_DIR=${MOTO_STATE_DIR:-${TMPDIR:-/tmp}/integrations-moto-$(id -u)-$CHECKOUT}
PID_FILE=$STATE_DIR/moto.pid
PORT_FILE=$STATE_DIR/moto.port
LOG_FILE=$STATE_DIR/moto.log
START_TIMEOUT_SECS=30

log() { echo "moto.sh: $*" >&2; }

# The pid of the server we started, if it still runs (and is still ours: pids get reused).
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q moto_server.py; then
    return 1
  fi
  echo "$pid"
}

print_exports() {
  local url="http://127.0.0.1:$1"
  echo "export INTEGRATIONS_TEST_AWS_ENDPOINT=$url"
  echo "export AWS_ENDPOINT_URL=$url"
  echo "export AWS_ACCESS_KEY_ID=testing"
  echo "export AWS_SECRET_ACCESS_KEY=testing"
  echo "export AWS_REGION=${AWS_REGION:-us-east-1}"
}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_moto() {
  if "$PYTHON" -c 'import moto.server' 2>/dev/null; then
    return
  fi
  log "installing moto[server] with pip for $PYTHON"
  if ! "$PYTHON" -m pip install --quiet 'moto[server]' >&2; then
    "$PYTHON" -m pip install --quiet --user 'moto[server]' >&2
  fi
  "$PYTHON" -c 'import moto.server' || { log "moto is still not importable by $PYTHON"; exit 1; }
}

start() {
  local pid port
  if pid=$(running_pid); then
    port=$(cat "$PORT_FILE")
    log "already running (pid $pid) on port $port"
    print_exports "$port"
    return
  fi
  ensure_moto
  mkdir -p "$STATE_DIR"
  port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  nohup "$PYTHON" "$ROOT/aws/moto_server.py" -H 127.0.0.1 -p "$port" >"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"
  echo "$port" >"$PORT_FILE"
  local waited=0
  until answers "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "moto exited at start-up; its output:"
      cat "$LOG_FILE" >&2
      rm -f "$PID_FILE" "$PORT_FILE"
      exit 1
    fi
    if [ "$waited" -ge $((START_TIMEOUT_SECS * 10)) ]; then
      log "moto did not answer on port $port within ${START_TIMEOUT_SECS}s (log: $LOG_FILE)"
      stop
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  log "moto running (pid $pid) on http://127.0.0.1:$port (log: $LOG_FILE)"
  print_exports "$port"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE" "$PORT_FILE"
    log "not running"
    return
  fi
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE" "$PORT_FILE"
  log "stopped (pid $pid)"
}

status() {
  local pid
  if pid=$(running_pid); then
    echo "http://127.0.0.1:$(cat "$PORT_FILE") (pid $pid)"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
