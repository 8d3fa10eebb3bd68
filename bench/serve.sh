#!/usr/bin/env bash
# What a party waits for from `baken serve`: on the demo's data (10,000 organisations), the
# latency of GET /api/v1/findings and of the /findings page for a vital provider's token and
# of GET /api/v1/findings for an analyst, request after request, for each binary given (the
# first request of each, then the median and 90th percentile of the rest).
#
#   bench/serve.sh [BINARY…]        # default: target/release/baken
#   BAKEN_BENCH_REQUESTS=50 bench/serve.sh old/baken target/release/baken
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$root/target/release/baken")
for i in "${!bins[@]}"; do bins[i]=$(realpath "${bins[i]}"); done
requests=${BAKEN_BENCH_REQUESTS:-30}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# one demo world, copied for each binary so that each starts from the same store
( cd "$work" && "${bins[0]}" demo citrix-2020 > /dev/null )
base="$work/baken-data/demo/citrix-2020"

for bin in "${bins[@]}"; do
  data="$work/data-$(basename "$(dirname "$bin")")-$RANDOM"
  cp -r "$base" "$data"
  party=$("$bin" --data "$data" token create org-1032 | tail -1)
  analyst=$("$bin" --data "$data" token create ncsc --analyst | tail -1)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" --data "$data" serve --listen "127.0.0.1:$port" 2> "$data.log" &
  server=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  jar="$data.cookies"
  csrf=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$port/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//;s/"//')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "token=$party" --data-urlencode "csrf=$csrf" "http://127.0.0.1:$port/login"
  measure() { # label, curl arguments…
    local label=$1; shift
    for _ in $(seq "$requests"); do
      curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$@"
    done | python3 -c '
import sys, statistics
label = sys.argv[1]
rows = [l.split() for l in sys.stdin]
bad = [c for c, _ in rows if c != "200"]
t = [float(s) * 1000 for _, s in rows]
rest = sorted(t[1:])
p90 = rest[max(0, -(-9 * len(rest) // 10) - 1)]
print(f"  {label:<32} first {t[0]:8.1f} ms   then median {statistics.median(rest):7.1f} ms, p90 {p90:7.1f} ms" + (f"   ({len(bad)} not 200)" if bad else ""))
' "$label"
  }
  echo "$bin"
  measure "party GET /api/v1/findings" -H "Authorization: Bearer $party" "http://127.0.0.1:$port/api/v1/findings"
  measure "party GET /findings (page)" -b "$jar" "http://127.0.0.1:$port/findings"
  measure "analyst GET /api/v1/findings" -H "Authorization: Bearer $analyst" "http://127.0.0.1:$port/api/v1/findings?limit=100"
  kill "$server"; wait "$server" 2>/dev/null || true
done
