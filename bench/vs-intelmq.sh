#!/usr/bin/env bash
# Side-by-side benchmark: IntelMQ 3.5.0 and baken on the very same input.
#
# Usage: bench/vs-intelmq.sh [N_ROWS]        (default 100000)
#
# 1. runs ../shared/bench/intelmq/run.sh N_ROWS: generates the synthetic Shadowserver
#    scan_http_vulnerable CSV and the prefix table, and times IntelMQ (parser -> asn_lookup ->
#    filter -> file output, library mode) with peak RSS from /usr/bin/time -v;
# 2. builds baken's example `vs_intelmq` in release and runs it on the same files: the same
#    stages with the product's parser, routing lookup and JSON lines writer (per-stage figures
#    on one core, end to end on one and on two threads), and once more end to end on one thread
#    under /usr/bin/time -v for its peak RSS;
# 3. runs `baken ingest` on the same CSV into a fresh store holding the same prefix table
#    (whole process under /usr/bin/time -v: parse → attribute → store, the product's end to
#    end as a user runs it);
# 4. checks that both outputs hold the same events (count and set of source.ip/source.asn);
# 5. prints the table (events/s per stage and end to end, `baken ingest` beside them, peak
#    RSS, ratio) and writes it to bench/results/vs-intelmq-N.md.
#
# Environment: INTELMQ_BENCH_DIR (default /tmp/intelmq-bench), CARGO_TARGET_DIR (default
# target/), BAKEN_BENCH_REPEAT (runs per baken stage, fastest kept; default 5).
set -euo pipefail

die() { echo "vs-intelmq.sh: $*" >&2; exit 1; }
log() { printf '\n== %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N_ROWS=${1:-100000}
case "$N_ROWS" in '' | *[!0-9]*) die "N_ROWS must be a number, got '$N_ROWS'" ;; esac
REPEAT=${BAKEN_BENCH_REPEAT:-5}
INTELMQ_SH=$ROOT/../shared/bench/intelmq/run.sh
[ -x "$INTELMQ_SH" ] || [ -f "$INTELMQ_SH" ] || die "not found: $INTELMQ_SH (the shared data must sit beside the clone)"
export INTELMQ_BENCH_DIR=${INTELMQ_BENCH_DIR:-/tmp/intelmq-bench}
OUT_DIR=$ROOT/bench/results
mkdir -p "$OUT_DIR"

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

# peak RSS in KiB from /usr/bin/time -v output
peak_rss() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 1. IntelMQ ----------------------------------------------------------------------------
log "IntelMQ: $INTELMQ_SH $N_ROWS"
/usr/bin/time -v -o "$OUT_DIR/intelmq-time-$N_ROWS.txt" bash "$INTELMQ_SH" "$N_ROWS" \
  | tee "$OUT_DIR/intelmq-$N_ROWS.log" >&2
. "$INTELMQ_BENCH_DIR/inputs.env"
INTELMQ_JSON=$INTELMQ_BENCH_DIR/results/inprocess-$N_ROWS.json
INTELMQ_OUT=$INTELMQ_BENCH_DIR/run/inprocess-events.txt
[ -f "$INTELMQ_JSON" ] || die "IntelMQ results missing: $INTELMQ_JSON"

# --- 2. baken ------------------------------------------------------------------------------
log "building baken (release)"
(cd "$ROOT" && cargo build --release -q -p baken-pipeline --example vs_intelmq -p baken)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release/examples/vs_intelmq
[ -x "$BIN" ] || die "not built: $BIN"
BAKEN_OUT=$INTELMQ_BENCH_DIR/run/baken-events.jsonl
SCHEMA_DIR=$ROOT/../shared/data/shadowserver
export BAKEN_SHADOWSERVER_SCHEMA=${BAKEN_SHADOWSERVER_SCHEMA:-$SCHEMA_DIR/shadowserver-schema.json}

