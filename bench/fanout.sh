#!/usr/bin/env bash
# The national fan-out as a user runs it: `baken demo citrix-2020 --orgs N --json`, a whole
# process under /usr/bin/time, for each binary given (the previous version beside this one),
# one after the other, on the same generated world (the demo's generator is seeded).
#
# Usage: bench/fanout.sh [ORGS] [BINARY...]   (default 1300000 and target/release/baken)
#
# For each binary and run: wall clock, peak RSS, the demo's own seconds from the feed received
# to the last digest sent, messages sent and organisations notified. Every binary must send
# the same number of messages to the same number of organisations. Work goes to
# $BAKEN_BENCH_DIR/fanout (default /tmp/baken-fanout-bench); BAKEN_BENCH_REPEAT runs per
# binary (default 1). Prints a Markdown table and writes it to bench/results/fanout-ORGS.md.
set -euo pipefail

die() { echo "fanout.sh: FAILED: $*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ORGS=${1:-1300000}
case "$ORGS" in '' | *[!0-9]*) die "ORGS must be a number, got '$ORGS'" ;; esac
shift || true
BINS=("$@")
[ ${#BINS[@]} -gt 0 ] || BINS=("$ROOT/target/release/baken")
REPEAT=${BAKEN_BENCH_REPEAT:-1}
WORK=${BAKEN_BENCH_DIR:-/tmp/baken-fanout-bench}/fanout
[ -x /usr/bin/time ] || die "/usr/bin/time (Debian package 'time') is needed for peak RSS"
for b in "${BINS[@]}"; do [ -x "$b" ] || die "not an executable: $b"; done

rows=()
expected=""
n=0
for b in "${BINS[@]}"; do
  for r in $(seq 1 "$REPEAT"); do
    n=$((n + 1))
    dir=$WORK/run-$n
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "fanout.sh: $b, run $r of $REPEAT, $ORGS organisations" >&2
    (cd "$dir" && /usr/bin/time -v "$b" --data "$dir/data" demo citrix-2020 --orgs "$ORGS" --json \
      >"$dir/summary.json" 2>"$dir/time.txt") || die "$b failed; see $dir/time.txt"
    row=$(python3 - "$dir" "$b" <<'EOF'
import json, re, sys
d, b = sys.argv[1], sys.argv[2]
s = json.load(open(f"{d}/summary.json"))
t = open(f"{d}/time.txt").read()
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1)
parts = [float(p) for p in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{b}\t{secs:.1f}\t{rss / 1024:.0f}\t{s['seconds_to_last_notification']:.1f}"
      f"\t{s['messages']}\t{s['notified_orgs']}\t{s['affected_orgs']}\t{s['incident_findings']}")
EOF
)
    rows+=("$row")
    got=$(cut -f5,6 <<<"$row")
    if [ -z "$expected" ]; then expected=$got; fi
    [ "$got" = "$expected" ] || die "$b sent $got (messages, organisations), the first run $expected"
  done
done

out=$ROOT/bench/results/fanout-$ORGS.md
mkdir -p "$(dirname "$out")"
{
  echo "\`baken demo citrix-2020 --orgs $ORGS --json\`, whole process, $(nproc) cores, $(date -u +%Y-%m-%d)"
  echo
  echo "| binary | wall | peak RSS | feed → last digest | messages | organisations notified | affected | findings |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for row in "${rows[@]}"; do
    IFS=$'\t' read -r b wall rss secs msgs notified affected findings <<<"$row"
    echo "| \`$b\` | $wall s | $rss MiB | $secs s | $msgs | $notified | $affected | $findings |"
  done
} | tee "$out"
