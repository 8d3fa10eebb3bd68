#!/usr/bin/env bash
# Fault harness, long run: distributed ingest (NATS JetStream workers into PostgreSQL) and
# notify under faults — a worker SIGKILLed, the NATS server killed and started again, the
# installation's PostgreSQL connections dropped — each recovered as an operator would, and
# compared with a clean single-machine run: nothing lost, nothing duplicated.
#
# Usage: bench/faults.sh [FAULTS]        (default 100)
#
# Runs crates/cli/tests/faults.rs in release with BAKEN_FAULTS=FAULTS and prints one line per
# fault and the summary `faults N, lost L, duplicated D`; exits non-zero when L or D is not 0,
# when the test fails, or when it prints no summary. Needs the local PostgreSQL
# ($BAKEN_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres) and nats-server
# on the PATH. Output: $CARGO_TARGET_DIR/faults-FAULTS.log (default target/).
# Environment: BAKEN_FAULTS_SEED (default 2020), CARGO_TARGET_DIR.
set -euo pipefail
die() { echo "faults.sh: FAILED: $*" >&2; exit 1; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FAULTS=${1:-100}
case "$FAULTS" in '' | *[!0-9]*) die "FAULTS must be a number, got '$FAULTS'" ;; esac
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
mkdir -p "$TARGET"
LOG=$TARGET/faults-$FAULTS.log
(cd "$ROOT" && cargo test --release -q -p baken --test faults --no-run) || die "build"
rc=0
(cd "$ROOT" && BAKEN_FAULTS=$FAULTS cargo test --release -q -p baken --test faults -- --nocapture) \
  2>&1 | tee "$LOG" | grep -E '^(clean run|fault |faults )' || rc=$?
summary=$(grep -E '^faults [0-9]+, lost [0-9]+, duplicated [0-9]+' "$LOG" | tail -n 1 || true)
[ -n "$summary" ] || die "no summary line (see $LOG)"
grep -q "test result: ok" "$LOG" || die "the harness failed: $summary (see $LOG)"
echo "$summary"
