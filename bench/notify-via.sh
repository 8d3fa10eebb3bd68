#!/usr/bin/env bash
# `baken notify` beyond one process: the first round after the day-1 ingest, on PostgreSQL,
# from one process and through NATS JetStream with 1 and 2 workers. Whole processes, wall
# clock from the shell, each on a fresh copy of the same store (registry, routing table and
# the day-1 file ingested), messages written to an outbox.
#
# Usage: bench/notify-via.sh [N_ROWS]      (default 1000000)
#
# Inputs are those of bench/scale-out.sh, made once in $BAKEN_BENCH_DIR/N/inputs (default
# /tmp/baken-ingest-bench). PostgreSQL and NATS are the local ones (BAKEN_BENCH_PG, default
# postgres://postgres@127.0.0.1:5432; BAKEN_BENCH_NATS, default nats://127.0.0.1:4222); the
# script makes and drops databases named baken_bench_notify_*. BAKEN_BENCH_REPEAT runs per
# configuration (default 2); BAKEN_BENCH_BIN uses that binary. Every configuration must write
# the same messages (their file names, the message keys); prints a Markdown table and writes
# it to bench/results/notify-via-N.md. Any failing step stops the script with a message and a
# non-zero exit.
set -euo pipefail

die() { echo "notify-via.sh: FAILED: $*" >&2; exit 1; }
log() { printf '\n== %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N_ROWS=${1:-1000000}
case "$N_ROWS" in '' | *[!0-9]*) die "N_ROWS must be a number, got '$N_ROWS'" ;; esac
REPEAT=${BAKEN_BENCH_REPEAT:-2}
PG=${BAKEN_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
NATS=${BAKEN_BENCH_NATS:-nats://127.0.0.1:4222}
SHARED=$ROOT/../shared
GEN_DATA=$SHARED/bench/intelmq/gen_data.py
GEN_MORE=$ROOT/bench/gen_ingest_inputs.py
export BAKEN_SHADOWSERVER_SCHEMA=${BAKEN_SHADOWSERVER_SCHEMA:-$SHARED/data/shadowserver/shadowserver-schema.json}
[ -f "$GEN_DATA" ] || die "not found: $GEN_DATA (the shared data must sit beside the clone)"
command -v psql >/dev/null || die "psql is needed to make the benchmark's databases"
[ -x /usr/bin/time ] || die "/usr/bin/time (Debian package 'time') is needed for CPU and peak RSS"

BASE=${BAKEN_BENCH_DIR:-/tmp/baken-ingest-bench}
WORK=$BASE/$N_ROWS
IN=$WORK/inputs
LOGS=$WORK/notify-via
rm -rf "$LOGS"
mkdir -p "$IN" "$LOGS" "$ROOT/bench/results"
DAY1=$IN/2026-03-24-scan_http_vulnerable-nl-geo-asn.csv
if [ ! -f "$IN/inputs.json" ] || [ ! -f "$DAY1" ]; then
  log "generating inputs: gen_data.py $N_ROWS, gen_ingest_inputs.py"
  python3 -B "$GEN_DATA" "$N_ROWS" "$IN" >&2
  python3 -B "$GEN_MORE" "$IN"
fi

if [ -n "${BAKEN_BENCH_BIN:-}" ]; then
  BAKEN=$BAKEN_BENCH_BIN
else
  log "cargo build --release -p baken"
  (cd "$ROOT" && cargo build --release -q -p baken) || die "build"
  BAKEN=${CARGO_TARGET_DIR:-$ROOT/target}/release/baken
fi
[ -x "$BAKEN" ] || die "no binary at $BAKEN"

QUEUE=benchn$$
psql_admin() { psql "$PG/postgres" -qAtX -v ON_ERROR_STOP=1 -c "$1" > /dev/null; }
cleanup() {
  for db in baken_bench_notify_setup baken_bench_notify_run; do
    psql "$PG/postgres" -qAtX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1 || true
  done
  pkill -f "worker --via $NATS --queue $QUEUE" 2>/dev/null || true
  # the run's queue leaves nothing on the server
  "$BAKEN" worker --via "$NATS" --queue "$QUEUE" --delete-queue > /dev/null 2>&1 || true
}
trap cleanup EXIT

log "set-up: registry, routing and the day-1 ingest into PostgreSQL (not timed)"
cleanup
SETUP=$LOGS/setup
psql_admin "CREATE DATABASE baken_bench_notify_setup"
S=(--data "$SETUP" --store "$PG/baken_bench_notify_setup")
"$BAKEN" "${S[@]}" registry import "$IN/registry.json" > /dev/null
"$BAKEN" "${S[@]}" registry import-routing "$IN/routing.tsv" > /dev/null
"$BAKEN" "${S[@]}" ingest "$DAY1" > /dev/null
# one pseudonym key for every run, as an installation has
head -c 32 /dev/urandom > "$LOGS/pseudonym.key"

RESULTS=$LOGS/results.tsv
printf 'config\trun\twall_s\tcpu_s\trss_kib\tworkers_cpu_s\tworker_rss_kib\tmessages\n' > "$RESULTS"

# one CONFIG RUN: a fresh copy of the ingested store, then the first notify round
one() {
  local config=$1 run=$2 data=$LOGS/$1-$2 workers=0 t0 t1 rc=0
  psql_admin "DROP DATABASE IF EXISTS baken_bench_notify_run WITH (FORCE)"
  psql_admin "CREATE DATABASE baken_bench_notify_run TEMPLATE baken_bench_notify_setup"
  mkdir -p "$data"
  cp "$LOGS/pseudonym.key" "$data/pseudonym.key"
  local store=(--store "$PG/baken_bench_notify_run")
  case "$config" in pg-1-worker) workers=1 ;; pg-2-workers) workers=2 ;; esac
  local via=() pids=()
  if [ "$workers" -gt 0 ]; then
    via=(--via "$NATS" --queue "$QUEUE")
    for w in $(seq 1 "$workers"); do
      /usr/bin/time -v -o "$data/worker-$w.time" "$BAKEN" --data "$data" "${store[@]}" \
        worker --via "$NATS" --queue "$QUEUE" --idle-exit 3 > "$data/worker-$w.out" 2>&1 &
      pids+=($!)
    done
    sleep 1
  fi
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$data/notify.time" "$BAKEN" --data "$data" "${store[@]}" notify \
    "${via[@]}" > "$data/notify.out" 2> "$data/notify.err" || rc=$?
  t1=$(date +%s%N)
  [ "$rc" -eq 0 ] || { tail -n 20 "$data/notify.err" >&2; die "$config run $run: notify exited $rc"; }
  local wcpu=0 wrss=0
  for p in "${pids[@]}"; do wait "$p" || die "$config run $run: a worker failed (see $data)"; done
  for w in $(seq 1 "$workers"); do
    wcpu=$(awk -v a="$wcpu" -F': ' '/User time|System time/ { a += $2 } END { print a }' "$data/worker-$w.time")
    wrss=$(awk -v a="$wrss" -F': ' '/Maximum resident set size/ { if ($2 > a) a = $2 } END { print a }' "$data/worker-$w.time")
  done
  local cpu rss wall messages
  cpu=$(awk -F': ' '/User time|System time/ { a += $2 } END { print a }' "$data/notify.time")
  rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$data/notify.time")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  ls "$data/outbox" | sort > "$data/messages.txt"
  messages=$(wc -l < "$data/messages.txt")
  [ "$messages" -gt 0 ] || die "$config run $run: no message written"
  if [ -f "$LOGS/messages.txt" ]; then
    cmp -s "$LOGS/messages.txt" "$data/messages.txt" \
      || die "$config run $run: other messages than the first run's (see $data/messages.txt)"
  else
    cp "$data/messages.txt" "$LOGS/messages.txt"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$config" "$run" "$wall" "$cpu" "$rss" "$wcpu" "$wrss" "$messages" >> "$RESULTS"
  printf '   %-13s run %s: %s s wall, %s messages, notify %s s CPU, workers %s s CPU\n' \
    "$config" "$run" "$wall" "$messages" "$cpu" "$wcpu" >&2
  rm -rf "$data/outbox"
  return 0
}

