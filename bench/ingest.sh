#!/usr/bin/env bash
# `baken ingest` as a user runs it: whole processes, end to end, with IntelMQ in the same run.
#
# Usage: bench/ingest.sh [N_ROWS]        (default 1000000)
#
# 1. inputs, generated once per work dir ($BAKEN_BENCH_DIR/N/inputs, default
#    /tmp/baken-ingest-bench/N; regenerated only when a generator changed):
#    day 1 = ../shared/bench/intelmq/gen_data.py N (Shadowserver scan_http_vulnerable CSV,
#    2026-03-24-…, IPs in 198.18.0.0/15, plus prefixes.tsv); bench/gen_ingest_inputs.py then
#    derives day 2 (2026-03-25-…: one day later, ~10 % of the hosts fixed, ~5 % new rows), a
#    registry of 100,000 organisations (registry.json; ~70 % of the feed's addresses in a
#    registered network) and a routing table (routing.tsv: prefixes.tsv + 900,000 synthetic
#    IPv4 prefixes) — see that file's docstring;
# 2. builds `cargo build --release -p baken` (or takes the binary BAKEN_BENCH_BIN names);
# 3. sets up a data dir: `baken registry import` and `baken registry import-routing` (timed
#    once, not part of any ingest figure);
# 4. R times (BAKEN_BENCH_REPEAT): copies the set-up dir, runs `baken --data D ingest DAY1.csv`,
#    then `baken --data D ingest DAY2.csv` into the same store, each whole process under
#    /usr/bin/time -v (wall clock from the shell, user+sys CPU, peak RSS), and `du -sb D` after
#    each; then R times `baken parse --feed shadowserver --lenient --threads 1 DAY1.csv > /dev/null`
#    (--lenient: the rows IntelMQ keeps as events without `source.ip` are events here too, so
#    that parse makes IntelMQ's events, as before parse became strict by default);
# 5. with BAKEN_BENCH_10M=1: one day-1 ingest of gen_data.py 10,000,000 rows for its peak RSS
#    (the 2.4 GB CSV stays cached in $BAKEN_BENCH_DIR/10000000/inputs);
# 6. IntelMQ 3.5.0 end to end on M rows (../shared/bench/intelmq/run.sh M: parser →
#    asn_lookup → filter → file output, library mode);
# 7. prints the Markdown table (median of R and best) and writes it to bench/results/ingest-N.md.
# Any failing step (an ingest that exits non-zero or whose summary reads another number of
# rows than the file has, a failed build, a failed IntelMQ run) stops the script with a
# message and a non-zero exit.
#
# Environment: BAKEN_BENCH_DIR (default /tmp/baken-ingest-bench), BAKEN_BENCH_REPEAT (runs per
# measurement, default 3), BAKEN_BENCH_INTELMQ_ROWS (IntelMQ's M, default min(N, 100000): it
# needs ~8 min and ~13 GiB for 1 M rows; 0 skips IntelMQ), BAKEN_BENCH_10M=1 (the memory
# check; BAKEN_BENCH_BIG_ROWS changes its 10,000,000), BAKEN_BENCH_KEEP=1 (keep the stores of
# the timed runs), INTELMQ_BENCH_DIR (default /tmp/intelmq-bench, IntelMQ's venv and files),
# CARGO_TARGET_DIR (default target/), BAKEN_BENCH_BIN (use this baken binary, do not build),
# BAKEN_BENCH_ORGS / BAKEN_BENCH_ROUTES (input sizes).
set -euo pipefail

die() { echo "ingest.sh: FAILED: $*" >&2; exit 1; }
log() { printf '\n== %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N_ROWS=${1:-1000000}
case "$N_ROWS" in '' | *[!0-9]*) die "N_ROWS must be a number, got '$N_ROWS'" ;; esac
N_ROWS=$((10#$N_ROWS))
[ "$N_ROWS" -gt 0 ] || die "N_ROWS must be > 0"
REPEAT=${BAKEN_BENCH_REPEAT:-3}
case "$REPEAT" in '' | *[!0-9]* | 0) die "BAKEN_BENCH_REPEAT must be a number >= 1" ;; esac
IM_ROWS=${BAKEN_BENCH_INTELMQ_ROWS:-$((N_ROWS < 100000 ? N_ROWS : 100000))}
case "$IM_ROWS" in '' | *[!0-9]*) die "BAKEN_BENCH_INTELMQ_ROWS must be a number" ;; esac
BIG=${BAKEN_BENCH_10M:-0}
BIG_ROWS=${BAKEN_BENCH_BIG_ROWS:-10000000}
KEEP=${BAKEN_BENCH_KEEP:-0}

