#!/usr/bin/env bash
# `baken ingest` beyond one process: the same day-1 file into the embedded SQLite store, into
# PostgreSQL from one process, and into PostgreSQL through NATS JetStream with 1 and 2
# workers. Whole processes, wall clock from the shell, each on a fresh store holding the
# same registry and routing table.
#
# Usage: bench/scale-out.sh [N_ROWS]      (default 1000000)
#
# Inputs are those of bench/ingest.sh (../shared/bench/intelmq/gen_data.py N, then
# bench/gen_ingest_inputs.py: a registry of 100,000 organisations and 900,000 routes), made
# once in $BAKEN_BENCH_DIR/N/inputs (default /tmp/baken-ingest-bench). PostgreSQL and NATS are
# the local ones (BAKEN_BENCH_PG, default postgres://postgres@127.0.0.1:5432; BAKEN_BENCH_NATS,
# default nats://127.0.0.1:4222); the script makes and drops databases named baken_bench_*.
# BAKEN_BENCH_REPEAT runs per configuration (default 2); BAKEN_BENCH_BIN uses that binary.
# Prints a Markdown table and writes it to bench/results/scale-out-N.md. Any failing step
# stops the script with a message and a non-zero exit.
set -euo pipefail

die() { echo "scale-out.sh: FAILED: $*" >&2; exit 1; }
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
LOGS=$WORK/scale-out
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

psql_admin() { psql "$PG/postgres" -qAtX -v ON_ERROR_STOP=1 -c "$1" > /dev/null; }
cleanup() {
  for db in baken_bench_setup baken_bench_run; do
    psql "$PG/postgres" -qAtX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1 || true
  done
  pkill -f "worker --via $NATS --queue benchq$$" 2>/dev/null || true
  # the run's queue leaves nothing on the server
  [ -n "${BAKEN:-}" ] && "$BAKEN" worker --via "$NATS" --queue "benchq$$" --delete-queue > /dev/null 2>&1 || true
}
trap cleanup EXIT

log "set-up: registry and routing into SQLite and into PostgreSQL (not timed)"
SETUP=$LOGS/setup-sqlite
"$BAKEN" --data "$SETUP" registry import "$IN/registry.json" > /dev/null
"$BAKEN" --data "$SETUP" registry import-routing "$IN/routing.tsv" > /dev/null
cleanup
psql_admin "CREATE DATABASE baken_bench_setup"
"$BAKEN" --data "$LOGS/setup-pg" --store "$PG/baken_bench_setup" registry import "$IN/registry.json" > /dev/null
"$BAKEN" --data "$LOGS/setup-pg" --store "$PG/baken_bench_setup" registry import-routing "$IN/routing.tsv" > /dev/null

RESULTS=$LOGS/results.tsv
printf 'config\trun\twall_s\tcpu_s\trss_kib\tworkers_cpu_s\n' > "$RESULTS"

# one CONFIG RUN: a fresh store, then the day-1 ingest as CONFIG says
one() {
  local config=$1 run=$2 data=$LOGS/$1-$2 store=() workers=0 t0 t1 rc=0
  case "$config" in
    sqlite-local) cp -r "$SETUP" "$data" ;;
    *)
      psql_admin "DROP DATABASE IF EXISTS baken_bench_run WITH (FORCE)"
      psql_admin "CREATE DATABASE baken_bench_run TEMPLATE baken_bench_setup"
      mkdir -p "$data"
      store=(--store "$PG/baken_bench_run")
      ;;
  esac
  case "$config" in pg-1-worker) workers=1 ;; pg-2-workers) workers=2 ;; esac
  local via=() pids=()
  if [ "$workers" -gt 0 ]; then
    via=(--via "$NATS" --queue "benchq$$")
    for w in $(seq 1 "$workers"); do
      /usr/bin/time -v -o "$data/worker-$w.time" "$BAKEN" --data "$data" "${store[@]}" \
        worker --via "$NATS" --queue "benchq$$" --idle-exit 3 > "$data/worker-$w.out" 2>&1 &
      pids+=($!)
    done
    sleep 1
  fi
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$data/ingest.time" "$BAKEN" --data "$data" "${store[@]}" ingest \
    "${via[@]}" "$DAY1" > "$data/ingest.out" 2> "$data/ingest.err" || rc=$?
  t1=$(date +%s%N)
  [ "$rc" -eq 0 ] || { tail -n 20 "$data/ingest.err" >&2; die "$config run $run: ingest exited $rc"; }
  grep -qE "read $N_ROWS = stored" "$data/ingest.out" || die "$config run $run: the summary does not read $N_ROWS rows: $(head -c 300 "$data/ingest.out")"
  local wcpu=0
  for p in "${pids[@]}"; do wait "$p" || die "$config run $run: a worker failed (see $data)"; done
  for w in $(seq 1 "$workers"); do
    wcpu=$(awk -v a="$wcpu" -F': ' '/User time|System time/ { a += $2 } END { print a }' "$data/worker-$w.time")
  done
  local cpu rss
  cpu=$(awk -F': ' '/User time|System time/ { a += $2 } END { print a }' "$data/ingest.time")
  rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$data/ingest.time")
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$config" "$run" "$wall" "$cpu" "$rss" "$wcpu" >> "$RESULTS"
  printf '   %-13s run %s: %s s wall, ingest %s s CPU, workers %s s CPU\n' "$config" "$run" "$wall" "$cpu" "$wcpu" >&2
  [ "$config" = sqlite-local ] && rm -rf "$data"
  return 0
}

for run in $(seq 1 "$REPEAT"); do
  for config in sqlite-local pg-local pg-1-worker pg-2-workers; do
    log "$config, run $run of $REPEAT"
    one "$config" "$run"
  done
done

OUT=$ROOT/bench/results/scale-out-$N_ROWS.md
python3 - "$RESULTS" "$N_ROWS" "$(nproc)" "$("$BAKEN" --version)" > "$OUT" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
n = int(sys.argv[2])
what = {
    "sqlite-local": "`baken ingest DAY1.csv` (SQLite, one process)",
    "pg-local": "`baken --store postgres://… ingest DAY1.csv` (one process)",
    "pg-1-worker": "`ingest --via nats://…` + 1 `baken worker` (PostgreSQL)",
    "pg-2-workers": "`ingest --via nats://…` + 2 `baken worker` (PostgreSQL)",
}
print(f"{n:,} rows, day 1, fresh store with the registry and routing table; {sys.argv[3]} cores; {sys.argv[4]}\n")
print("| configuration | wall, median (runs) | rows/s | coordinator CPU | workers' CPU | coordinator peak RSS |")
print("|---|---:|---:|---:|---:|---:|")
for config in what:
    rs = [r for r in rows if r["config"] == config]
    if not rs:
        continue
    walls = [float(r["wall_s"]) for r in rs]
    med = statistics.median(walls)
    cpu = statistics.median(float(r["cpu_s"]) for r in rs)
    wcpu = statistics.median(float(r["workers_cpu_s"]) for r in rs)
    rss = statistics.median(int(r["rss_kib"]) for r in rs) / 1024
    runs = ", ".join(f"{w:.1f}" for w in walls)
    print(f"| {what[config]} | {med:.1f} s ({runs}) | {n / med:,.0f} | {cpu:.1f} s | {wcpu:.1f} s | {rss:.0f} MiB |")
EOF
cat "$OUT"
