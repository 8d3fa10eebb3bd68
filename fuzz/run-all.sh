#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after the other, and writes a
# table of executions and crashes per target:
#   fuzz/run-all.sh [--cpu] [SECONDS] [TARGET...]
# With --cpu, SECONDS are CPU seconds of the fuzzing process rather than wall time: a target
# run beside other work (or at a low priority, `nice -n 19`) still gets its full share, and
# the table gives both the CPU and the wall seconds it took.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On stable Rust, RUSTC_BOOTSTRAP=1 (set
# here) enables the nightly flags cargo-fuzz passes. Seed corpora are made at run time from
# the shared data beside the clone ($BAKEN_SHARED, default ../shared) and the crates' test
# data; corpora, crashes and logs go to $BAKEN_FUZZ_DIR (default /tmp/baken-fuzz), never
# into the repository. Exits non-zero when a target crashed; inputs slower than 10 s (a
# hang in the making) are listed beside the crashes.
set -euo pipefail
cd "$(dirname "$0")"
fuzz=$PWD
root=$(cd .. && pwd)
cpu=0
if [ "${1:-}" = --cpu ]; then
  cpu=1
  shift
fi
secs=${1:-60}
shift || true
shared=$(cd "${BAKEN_SHARED:-$root/../shared}" && pwd)
out=${BAKEN_FUZZ_DIR:-/tmp/baken-fuzz}
export RUSTC_BOOTSTRAP=1
# Started as a process-group session leader (`setsid nice -n 19 fuzz/run-all.sh …`), the script
# has a scheduler autogroup of its own, and niceness counts only within a group: the group gets
# the script's niceness too, or the fuzzer takes half the machine from work at normal priority.
nice_now=$(nice)
if [ "$nice_now" -gt 0 ] && [ "$(ps -o sid= -p $$ | tr -d ' ')" = "$$" ]; then
  echo "$nice_now" >"/proc/$$/autogroup" 2>/dev/null || true
fi
export BAKEN_SHADOWSERVER_SCHEMA=$shared/data/shadowserver/shadowserver-schema.json