SHARED=$ROOT/../shared
GEN_DATA=$SHARED/bench/intelmq/gen_data.py
GEN_MORE=$ROOT/bench/gen_ingest_inputs.py
INTELMQ_SH=$SHARED/bench/intelmq/run.sh
for f in "$GEN_DATA" "$INTELMQ_SH"; do
  [ -f "$f" ] || die "not found: $f (the shared data must sit beside the clone)"
done
export BAKEN_SHADOWSERVER_SCHEMA=${BAKEN_SHADOWSERVER_SCHEMA:-$SHARED/data/shadowserver/shadowserver-schema.json}
[ -f "$BAKEN_SHADOWSERVER_SCHEMA" ] || die "Shadowserver schema not found: $BAKEN_SHADOWSERVER_SCHEMA"
export INTELMQ_BENCH_DIR=${INTELMQ_BENCH_DIR:-/tmp/intelmq-bench}

BASE=${BAKEN_BENCH_DIR:-/tmp/baken-ingest-bench}
mkdir -p "$BASE"
BASE=$(cd "$BASE" && pwd)
WORK=$BASE/$N_ROWS
LOGS=$WORK/logs
OUT_DIR=$ROOT/bench/results
mkdir -p "$WORK" "$OUT_DIR"
rm -rf "$LOGS"
mkdir -p "$LOGS"
DAY1_NAME=2026-03-24-scan_http_vulnerable-nl-geo-asn.csv
DAY2_NAME=2026-03-25-scan_http_vulnerable-nl-geo-asn.csv

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "needs root: $*"; fi
}
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (Debian package 'time') for peak RSS"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time
fi

# --- helpers ---------------------------------------------------------------------------------
# timed STEP RUN ROWS STDOUT_FILE CMD...: runs CMD (a whole process) under /usr/bin/time -v,
# wall clock measured here; appends "step run rows wall user sys rss_kib" to metrics.tsv.
# A non-zero exit stops the script with the end of the command's standard error.
METRICS=$LOGS/metrics.tsv
printf 'step\trun\trows\twall_s\tuser_s\tsys_s\trss_kib\n' > "$METRICS"
timed() {
  local step=$1 run=$2 rows=$3 out=$4
  shift 4
  local tfile=$LOGS/$step-$run.time err=$LOGS/$step-$run.err rc=0 t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -v -o "$tfile" "$@" > "$out" 2> "$err" || rc=$?
  t1=$(date +%s%N)
  if [ "$rc" -ne 0 ]; then
    { echo "--- standard error of: $*"; tail -n 20 "$err"; grep -E '^Command (exited|terminated)' "$tfile"; } >&2
    die "$step (run $run) exited with status $rc: $*"
  fi
  local user sys rss
  user=$(sed -n 's/^[[:space:]]*User time (seconds): //p' "$tfile")
  sys=$(sed -n 's/^[[:space:]]*System time (seconds): //p' "$tfile")
  rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tfile")
  [ -n "$user" ] && [ -n "$sys" ] && [ -n "$rss" ] || die "cannot read $tfile"
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$step" "$run" "$rows" "$wall" "$user" "$sys" "$rss" >> "$METRICS"
  printf '   %-14s run %s: %s s wall, %s s user, %s s sys, %s KiB peak RSS\n' \
    "$step" "$run" "$wall" "$user" "$sys" "$rss" >&2
}
DISK=$LOGS/disk.tsv
printf 'point\trun\tbytes\n' > "$DISK"
disk() {   # disk POINT RUN DIR: everything in the data dir (baken.db, -wal, -shm, outbox, …)
  local b
  b=$(du -sb "$3" | cut -f1)
  printf '%s\t%s\t%s\n' "$1" "$2" "$b" >> "$DISK"
  ls -la "$3" > "$LOGS/files-$1-$2.txt"
}
# check_ingest OUT EXPECTED_ROWS: the summary must account for every row of the file
check_ingest() {
  local line nread
  line=$(grep -E 'read [0-9]+ = stored [0-9]+' "$1" | head -n 1 || true)
  if [ -z "$line" ]; then
    echo "   warning: no 'read N = stored …' summary in $1; rows not reconciled" >&2
    return 0
  fi
  nread=$(sed -E 's/.*read ([0-9]+) = .*/\1/' <<< "$line")
  [ "$nread" -eq "$2" ] || die "baken ingest read $nread rows of a file with $2: $line"
  echo "   ${line##*: }" >&2
}
# inputs DIR ROWS [all]: gen_data.py ROWS into DIR (+ gen_ingest_inputs.py with 'all'), once
stamp_of() { cat "$@" | sha256sum | cut -c1-16; }
inputs() {
  local dir=$1 rows=$2 want
  mkdir -p "$dir"
  want="$(stamp_of "$GEN_DATA") $rows"
  if [ "$(cat "$dir/day1.ok" 2>/dev/null)" != "$want" ]; then
    log "generating day 1: gen_data.py $rows $dir"
    rm -f "$dir/day1.ok" "$dir/inputs.ok"
    python3 -B "$GEN_DATA" "$rows" "$dir" >&2
    echo "$want" > "$dir/day1.ok"
  fi
  [ "${3:-}" = all ] || return 0
  want="$(stamp_of "$GEN_DATA" "$GEN_MORE") $rows ${BAKEN_BENCH_ORGS:-} ${BAKEN_BENCH_ROUTES:-}"
  if [ "$(cat "$dir/inputs.ok" 2>/dev/null)" != "$want" ]; then
    log "generating day 2, registry and routing table: gen_ingest_inputs.py $dir"
    python3 -B "$GEN_MORE" "$dir"
    echo "$want" > "$dir/inputs.ok"
  fi
}

