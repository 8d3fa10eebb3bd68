#!/usr/bin/env bash
# Creates (once) the Python environment the tests use as oracles and peers:
# IntelMQ 3.5.0 (the reference Shadowserver parser for the differential test) and
# aiosmtpd (a real SMTP server on 127.0.0.1 for the delivery tests) and schemathesis (tests
# the served API against its OpenAPI document) and dnstwist (the oracle of the lookalike
# permutations, run offline), stix2-validator 3.2.0 (OASIS's validator of the STIX 2.1
# bundles `baken export stix` writes; 3.3.1's wheels lack the STIX schemas,
# oasis-open/cti-stix-validator#248), OASIS's stix2 library (parses them and computes the ids
# of observables by its own rule) and PyMISP (loads the events `baken export misp` writes).
# Prints the interpreter's path on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${BAKEN_TEST_VENV:-$root/target/test-venv}"
want="intelmq==3.5.0 aiosmtpd==1.4.6 schemathesis==4.32.5 dnstwist==20250130 stix2-validator==3.2.0 stix2==3.0.2 pymisp==2.5.34.4"
stamp="$venv/.baken-requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up $venv ($want)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check $want >&2
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
