#!/usr/bin/env bash
# Fuzzes sellersync's HTTP API with schemathesis (PyPI), generating requests from infra/openapi.yaml and checking
# every answer: no 5xx, status codes, content types, headers and bodies as documented, bad input refused.
#
#   tests/api-fuzz.sh URL [schemathesis options...]   fuzz the API served at URL (a local runner's, loopback)
#   tests/api-fuzz.sh [schemathesis options...]       serve one with tests/src/bin/api-serve.rs first, over the
#                                                      local stack in the environment or one of its own
#
# schemathesis goes into its own venv under .local/tools (installed once, idempotently). FUZZ_MAX_TIME (seconds,
# default 120) bounds the run; extra options go to `schemathesis run`, e.g. --max-failures 1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.local/tools/venv-schemathesis"
version="4.32.5"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { echo "api-fuzz: $*" >&2; }

if ! "$venv/bin/st" --version 2>/dev/null | grep -q "version $version\$"; then
  log "installing schemathesis $version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

url="${API_URL:-}"
if [ $# -gt 0 ] && [[ "$1" == http://* ]]; then url="$1"; shift; fi
case "$url" in
  "" | http://127.* | http://localhost*) ;;
  *) log "refusing $url: fuzzing only ever targets a loopback address"; exit 2 ;;
esac

server=""
own_stack=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$own_stack" ] && "$root/tests/local-stack.sh" stop || true
}
trap cleanup EXIT
if [ -z "$url" ]; then
  if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
    # No local stack in the environment: start one of its own, and stop it again at the end.
    export SELLERSYNC_STACK_DIR="$root/.local/fuzz-stack"
    "$root/tests/local-stack.sh" start
    own_stack=1
    # shellcheck disable=SC1091
    source "$SELLERSYNC_STACK_DIR/env"
  fi
  log "no URL given: serving the API with api-serve"
  (cd "$root" && cargo build -q -p tests --bin api-serve)
  target="$(cd "$root" && cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  out="$(mktemp)"
  "$target/debug/api-serve" >"$out" 2>&1 &
  server=$!
  for _ in $(seq 300); do
    url="$(head -1 "$out" | grep '^http://' || true)"
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { log "api-serve exited:"; cat "$out" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$url" ] || { log "api-serve did not start"; exit 1; }
fi

log "fuzzing $url"
# Authorization is IAM at API Gateway, not in the router served here: a placeholder header stands in for the
# SigV4 signature, and `ignored_auth` and `missing_required_header` (the signature is the only required header)
# are not checked. Neither is `positive_data_acceptance`: schema-valid requests mostly name accounts that do
# not exist, rightly answered 404. Nor `ensure_resource_availability`: schemathesis reuses Idempotency-Key
# values across requests, so a `POST /accounts` repeated under its first key after that account was deleted
# answers the first 201 again, as the idempotency contract says, for an account that is gone.
# Run from .local, where schemathesis keeps its cache, so the work tree stays clean.
cd "$root/.local"
"$venv/bin/st" run "$root/infra/openapi.yaml" \
  --url "$url" \
  --header "Authorization: AWS4-HMAC-SHA256 Credential=local-fuzzing" \
  --checks all \
  --exclude-checks ignored_auth,missing_required_header,positive_data_acceptance,ensure_resource_availability \
  --workers 1 \
  --max-time "${FUZZ_MAX_TIME:-120}" \
  --request-timeout 30 \
  "$@"