# --- 1. inputs -------------------------------------------------------------------------------
IN=$WORK/inputs
inputs "$IN" "$N_ROWS" all
DAY1=$IN/$DAY1_NAME
DAY2=$IN/$DAY2_NAME
DAY2_ROWS=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["day2_rows"])' "$IN/inputs.json")
ORGS=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["organisations"])' "$IN/inputs.json")
ROUTES=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["routes"])' "$IN/inputs.json")

# --- 2. build --------------------------------------------------------------------------------
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD 2>/dev/null || COMMIT=$COMMIT-dirty
if [ -n "${BAKEN_BENCH_BIN:-}" ]; then
  BAKEN=$(cd "$(dirname "$BAKEN_BENCH_BIN")" && pwd)/$(basename "$BAKEN_BENCH_BIN")
  [ -x "$BAKEN" ] || die "BAKEN_BENCH_BIN is not an executable: $BAKEN_BENCH_BIN"
  log "not building: BAKEN_BENCH_BIN=$BAKEN"
  COMMIT="$COMMIT (binary given: $BAKEN, $("$BAKEN" --version))"
else
  log "building baken (cargo build --release -p baken)"
  (cd "$ROOT" && cargo build --release -q -p baken) || die "cargo build --release -p baken failed"
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
  BAKEN=$TARGET/release/baken
  [ -x "$BAKEN" ] || die "not built: $BAKEN"
fi
cd "$WORK"   # baken runs from the work dir, as a user's shell would (nothing lands in the clone)

# --- 3. set-up data dir (not part of the ingest figures) -------------------------------------
log "set-up: registry import ($ORGS organisations), import-routing ($ROUTES prefixes)"
SETUP=$WORK/setup
rm -rf "$SETUP"
timed registry-import 1 "$ORGS" "$LOGS/registry-import-1.out" \
  "$BAKEN" --data "$SETUP" registry import "$IN/registry.json"
timed import-routing 1 "$ROUTES" "$LOGS/import-routing-1.out" \
  "$BAKEN" --data "$SETUP" registry import-routing "$IN/routing.tsv"
disk setup 1 "$SETUP"

