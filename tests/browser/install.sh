#!/usr/bin/env bash
# Installs what the browser tests need, once and idempotently: Debian's chromium (and chromium-driver) from apt,
# and playwright-core (pinned in package-lock.json) into tests/browser/node_modules. Run by tests/run-tests.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

log() { echo "browser-install: $*" >&2; }

if ! command -v chromium >/dev/null 2>&1; then
  log "installing Debian's chromium and chromium-driver"
  apt_get() {
    if [ "$(id -u)" = 0 ]; then apt-get "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n apt-get "$@"
    else log "cannot install chromium: not root and no sudo"; return 1
    fi
  }
  apt_get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt_get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
fi

want="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/playwright-core"]["version"])' "$here/package-lock.json")"
have="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$here/node_modules/playwright-core/package.json" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  log "installing playwright-core $want"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
