#!/usr/bin/env bash
# Crash harness, long run: SIGKILLs `baken ingest` and `baken notify` at random points, re-runs
# each killed command until it completes, and checks that nothing was lost, counted twice or
# corrupted.
#
# Usage: bench/crash.sh [KILLS]        (default 100)
#
# 1. builds the integration test crates/cli/tests/crash.rs in release;
# 2. runs it with BAKEN_CRASH_KILLS=KILLS (`cargo test --release -p baken --test crash --
#    --nocapture`): a world of 2,000 organisations (the demo's generator), two Shadowserver
#    scan_http_vulnerable files a day apart (about 31,000 rows, `--batch 2000`), a clean
#    reference run (ingest both, notify into the outbox), then per kill a fresh data directory
#    in which ingest or notify (alternating) is SIGKILLed after a delay drawn uniformly inside
#    the clean run's duration, re-run until it exits 0, and the remaining steps finished;
#    each kill is compared with the reference: findings (incident, address, port, transport,
#    owner, first/last seen, times seen), the sum of times seen, the outbox's .eml files and
#    the messages, the audited decisions and deliveries, `baken audit verify` and SQLite's
#    integrity check (right after the kill and at the end);
# 3. prints one line per kill and the summary `kills N, lost L, duplicated D, corrupt C`, and
#    exits non-zero when L, D or C is not 0, when the test fails, or when it prints no summary.
#    A failing kill is listed with its seed, its kill point and how to replay it.
#
# Output: the whole log in $CARGO_TARGET_DIR/crash-KILLS.log (default target/).
# Environment: BAKEN_CRASH_SEED (default 2020; kill i uses seed SEED+i, and
# `BAKEN_CRASH_SEED=<its seed> BAKEN_CRASH_KILLS=1` replays one), BAKEN_CRASH_KEEP=1 (keep the
# data directories of failed kills in $TMPDIR/baken-crash-SEED), CARGO_TARGET_DIR.
set -euo pipefail

die() { echo "crash.sh: FAILED: $*" >&2; exit 1; }
log() { printf '\n== %s\n' "$*" >&2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILLS=${1:-100}
case "$KILLS" in '' | *[!0-9]*) die "KILLS must be a number, got '$KILLS'" ;; esac
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$TARGET"
LOG=$TARGET/crash-$KILLS.log

log "building the crash harness (release)"
(cd "$ROOT" && cargo test --release -q -p baken --test crash --no-run) \
  || die "the crash harness does not build"

log "running $KILLS kills (seed ${BAKEN_CRASH_SEED:-2020}); log: $LOG"
START=$(date +%s)
set +e
(cd "$ROOT" && BAKEN_CRASH_KILLS=$KILLS cargo test --release -p baken --test crash -- --nocapture) \
  2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
set -e
SECONDS_TAKEN=$(( $(date +%s) - START ))

SUMMARY=$(grep -E '^kills [0-9]+, lost [0-9]+, duplicated [0-9]+, corrupt [0-9]+$' "$LOG" | tail -n 1 || true)
[ -n "$SUMMARY" ] || die "the harness printed no summary (cargo test exited $STATUS); see $LOG"
read -r LOST DUPLICATED CORRUPT <<<"$(sed -E 's/^kills [0-9]+, lost ([0-9]+), duplicated ([0-9]+), corrupt ([0-9]+)$/\1 \2 \3/' <<<"$SUMMARY")"

echo
echo "$SUMMARY  (${SECONDS_TAKEN} s, load $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$LOST" -eq 0 ] && [ "$DUPLICATED" -eq 0 ] && [ "$CORRUPT" -eq 0 ] \
  || die "$SUMMARY; the failing kills and how to replay them are in $LOG"
[ "$STATUS" -eq 0 ] || die "cargo test exited $STATUS; see $LOG"