log "baken: stages (fastest of $REPEAT runs each)"
"$BIN" stages "$INTELMQ_BENCH_CSV" "$INTELMQ_BENCH_PREFIXES" "$BAKEN_OUT" "$REPEAT" \
  | tee "$OUT_DIR/baken-stages-$N_ROWS.txt" >&2
log "baken: end to end, one thread, under /usr/bin/time -v"
/usr/bin/time -v -o "$OUT_DIR/baken-time-$N_ROWS.txt" \
  "$BIN" e2e "$INTELMQ_BENCH_CSV" "$INTELMQ_BENCH_PREFIXES" "$BAKEN_OUT" 1 \
  | tee "$OUT_DIR/baken-e2e-$N_ROWS.txt" >&2

log "baken ingest: parse → attribute → store into a fresh store, whole process"
BAKEN=$TARGET/release/baken
INGEST_DATA=$INTELMQ_BENCH_DIR/run/baken-ingest-data
rm -rf "$INGEST_DATA"
"$BAKEN" --data "$INGEST_DATA" registry import-routing "$INTELMQ_BENCH_PREFIXES" >&2
INGEST_START=$(date +%s.%N)
/usr/bin/time -v -o "$OUT_DIR/baken-ingest-time-$N_ROWS.txt" \
  "$BAKEN" --data "$INGEST_DATA" ingest --json "$INTELMQ_BENCH_CSV" > "$OUT_DIR/baken-ingest-$N_ROWS.json" \
  || die "baken ingest failed"
INGEST_SECONDS=$(python3 -c "print($(date +%s.%N) - $INGEST_START)")
echo "baken ingest: $INGEST_SECONDS s" >&2

# --- 3. same events? ------------------------------------------------------------------------
log "comparing outputs"
CHECK=$("$BIN" check "$BAKEN_OUT" "$INTELMQ_OUT") || { echo "$CHECK" >&2; die "the outputs differ"; }
echo "$CHECK" >&2
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 4. table -------------------------------------------------------------------------------
python3 - "$INTELMQ_JSON" "$OUT_DIR/baken-stages-$N_ROWS.txt" "$OUT_DIR/baken-e2e-$N_ROWS.txt" \
  "$(peak_rss "$OUT_DIR/intelmq-time-$N_ROWS.txt")" "$(peak_rss "$OUT_DIR/baken-time-$N_ROWS.txt")" \
  "$CHECK" "$LOAD_BEFORE" "$LOAD_AFTER" "$REPEAT" "$INGEST_SECONDS" \
  "$(peak_rss "$OUT_DIR/baken-ingest-time-$N_ROWS.txt")" "$OUT_DIR/baken-ingest-$N_ROWS.json" <<'EOF' | tee "$OUT_DIR/vs-intelmq-$N_ROWS.md"
import json, sys
(intelmq_json, stages_txt, e2e_txt, im_rss, bk_rss, check, load0, load1, repeat,
 ingest_s, ingest_rss, ingest_json) = sys.argv[1:]
ingest = json.load(open(ingest_json))[0]
im = json.load(open(intelmq_json))

def kv(path):
    out = {}
    for line in open(path):
        if ':' not in line:
            continue
        name, rest = line.split(':', 1)
        out[name.strip()] = {k: float(v) for k, v in (p.split('=') for p in rest.split())}
    return out

bk = kv(stages_txt)
e2e = kv(e2e_txt)
rows = im['rows']
st = {s['stage'].split(' ')[0]: s for s in im['stages']}
t = {k: bk[k]['seconds'] for k in ('parse', 'parse+lookup', 'parse+lookup+filter', 'end_to_end_1_thread')}
kept = int(bk['end_to_end_1_thread']['kept'])
im_stage = {'parse': st['parser'], 'lookup': st['asn_lookup'], 'filter': st['filter'], 'write': st['file']}
def fmt(x):
    return f'{x:,.0f}'
print(f"### IntelMQ {im['intelmq_version']} vs baken, {rows:,} rows ({kept:,} kept)\n")
print('| stage (each alone) | IntelMQ events/s | baken events/s (1 core) | ratio |')
print('|---|---:|---:|---:|')
names = {'parse': 'parse (Shadowserver CSV)', 'lookup': 'ASN lookup', 'filter': 'filter (keep our ASNs)',
         'write': 'write JSON lines'}