# --- 4. timed: ingest day 1 into a fresh copy, day 2 into the same store; parse ---------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "ingest: $REPEAT runs of day 1 ($N_ROWS rows, fresh store) then day 2 ($DAY2_ROWS rows)"
for r in $(seq 1 "$REPEAT"); do
  D=$WORK/store-$r
  rm -rf "$D"
  cp -a "$SETUP" "$D"
  timed ingest-day1 "$r" "$N_ROWS" "$LOGS/ingest-day1-$r.out" "$BAKEN" --data "$D" ingest "$DAY1"
  check_ingest "$LOGS/ingest-day1-$r.out" "$N_ROWS"
  disk day1 "$r" "$D"
  timed ingest-day2 "$r" "$DAY2_ROWS" "$LOGS/ingest-day2-$r.out" "$BAKEN" --data "$D" ingest "$DAY2"
  check_ingest "$LOGS/ingest-day2-$r.out" "$DAY2_ROWS"
  disk day2 "$r" "$D"
  if [ "$KEEP" != 1 ] && [ "$r" -lt "$REPEAT" ]; then rm -rf "$D"; fi
done
log "parse: $REPEAT runs of baken parse --feed shadowserver --lenient --threads 1 day 1 > /dev/null"
for r in $(seq 1 "$REPEAT"); do
  # --lenient: IntelMQ's events (see the header); a rejected row fails the run
  timed parse "$r" "$N_ROWS" /dev/null "$BAKEN" parse --feed shadowserver --lenient --threads 1 "$DAY1"
done

# --- 5. memory check at 10 M rows --------------------------------------------------------------
BIG_JSON=null
if [ "$BIG" = 1 ]; then
  BIG_IN=$BASE/$BIG_ROWS/inputs
  inputs "$BIG_IN" "$BIG_ROWS"
  log "memory check: ingest of $BIG_ROWS rows (day 1) into a fresh copy of the set-up store"
  D=$WORK/store-big
  rm -rf "$D"
  cp -a "$SETUP" "$D"
  timed ingest-big 1 "$BIG_ROWS" "$LOGS/ingest-big-1.out" "$BAKEN" --data "$D" ingest "$BIG_IN/$DAY1_NAME"
  check_ingest "$LOGS/ingest-big-1.out" "$BIG_ROWS"
  disk big 1 "$D"
  [ "$KEEP" = 1 ] || rm -rf "$D"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
[ "$KEEP" = 1 ] || rm -rf "$WORK/store-$REPEAT"

# --- 6. IntelMQ end to end on M rows -----------------------------------------------------------
IM_JSON=
if [ "$IM_ROWS" -gt 0 ]; then
  log "IntelMQ: $INTELMQ_SH $IM_ROWS (log: $LOGS/intelmq.log)"
  IM_JSON=$INTELMQ_BENCH_DIR/results/inprocess-$IM_ROWS.json
  rm -f "$IM_JSON"
  /usr/bin/time -v -o "$LOGS/intelmq.time" bash "$INTELMQ_SH" "$IM_ROWS" > "$LOGS/intelmq.log" 2>&1 \
    || { tail -n 20 "$LOGS/intelmq.log" >&2; die "IntelMQ run failed: $INTELMQ_SH $IM_ROWS"; }
  [ -f "$IM_JSON" ] || die "IntelMQ results missing: $IM_JSON"
fi

# --- 7. table ----------------------------------------------------------------------------------
python3 - "$METRICS" "$DISK" "$IN/inputs.json" "$LOGS" "${IM_JSON:-}" "$N_ROWS" "$REPEAT" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$(nproc)" "$COMMIT" "$BIG" "$DAY1_NAME" "$DAY2_NAME" \
  "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" <<'EOF' | tee "$OUT_DIR/ingest-$N_ROWS.md"
import csv, json, os, re, statistics, sys
(metrics, disk, inputs_json, logs, im_json, n, repeat, load0, load1, nproc, commit, big,
 day1_name, day2_name, cpu) = sys.argv[1:]
n = int(n)
inp = json.load(open(inputs_json))
runs = {}
for r in csv.DictReader(open(metrics), delimiter='\t'):
    runs.setdefault(r['step'], []).append(r)
sizes = {}
for r in csv.DictReader(open(disk), delimiter='\t'):
    sizes.setdefault(r['point'], []).append(int(r['bytes']))

def fmt(x, d=0):
    return f'{x:,.{d}f}'

