#!/usr/bin/env bash
# Checks infra/template.yaml the way CI does and builds the Lambda packages the way `sam deploy` ships them.
# Tools go into venvs of their own under .local/tools (installed once, pinned), apart from moto's venv, so SAM's
# boto3 pins never meet moto's.
#
#   tests/infra-check.sh install   install SAM CLI + cfn-lint, cargo-lambda + zig, the arm64 Rust target
#   tests/infra-check.sh lint      sam validate --lint and cfn-lint (offline)
#   tests/infra-check.sh build     sam build: an arm64 bootstrap per function in .aws-sam/build
#   tests/infra-check.sh sizes     each built function's zipped size (what Lambda stores; target <= 8 MB)
#   tests/infra-check.sh init      each function's init time: the same code built for this machine (release),
#                                  started against a fake Lambda Runtime API and the local stack (target < 50 ms)
#   tests/infra-check.sh all       all of the above, in that order
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.local/tools"
sam_venv="$tools/sam-venv"
lambda_venv="$tools/lambda-venv"
sam_version="1.170.0"
cargo_lambda_version="1.9.2"
ziglang_version="0.15.2"
template="infra/template.yaml"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# SAM CLI asks to send telemetry otherwise, and CI has no one to answer.
export SAM_CLI_TELEMETRY=0

log() { echo "infra-check: $*" >&2; }

install() {
  mkdir -p "$tools"
  # A marker file per pinned version: a changed pin reinstalls, an unchanged one costs nothing.
  if [ ! -f "$sam_venv/.installed-$sam_version" ]; then
    log "installing AWS SAM CLI $sam_version (with its cfn-lint)"
    rm -rf "$sam_venv"
    python3 -m venv "$sam_venv"
    "$sam_venv/bin/pip" install -q "aws-sam-cli==$sam_version"
    touch "$sam_venv/.installed-$sam_version"
  fi
  if [ ! -f "$lambda_venv/.installed-$cargo_lambda_version-$ziglang_version" ]; then
    log "installing cargo-lambda $cargo_lambda_version and zig $ziglang_version"
    rm -rf "$lambda_venv"
    python3 -m venv "$lambda_venv"
    "$lambda_venv/bin/pip" install -q "cargo-lambda==$cargo_lambda_version" "ziglang==$ziglang_version"
    # No `zig` shim needed: cargo-zigbuild falls back to `python3 -m ziglang`, the venv's python on PATH.
    touch "$lambda_venv/.installed-$cargo_lambda_version-$ziglang_version"
  fi
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    log "adding the Rust target aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu
  fi
}

lint() {
  install
  cd "$root"
  log "sam validate --lint"
  "$sam_venv/bin/sam" validate --lint --template-file "$template" --region us-east-1
  log "cfn-lint"
  # Informational checks too (retention, deletion policies): the template is clean of them, keep it so.
  "$sam_venv/bin/cfn-lint" --include-checks I -- "$template"
}

build() {
  install
  cd "$root"
  local start=$SECONDS
  log "sam build (arm64, release; the first build takes minutes)"
  PATH="$lambda_venv/bin:$PATH" "$sam_venv/bin/sam" build --template-file "$template" --build-dir .aws-sam/build
  log "sam build took $((SECONDS - start)) s"
  local missing=0 id
  for id in $(functions); do
    local bootstrap=".aws-sam/build/$id/bootstrap"
    if [ ! -x "$bootstrap" ]; then log "$id: no bootstrap at $bootstrap"; missing=1; continue; fi
    # ELF e_machine at offset 18: 0xB7 is AArch64.
    if [ "$(od -An -tx1 -j18 -N1 "$bootstrap" | tr -d ' ')" != b7 ]; then
      log "$id: $bootstrap is not an arm64 executable"; missing=1
    fi
  done
  return $missing
}

# Logical ids of the template's functions, from the built template (what sam build produced).
functions() {
  python3 - "$root/.aws-sam/build/template.yaml" <<'EOF'
import re, sys
# The built template is plain YAML with CloudFormation tags; a line scan avoids needing PyYAML here.
current = None
for line in open(sys.argv[1]):
    m = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
    if m:
        current = m.group(1)
    elif current and re.match(r"^    Type:\s*AWS::Serverless::Function\s*$", line):
        print(current)
EOF
}

sizes() {
  cd "$root"
  local id
  [ -f .aws-sam/build/template.yaml ] || { log "no sam build output; run $0 build first"; return 1; }
  for id in $(functions); do
    python3 - ".aws-sam/build/$id" "$id" <<'EOF'
import io, os, sys, zipfile
folder, name = sys.argv[1], sys.argv[2]
buffer = io.BytesIO()
# Lambda's zip: deflate at the default level, as `sam deploy` packages it.
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
    for base, _, files in os.walk(folder):
        for f in files:
            path = os.path.join(base, f)
            z.write(path, os.path.relpath(path, folder))
raw = sum(os.path.getsize(os.path.join(b, f)) for b, _, fs in os.walk(folder) for f in fs)
print(f"{name}: {buffer.tell() / 1e6:.2f} MB zipped ({raw / 1e6:.2f} MB unzipped)")
# The target, enforced: past it cold starts grow and the package nears Lambda's 50 MB zip limit.
if buffer.tell() > 8e6:
    sys.exit(f"{name}: {buffer.tell() / 1e6:.2f} MB zipped is over the 8 MB target")
EOF
  done
}

init() {
  cd "$root"
  local crates=() crate
  for crate in functions/*/Cargo.toml; do crates+=("$(basename "$(dirname "$crate")")"); done
  log "building ${crates[*]} (release, for this machine) and the bench"
  cargo build --release --quiet $(printf -- '-p %s ' "${crates[@]}")
  cargo build --quiet -p tests --bin init-bench
  local target
  target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  export SELLERSYNC_STACK_DIR="$root/.local/init-stack"
  tests/local-stack.sh start
  trap 'tests/local-stack.sh stop' EXIT
  # shellcheck disable=SC1091
  source "$SELLERSYNC_STACK_DIR/env"
  "$target/debug/init-bench" --runs "${INIT_RUNS:-15}" \
    $(for crate in "${crates[@]}"; do printf '%s=%s ' "$crate" "$target/release/$crate"; done)
}

case "${1:-}" in
  install) install ;;
  lint) lint ;;
  build) build ;;
  sizes) sizes ;;
  init) init ;;
  all) lint; build; sizes ;;
  *) echo "usage: $0 install|lint|build|sizes|init|all" >&2; exit 2 ;;
esac