all=(shadowserver nuclei zgrab2 intelmq stix misp masscan nmap securitytxt advisory csaf_checks registry rpsl routing inventory policy cpe purl vers version cvss)
[ $# -gt 0 ] && targets=("$@") || targets=("${all[@]}")

# seed corpora: each file as it is, or with the selector byte the target reads first
seed() { # TARGET FILE [PREFIX-BYTE-OCTAL]
  local dir=$out/corpus/$1 name
  mkdir -p "$dir"
  name=seed-${3:-x}-$(basename "$2")
  if [ -n "${3:-}" ]; then
    { printf "\\$3"; cat "$2"; } >"$dir/$name"
  else
    cp "$2" "$dir/$name"
  fi
}
text() { # TARGET NAME TEXT
  mkdir -p "$out/corpus/$1"
  printf '%b' "$3" >"$out/corpus/$1/seed-$2"
}
seeds() {
  local tmp f
  tmp=$(mktemp -d)
  if (cd "$shared/bench/intelmq" && python3 gen_data.py 20 "$tmp" >/dev/null 2>&1); then
    for b in 000 001 002 003; do seed shadowserver "$tmp"/*scan_http_vulnerable*.csv "$b"; done
  fi
  rm -rf "$tmp"
  for f in "$root"/crates/feeds/tests/data/nuclei/*.jsonl; do seed nuclei "$f"; done
  for f in "$shared"/data/scanners/*.json; do seed zgrab2 "$f"; done
  for f in "$root"/crates/feeds/tests/data/intelmq/*.jsonl; do seed intelmq "$f"; done
  for f in "$root"/crates/feeds/tests/data/stix/*.json; do seed stix "$f"; done
  for f in "$root"/crates/feeds/tests/data/misp/*.json; do seed misp "$f"; done
  for f in "$root"/crates/feeds/tests/data/masscan/*; do seed masscan "$f"; done
  for f in "$root"/crates/feeds/tests/data/nmap/*.xml; do seed nmap "$f"; done
  for f in "$shared"/data/csaf/*.json "$root"/crates/advisory/tests/data/*.json; do
    case $f in *schema*) continue ;; esac
    seed advisory "$f"
    seed csaf_checks "$f"
  done
  local d=$root/crates/attribute/tests/data
  seed registry "$d/registry/registry.toml" 000
  seed registry "$d/registry/registry.json" 001
  seed registry "$d/registry/registry.jsonl" 002
  seed registry "$d/registry/registry.csv" 003
  for f in "$d"/rpsl/*; do seed rpsl "$f"; done
  for f in "$d"/routing/*; do seed routing "$f"; done
  for f in "$root"/crates/matching/tests/data/*.csv; do seed inventory "$f" 000; done
  for f in "$root"/crates/matching/tests/data/*.json; do seed inventory "$f" 001; done
  for f in "$root"/crates/policy/policies/*.toml; do seed policy "$f"; done
  text cpe 1 'cpe:2.3:o:citrix:application_delivery_controller_firmware:13.0:*:*:*:*:*:*:*\ncpe:2.3:o:citrix:*:*:*:*:*:*:*:*:*'
  text cpe 2 'cpe:/a:apache:http_server:2.4.41\ncpe:2.3:a:apache:http_server:2.4.\\*:*:*:*:*:*:*:*'
  text purl 1 'pkg:npm/%40angular/animation@12.3.1'
  text purl 2 'pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie'
  text purl 3 'pkg:maven/org.apache.xmlgraphics/batik-anim@1.9.1?classifier=sources#sub/path'
  text vers 1 'vers:npm/1.2.3|>=2.0.0|<5.0.0\n3.1.0'
  text vers 2 'vers:deb/>=1:1.0~rc1|<2.0\n1:1.5'
  text vers 3 'vers:generic/*\n13.0'
  text version 0 '\x00001.2.3-rc.1\n1.10.0'
  text version 1 '\x00011:2.30-1~bpo\n2.30-1'
  text version 2 '\x00021.0^git1-1\n1.0~rc1-1'
  text version 3 '\x000313.0.47.24\n13.0.36.27'
  text securitytxt 1 'Contact: mailto:security@example.test\r\nContact: https://example.test/report\nExpires: 2030-01-01T00:00:00.000Z\nPreferred-Languages: en, nl\nCanonical: https://example.test/.well-known/security.txt\n# a comment\n'
  text securitytxt 2 '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: mailto:security@example.test\nExpires: 2020-01-01T00:00:00Z\n-----BEGIN PGP SIGNATURE-----\n\niQ==\n-----END PGP SIGNATURE-----\n'
  text cvss 1 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'
  text cvss 2 'AV:N/AC:L/Au:N/C:P/I:P/A:P/E:F/RL:OF/RC:C'
  text cvss 3 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'
  text cvss 4 'CVSS:3.0/AV:P/AC:L/PR:H/UI:R/S:C/C:H/I:H/A:H/E:F/MAV:N'
}

seeds
cargo fuzz build -O
bin=$fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release
run=$(date -u +%Y%m%dT%H%M%S)-$$
mkdir -p "$out/logs" "$out/artifacts/$run"
results=$out/results-$run.md
{
  echo "| target | CPU seconds | wall seconds | executions | exec per CPU second | corpus | slowest input | crashes |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
} >"$results"
# CPU seconds (user + system) process PID has used so far
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) / hz) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
crashed=0
for t in "${targets[@]}"; do
  mkdir -p "$out/artifacts/$run/$t"
  log=$out/logs/$t-$run.log
  status=0
  # wall time is the limit, or (--cpu) a generous bound while a watcher interrupts the
  # fuzzer once it has had SECONDS of CPU
  limit=$secs
  [ "$cpu" = 1 ] && limit=$((secs * 20))
  started=$(date +%s)
  "$bin/$t" "$out/corpus/$t" \
    -max_total_time="$limit" -print_final_stats=1 -rss_limit_mb=4096 \
    -artifact_prefix="$out/artifacts/$run/$t/" >"$log" 2>&1 &
  pid=$!
  used=0
  interrupted=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5
    now=$(cpu_of "$pid")
    [ "$now" -gt 0 ] && used=$now
    if [ "$cpu" = 1 ] && [ "$used" -ge "$secs" ] && [ "$interrupted" = 0 ]; then
      kill -INT "$pid" 2>/dev/null || true
      interrupted=1
    fi
  done
  wait "$pid" || status=$?
  # an interrupt the watcher sent is the planned end of the run, not a finding
  if [ "$interrupted" = 1 ] && grep -q 'run interrupted' "$log"; then
    status=0
  fi
  wall=$(($(date +%s) - started))
  [ "$cpu" = 1 ] || used=$wall
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  slowest=$(grep -o 'stat::slowest_unit_time_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo 0)
  units=$(find "$out/corpus/$t" -type f | wc -l)
  crash=none
  if [ "$status" -ne 0 ]; then
    crashed=1
    crash="exit $status: $(ls "$out/artifacts/$run/$t" | head -3 | tr '\n' ' ')"
  elif ls "$out/artifacts/$run/$t" | grep -q .; then
    crash="slow: $(ls "$out/artifacts/$run/$t" | head -3 | tr '\n' ' ')"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s s | %s |\n' "$t" "$used" "$wall" "$execs" "$((execs / (used > 0 ? used : 1)))" "$units" "$slowest" "$crash" >>"$results"
  echo "$t: $execs executions, $crash" >&2
done
cat "$results"
exit $crashed