for k in ('parse', 'lookup', 'filter', 'write'):
    b = bk['stage_' + k]['events_per_s']
    i = im_stage[k]['events_per_s']
    print(f'| {names[k]} | {fmt(i)} | {fmt(b)} | {b / i:,.0f}x |')
print('| **chained, one streaming pass** | | | |')
for k, label in (('parse', 'parse'), ('parse+lookup', 'parse → lookup'),
                 ('parse+lookup+filter', 'parse → lookup → filter'),
                 ('end_to_end_1_thread', 'parse → lookup → filter → write (end to end)')):
    print(f"| {label}, 1 thread | | {fmt(rows / t[k])} | |")
im_e2e = im['end_to_end_events_per_s']
b1 = rows / t['end_to_end_1_thread']
b2 = rows / bk['end_to_end_2_threads']['seconds']
f2 = rows / bk['parse+lookup+filter_2_threads']['seconds']
f1 = rows / t['parse+lookup+filter']
print(f'| **chained, 2 threads** (reader + 2 workers: parse, lookup, filter, serialise; writer in order) | | | |')
print(f'| parse → lookup → filter, 2 threads | | {fmt(f2)} | |')
print(f'| **parse → lookup → filter** vs IntelMQ end to end | {fmt(im_e2e)} | {fmt(f1)} (1 thread), {fmt(f2)} (2 threads) | {f1 / im_e2e:,.0f}x, {f2 / im_e2e:,.0f}x |')
print(f'| **end to end, 1 thread** | {fmt(im_e2e)} | {fmt(b1)} | **{b1 / im_e2e:,.0f}x** |')
print(f'| **end to end, 2 threads** | {fmt(im_e2e)} | {fmt(b2)} | **{b2 / im_e2e:,.0f}x** |')
print(f"| end to end, 1 thread, single run under /usr/bin/time (with start-up) | | {fmt(rows / e2e['total']['seconds'])} | |")
ing = ingest['read'] / float(ingest_s)
print(f"| **`baken ingest`, whole process** (parse → attribute → store: {ingest['stored']:,} stored, "
      f"{ingest['new_findings']:,} findings) vs IntelMQ end to end | {fmt(im_e2e)} | {fmt(ing)} | "
      f"**{ing / im_e2e:,.0f}x** |")
print(f'| `baken ingest` peak RSS | | {int(ingest_rss) / 1024:,.1f} MiB | |')
print(f'| peak RSS (whole process) | {int(im_rss) / 1024:,.0f} MiB | {int(bk_rss) / 1024:,.1f} MiB | {int(im_rss) / int(bk_rss):,.0f}x less |')
rd = bk['read']
print()
init = bk.get('load_schema', {}).get('seconds')
if init is not None:
    print(f"Initialisation, outside every figure above as IntelMQ's bot initialisation is outside its figures: "
          f"prefix table {bk['load_prefixes']['seconds'] * 1000:,.1f} ms, Shadowserver schema and header "
          f"{init * 1000:,.1f} ms (once per process).")
print(f"Plain read of the CSV: {rd['bytes_per_s'] / 1e6:,.0f} MB/s; baken end to end on 1 thread: "
      f"{rd['bytes'] / t['end_to_end_1_thread'] / 1e6:,.0f} MB/s of input.")
print(f'IntelMQ: its own per-stage figures (library mode, each bot over all events, events passed as '
      f'objects). baken, each stage alone: batches of 256 events through the stages in turn, each '
      f'stage timed; chained: one streaming pass. Fastest of {repeat} runs. Events/s counts input rows '
      f'for parse, lookup and filter, written events for writing; the end-to-end ratio uses input rows.')
print(f'Output check: {check}')
print(f'Load average (1/5/15 min) before: {load0}; after: {load1} (2 cores shared with other work).')
EOF
