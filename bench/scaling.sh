#!/usr/bin/env bash
# Scaling run: baken end to end (parse -> ASN lookup -> filter -> JSON lines) at growing input
# sizes, to show that throughput stays flat and peak RSS stays bounded (streaming).
#
# Usage: bench/scaling.sh [N_ROWS...]            (default: 10000 100000 1000000 10000000)
#
# Input: ../shared/bench/intelmq/gen_data.py (the generator of the IntelMQ benchmark: same
# columns, same prefix table) into $BAKEN_SCALING_DIR/<N>/ (default /tmp/baken-scaling; the
# 10 M-row CSV takes about 2.4 GB and is deleted after its run unless BAKEN_SCALING_KEEP=1).
# Each size runs once under /usr/bin/time -v (peak RSS); BAKEN_SCALING_THREADS (default 1)
# sets the threads of the example's end to end. The JSON lines go to BAKEN_SCALING_OUT
# (default /dev/null: at 10 M rows they are 8.7 GB, and writing them to this machine's disk
# measures the disk, not baken; set a file path to include it).
# Output: bench/results/scaling.tsv (rows, events/s, peak RSS KiB, seconds, load average) and
# the chart bench/results/scaling.svg; with more than one thread scaling-N-threads.tsv/.svg.
set -euo pipefail

die() { echo "scaling.sh: $*" >&2; exit 1; }
log() { printf '\n== %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000 10000000)
THREADS=${BAKEN_SCALING_THREADS:-1}
SINK=${BAKEN_SCALING_OUT:-/dev/null}
WORK=${BAKEN_SCALING_DIR:-/tmp/baken-scaling}
GEN=$ROOT/../shared/bench/intelmq/gen_data.py
[ -f "$GEN" ] || die "not found: $GEN (the shared data must sit beside the clone)"
OUT_DIR=$ROOT/bench/results
mkdir -p "$OUT_DIR" "$WORK"
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (Debian package 'time') for peak RSS"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq time
  else sudo apt-get update -qq && sudo apt-get install -y -qq time; fi
fi
export BAKEN_SHADOWSERVER_SCHEMA=${BAKEN_SHADOWSERVER_SCHEMA:-$ROOT/../shared/data/shadowserver/shadowserver-schema.json}

log "building baken (release)"
(cd "$ROOT" && cargo build --release -q -p baken-pipeline --example vs_intelmq)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/vs_intelmq

NAME=scaling
[ "$THREADS" = 1 ] || NAME=scaling-$THREADS-threads
TSV=$OUT_DIR/$NAME.tsv
printf '# rows\tevents_per_s\tpeak_rss_kib\tseconds\tload_avg_1_5_15\n' > "$TSV"
for n in "${SIZES[@]}"; do
  dir=$WORK/$n
  csv=$dir/2026-03-24-scan_http_vulnerable-nl-geo-asn.csv
  if [ ! -f "$csv" ]; then
    log "generating $n rows"
    python3 -B "$GEN" "$n" "$dir" >&2
  fi
  log "baken end to end, $n rows, $THREADS thread(s)"
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -v -o "$dir/time.txt" "$BIN" e2e "$csv" "$dir/prefixes.tsv" "$SINK" "$THREADS" \
    | tee "$dir/e2e.txt" >&2
  rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$dir/time.txt")
  secs=$(sed -n 's/.*seconds=\([0-9.]*\) rows_per_s.*/\1/p' "$dir/e2e.txt")
  rate=$(sed -n 's/.*rows_per_s=\([0-9.]*\).*/\1/p' "$dir/e2e.txt")
  printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$rate" "$rss" "$secs" "$load" | tee -a "$TSV" >&2
  if [ "${BAKEN_SCALING_KEEP:-0}" != 1 ] && [ "$n" -ge 10000000 ]; then rm -f "$csv"; fi
done
"$BIN" chart "$TSV" "$OUT_DIR/$NAME.svg" \
  "baken end to end ($THREADS thread(s)): events/s and peak RSS by input size"
log "wrote $TSV and $OUT_DIR/$NAME.svg"
column -t -s $'\t' "$TSV"