def stats(step):
    rs = runs[step]
    rows = int(rs[0]['rows'])
    wall = [float(r['wall_s']) for r in rs]
    cpu = [float(r['user_s']) + float(r['sys_s']) for r in rs]
    rss = [int(r['rss_kib']) * 1024 / 1e6 for r in rs]   # MB
    w = statistics.median(wall)
    c = statistics.median(cpu)
    return {'rows': rows, 'wall': w, 'best_wall': min(wall), 'rate': rows / w,
            'best': rows / min(wall), 'cpu': c, 'per_cpu': rows / c if c > 0 else float('inf'),
            'rss': max(rss), 'n': len(rs)}

def summary(step):
    out = []
    for k in range(1, len(runs.get(step, [])) + 1):
        text = open(os.path.join(logs, f'{step}-{k}.out')).read()
        m = re.search(r'read (\d+) = stored (\d+) \+ duplicate (\d+) \+ quarantined (\d+)', text)
        out.append(m.groups() if m else None)
    return out[-1] if out else None

def yes(ok):
    return 'yes' if ok else '**no**'

d1, d2, pa = stats('ingest-day1'), stats('ingest-day2'), stats('parse')
setup_b = sizes['setup'][0]
b1 = statistics.median(sizes['day1'])
b2 = statistics.median(sizes['day2'])
rows2 = n + d2['rows']
bpr1, bpr2 = b1 / n, b2 / rows2
inc1, inc2 = (b1 - setup_b) / n, (b2 - setup_b) / rows2
ratio_parse = d1['rate'] / pa['rate']
im = json.load(open(im_json)) if im_json else None

def ingest_goals(s, bpr, rate_goal, rate_label):
    one_core = s['rate'] >= rate_goal and s['per_cpu'] >= rate_goal
    return (f"{rate_label}: {yes(one_core)}; ≤ 150 MB: {yes(s['rss'] <= 150)}; "
            f"≤ 200 B/row: {yes(bpr <= 200)}")

name1 = day1_name.replace('.csv', '')
print(f'### `baken ingest` end to end, {n:,} rows (commit {commit}, median of {repeat} runs)\n')
print('| what a user runs | rows | rows/s: median (best) | wall s | CPU s (user+sys) | rows per CPU-s '
      '| peak RSS | bytes on disk per row (growth over set-up) | goals met? |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---|')
def line(cmd, s, disk_cell, goals):
    print(f"| {cmd} | {s['rows']:,} | **{fmt(s['rate'])}** ({fmt(s['best'])}) | {s['wall']:.2f} "
          f"| {s['cpu']:.2f} | {fmt(s['per_cpu'])} | {s['rss']:,.1f} MB | {disk_cell} | {goals} |")
line(f'`baken --data D ingest {day1_name}` (day 1, fresh store)', d1,
     f'{fmt(bpr1)} ({fmt(inc1)})',
     ingest_goals(d1, bpr1, 250000, '≥ 250,000 rows/s on one core'))
line(f'`baken --data D ingest {day2_name}` (day 2, same store)', d2,
     f'{fmt(bpr2)} ({fmt(inc2)}), both days',
     ingest_goals(d2, bpr2, d1['rate'], f"at least as fast as day 1 ({d2['rate'] / d1['rate']:.0%})"))
line(f'`baken parse --feed shadowserver --lenient --threads 1 {day1_name} > /dev/null`', pa, '—',
     f'ingest day 1 ≥ 50 % of parse: {yes(ratio_parse >= 0.5)} ({ratio_parse:.0%})')
if im:
    rss_mb = im.get('max_rss_mb')
    tfile = os.path.join(logs, 'intelmq.time')
    m = re.search(r'Maximum resident set size \(kbytes\): (\d+)', open(tfile).read())
    if m:
        rss_mb = max(rss_mb or 0, int(m.group(1)) * 1024 / 1e6)
    ime = im['end_to_end_events_per_s']
    print(f"| IntelMQ {im['intelmq_version']} end to end (library mode: parser → asn_lookup → filter → "
          f"file output; `run.sh {im['rows']}`, **M = {im['rows']:,} rows** of gen_data.py) "
          f"| {im['rows']:,} | **{fmt(ime)}** | {im['end_to_end_seconds']:.2f} | | | {rss_mb:,.0f} MB | — "
          f"| baken ingest ÷ IntelMQ: **{d1['rate'] / ime:,.1f}x** |")