for run in $(seq 1 "$REPEAT"); do
  for config in pg-local pg-1-worker pg-2-workers; do
    log "$config, run $run of $REPEAT"
    one "$config" "$run"
  done
done

OUT=$ROOT/bench/results/notify-via-$N_ROWS.md
python3 - "$RESULTS" "$N_ROWS" "$(nproc)" "$("$BAKEN" --version)" > "$OUT" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
n = int(sys.argv[2])
what = {
    "pg-local": "`baken --store postgres://… notify` (one process)",
    "pg-1-worker": "`notify --via nats://…` + 1 `baken worker`",
    "pg-2-workers": "`notify --via nats://…` + 2 `baken worker`",
}
print(f"the first notify round after a day-1 ingest of {n:,} rows (PostgreSQL, messages to an outbox); {sys.argv[3]} cores; {sys.argv[4]}\n")
print("| configuration | wall, median (runs) | messages | coordinator CPU | workers' CPU | coordinator peak RSS | a worker's peak RSS |")
print("|---|---:|---:|---:|---:|---:|---:|")
for config in what:
    rs = [r for r in rows if r["config"] == config]
    if not rs:
        continue
    walls = [float(r["wall_s"]) for r in rs]
    med = statistics.median(walls)
    cpu = statistics.median(float(r["cpu_s"]) for r in rs)
    wcpu = statistics.median(float(r["workers_cpu_s"]) for r in rs)
    rss = statistics.median(int(r["rss_kib"]) for r in rs) / 1024
    wrss = statistics.median(int(r["worker_rss_kib"]) for r in rs) / 1024
    runs = ", ".join(f"{w:.1f}" for w in walls)
    worker = f"{wrss:.0f} MiB" if wrss else "—"
    print(f"| {what[config]} | {med:.1f} s ({runs}) | {rs[0]['messages']} | {cpu:.1f} s | {wcpu:.1f} s | {rss:.0f} MiB | {worker} |")
EOF
cat "$OUT"
