#!/usr/bin/env bash
# Inventory import, one call per organisation against one bulk call, whole processes:
#   bench/inventory.sh [ORGS]    (default 25000 organisations: about 1,000 inventories)
# Inputs come from the demo's generator (crates/demo/examples/generate.rs); each run starts
# from a fresh store holding the registry only. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
orgs=${1:-25000}
work=${BAKEN_BENCH_DIR:-/tmp/baken-inventory-bench}/$orgs
cargo build --release -q -p baken
cargo build --release -q -p baken-demo --example generate
target=${CARGO_TARGET_DIR:-target}/release
baken=$target/baken
if [ ! -d "$work/world/inventories" ]; then
  mkdir -p "$work/world"
  "$target/examples/generate" "$orgs" "$work/world" >/dev/null
fi
files=("$work"/world/inventories/*.csv)
n=${#files[@]}

fresh() {
  rm -rf "$work/data"
  "$baken" --data "$work/data" registry import "$work"/world/registry.* >/dev/null
}

seconds() { # runs "$@", prints its wall time in seconds
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}

loop() {
  for f in "${files[@]}"; do
    org=$(basename "$f" .csv)
    "$baken" --data "$work/data" inventory import "$org" "$f"
  done
}

fresh
one_by_one=$(seconds loop)
fresh
bulk=$(seconds "$baken" --data "$work/data" inventory import --dir "$work/world/inventories")
echo "| how | inventories | organisations in the registry | wall |"
echo "|---|---:|---:|---:|"
printf '| `baken inventory import ORG FILE`, once per file | %d | %d | %.2f s |\n' "$n" "$orgs" "$one_by_one"
printf '| `baken inventory import --dir DIR` | %d | %d | %.2f s |\n' "$n" "$orgs" "$bulk"