else:
    print('| IntelMQ end to end | not run (BAKEN_BENCH_INTELMQ_ROWS=0) | | | | | | | |')
if big == '1':
    b = stats('ingest-big')
    bb = sizes['big'][0]
    line(f'`baken --data D ingest` gen_data.py {b["rows"]:,} rows (memory check, 1 run)', b,
         f"{fmt(bb / b['rows'])} ({fmt((bb - setup_b) / b['rows'])})",
         f"≤ 150 MB: {yes(b['rss'] <= 150)}; flat: {b['rss']:,.1f} MB vs {d1['rss']:,.1f} MB at {n:,} rows")
for step, label, unit in (('registry-import', f'set-up: `baken --data D registry import registry.json`', 'organisations'),
                          ('import-routing', f'set-up: `baken --data D registry import-routing routing.tsv`', 'prefixes')):
    s = stats(step)
    print(f"| {label} ({unit}; once, outside the figures above) | {s['rows']:,} | {fmt(s['rate'])} "
          f"| {s['wall']:.2f} | {s['cpu']:.2f} | | {s['rss']:,.1f} MB | | |")
print()
print(f"Each figure is a whole `baken` process as a user runs it (start-up, opening the store, "
      f"loading the registry and routing table, parsing, attributing, storing, committing), under "
      f"`/usr/bin/time -v` (CPU seconds, peak RSS), wall clock from the shell; median of {repeat} runs, "
      f"best = fastest run; peak RSS = the highest of the runs. Each day-1 run starts from a fresh copy "
      f"of the set-up data dir (registry and routing imported once); day 2 goes into the store day 1 "
      f"left. 'On one core' holds when both rows/s and rows per CPU-second reach the goal. "
      f"MB = 10^6 bytes.")
print()
s1, s2 = summary('ingest-day1'), summary('ingest-day2')
def recon(s):
    return f'read {int(s[0]):,} = stored {int(s[1]):,} + duplicate {int(s[2]):,} + quarantined {int(s[3]):,}' if s else 'summary line not recognised'
print(f'- Ingest summaries (last run): day 1 {recon(s1)}; day 2 {recon(s2)}.')
print(f"- Ratios: ingest day 1 ÷ parse (one thread) = **{ratio_parse:.0%}** (goal ≥ 50 %); "
      f"day 2 ÷ day 1 = {d2['rate'] / d1['rate']:.0%}" +
      (f"; baken ingest ÷ IntelMQ end to end = **{d1['rate'] / im['end_to_end_events_per_s']:,.1f}x** "
       f"(IntelMQ on M = {im['rows']:,} rows, without storage; baken on {n:,} rows, stored)." if im else '.'))
print(f"- Data dir on disk (`du -sb`, every file): set-up {setup_b / 1e6:,.1f} MB (registry + routing), "
      f"after day 1 {b1 / 1e6:,.1f} MB = {fmt(bpr1)} B/row ({fmt(inc1)} B/row over the set-up), "
      f"after day 2 {b2 / 1e6:,.1f} MB = {fmt(bpr2)} B/row over {rows2:,} rows ({fmt(inc2)} over the set-up).")
c1 = inp['day1_in_registered_network']['share_rows']
print(f"- Inputs: day 1 = gen_data.py {n:,} rows; day 2 = {inp['day2_rows']:,} rows "
      f"({inp['day2_rows_dropped']:,} of day 1's dropped, {inp['day2_rows_new']:,} new: "
      f"{inp['new_rows_new_address']:,} on new addresses, {inp['new_rows_new_finding']:,} new findings on "
      f"known ones); registry {inp['organisations']:,} organisations ({inp['vital']:,} vital, "
      f"{inp['networks']:,} networks holding {c1:.0%} of day 1's rows); routing table "
      f"{inp['routes']:,} prefixes.")
print(f'- Machine: {nproc} cores ({cpu}); load average (1/5/15 min) before the timed runs: {load0}; '
      f'after: {load1}. Commit {commit}.')
EOF
log "written: $OUT_DIR/ingest-$N_ROWS.md (raw figures: $LOGS)"
