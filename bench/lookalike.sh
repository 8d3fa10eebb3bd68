#!/usr/bin/env bash
# Lookalike scan throughput: `baken lookalike scan` (the whole command: reading the protected
# list, precomputing the permutations, reading and checking every name, writing what it flags)
# on N synthetic names against P protected names, on one core.
#
# Usage: bench/lookalike.sh [N_NAMES] [N_PROTECTED]        (default: 1000000 1000)
#
# Input, made with a fixed seed under $BAKEN_LOOKALIKE_DIR (default /tmp/baken-lookalike):
# protect.txt (P names of two to four syllables under .example, each with an owner) and
# names.txt (N names of other syllables under .example and .test, a quarter with a subdomain label, a tenth
# hyphenated, plus 1% lookalikes: permutations from `baken lookalike generate` of 20 of the
# protected names, and protected labels with crisis words), shuffled.
# Output: the time, peak RSS and names per minute on standard output.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-1000000}
P=${2:-1000}
WORK=${BAKEN_LOOKALIKE_DIR:-/tmp/baken-lookalike}
mkdir -p "$WORK"

(cd "$ROOT" && cargo build --release -q -p baken)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/baken

# syllables of Dutch-looking names for the protected list, of others for the stream (names
# of the same syllables would embed protected labels by chance); awk's rand with a fixed seed
# makes the same files each run
SYLLABLES="ber gen hof land stad dam veen wijk burg mond zorg huis werk net bank post staat raad meer berg loo sel ter dor gou da ams rot eind hoven leid zwol del ver nij weg kan tor ring vaart"
OTHERS="qua zix fly tro pex jum cly vox kri sna plu fro gry mox tul bax yep wiz cap sky blu tech soft ly go pi ux smart top max fix chi lux"

awk -v n="$P" -v syl="$SYLLABLES" 'BEGIN {
  srand(1); k = split(syl, s, " ");
  for (i = 0; i < n; i++) {
    do { l = ""; m = 2 + int(rand() * 3); for (j = 0; j < m; j++) l = l s[1 + int(rand() * k)] } while (l in seen);
    seen[l] = 1; printf "%s.example org-%d\n", l, i
  }
}' > "$WORK/protect.txt"

head -20 "$WORK/protect.txt" | while read -r name _; do
  "$BIN" lookalike generate "$name" | awk 'NR % 7 == 0'
done > "$WORK/lookalikes.txt"
awk 'NR <= 200 { split($1, p, "."); print p[1] "-corona-info.test"; print p[1] ".example.login.test" }' \
  "$WORK/protect.txt" >> "$WORK/lookalikes.txt"

awk -v n="$N" -v syl="$OTHERS" -v fake="$WORK/lookalikes.txt" 'BEGIN {
  srand(2); k = split(syl, s, " ");
  while ((getline line < fake) > 0) { f[++nf] = line }
  for (i = 0; i < n; i++) {
    if (rand() < 0.01) { print f[1 + int(rand() * nf)]; continue }
    l = ""; m = 2 + int(rand() * 4); for (j = 0; j < m; j++) l = l s[1 + int(rand() * k)];
    if (rand() < 0.1) l = l "-" s[1 + int(rand() * k)];
    if (rand() < 0.25) l = "www." l;
    printf "%s.%s\n", l, (rand() < 0.5 ? "example" : "test")
  }
}' > "$WORK/names.txt"

echo "$(wc -l < "$WORK/names.txt") names, $(wc -l < "$WORK/protect.txt") protected" >&2
pin=""; command -v taskset >/dev/null && pin="taskset -c 0"
start=$(date +%s.%N)
/usr/bin/time -f "%e s elapsed, %M KiB peak RSS" -o "$WORK/time.txt" \
  $pin "$BIN" --data "$WORK/data" lookalike scan --protect "$WORK/protect.txt" \
  --keyword corona --keyword vaccin "$WORK/names.txt" > "$WORK/flagged.tsv"
end=$(date +%s.%N)
cat "$WORK/time.txt"
awk -v a="$start" -v b="$end" -v n="$(wc -l < "$WORK/names.txt")" -v f="$(wc -l < "$WORK/flagged.tsv")" \
  'BEGIN { printf "%d names in %.2f s: %.0f names per minute, %d flagged\n", n, b - a, n / (b - a) * 60, f }'
