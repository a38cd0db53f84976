#!/usr/bin/env bash
# Fuzzes the report parsers with cargo-fuzz (libFuzzer, nightly): each target for SECONDS (default 60), seeded
# with the project's fixtures and Amazon's sample reports, one input byte choosing the charset
# (shared::parse::parse_fuzz_input). A crash (panic, hang over 10 s, over 2 GB) is copied into
# shared/tests/fixtures/fuzz/<target>/, which the suite replays, and fails the run. Prints each target's
# executions.
#
#   tests/fuzz.sh [SECONDS] [TARGET...]      targets: all_orders_flat all_orders_xml actionable_orders fba_shipments
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(all_orders_flat all_orders_xml actionable_orders fba_shipments)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked --version 0.13.2

reference="${SELLERSYNC_REFERENCE_DIR:-$root/../shared/reference}"
fixtures=shared/tests/fixtures
seeds_of() {
  case "$1" in
    all_orders_flat) echo "$fixtures/report-all-orders.tsv" "$reference"/reports/airbyte-source-amazon-seller-partner/*.tsv ;;
    all_orders_xml) echo "$fixtures/report-all-orders.xml" "$reference"/reports/Amazon-MWS/*.xml ;;
    actionable_orders) echo "$fixtures/report-unshipped-orders.tsv" "$fixtures/report-legacy-orders.tsv" ;;
    fba_shipments) echo "$fixtures/report-fba-shipments.tsv" ;;
    *) echo "unknown target $1" >&2; return 1 ;;
  esac
  # Amazon's samples of the odd charsets, for every flat file.
  [ "$1" = all_orders_xml ] || echo "$reference"/reports/selling-partner-api/*.txt
}

status=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  artifacts="fuzz/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  # Each seed once per charset selector (0-5, see FUZZ_CONTENT_TYPES).
  for seed in $(seeds_of "$target"); do
    [ -f "$seed" ] || continue
    for selector in 0 1 2 3 4 5; do
      { printf "\\x0$selector"; cat "$seed"; } >"$corpus/seed-$selector-$(basename "$seed")"
    done
  done
  log="fuzz/artifacts/$target.log"
  echo "fuzzing $target for ${seconds}s" >&2
  if (cd fuzz && cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="artifacts/$target/") >"$log" 2>&1; then
    result="no crash"
  else
    result="CRASH"
    status=1
    mkdir -p "$fixtures/fuzz/$target"
    for crash in "$artifacts"/*; do
      [ -f "$crash" ] && cp "$crash" "$fixtures/fuzz/$target/" && echo "kept $fixtures/fuzz/$target/$(basename "$crash")" >&2
    done
    tail -40 "$log" >&2
  fi
  execs="$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -1)"
  corpus_size="$(find "$corpus" -type f | wc -l)"
  echo "$target: ${execs:-?} executions in ${seconds}s, corpus $corpus_size inputs, $result"
done
exit "$status"
