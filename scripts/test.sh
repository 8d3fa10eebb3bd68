#!/usr/bin/env bash
# The whole test suite: sets up the Python oracles (IntelMQ, aiosmtpd), then runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BAKEN_TEST_PYTHON=$("$root/scripts/test-venv.sh")
export BAKEN_TEST_PYTHON
cargo test --workspace --locked "$@"
