#!/usr/bin/env bash
# The whole test suite: installs the Debian packages, checks (or starts) the local PostgreSQL
# and NATS, sets up the Python oracles the tests use, then runs every test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/test-deps.sh"
"$root/scripts/test-services.sh"
BAKEN_TEST_PYTHON=$("$root/scripts/test-venv.sh")
export BAKEN_TEST_PYTHON
cargo test --workspace --locked "$@"
