#!/usr/bin/env python3
"""Writes confusables.txt: characters that look like a Latin letter or digit, with that letter.

Sources (run with `python3 gen-confusables.py > confusables.txt`):

* Latin letters with marks, hooks, strokes and small capitals, from the Unicode Character
  Database as Python's `unicodedata` holds it (its version is written into the header): a
  lowercase letter whose name is `LATIN SMALL LETTER X …` or `LATIN LETTER SMALL CAPITAL X`,
  or whose canonical decomposition starts with a Latin letter, looks like `x`.
* Latin letters named after another shape (alpha, script g, dotless i, …), listed below by
  hand with the letter they pass for.
* Cyrillic, Greek and Armenian lowercase letters that Unicode's confusables.txt (UTS #39,
  https://www.unicode.org/Public/security/latest/confusables.txt) maps to one Latin letter,
  and the whole-name Latin-to-Cyrillic swaps that dnstwist makes, listed below by hand.

Only characters that IDNA keeps as they are (lowercase, unchanged by NFKC) are written: any
other is mapped away by UTS #46 before a name is compared.
"""
import re
import unicodedata

RANGES = [(0x00C0, 0x024F), (0x0250, 0x02AF), (0x1D00, 0x1DBF), (0x1E00, 0x1EFF),
          (0x2C60, 0x2C7F), (0xA720, 0xA7FF)]

# Latin letters named after another shape, and the letter or digit they pass for.
SHAPES = {
    0x0251: "a",  # LATIN SMALL LETTER ALPHA
    0x0259: "a",  # LATIN SMALL LETTER SCHWA
    0x0261: "g",  # LATIN SMALL LETTER SCRIPT G
    0x0269: "i",  # LATIN SMALL LETTER IOTA
    0x0131: "i",  # LATIN SMALL LETTER DOTLESS I
    0x0237: "j",  # LATIN SMALL LETTER DOTLESS J
    0x0138: "k",  # LATIN SMALL LETTER KRA
    0x014B: "n",  # LATIN SMALL LETTER ENG
    0x01BF: "p",  # LATIN LETTER WYNN
    0x0292: "3",  # LATIN SMALL LETTER EZH
    0x01BB: "2",  # LATIN LETTER TWO WITH STROKE
    0x01BD: "5",  # LATIN SMALL LETTER TONE FIVE
    0x0185: "b",  # LATIN SMALL LETTER TONE SIX
    0x00E6: "ae",  # LATIN SMALL LETTER AE
    0x0153: "oe",  # LATIN SMALL LIGATURE OE
    0x00DF: "ss",  # LATIN SMALL LETTER SHARP S
}

# Other scripts: lowercase letters confusables.txt maps to one Latin letter, and dnstwist's
# Latin-to-Cyrillic swaps (ь for b, к for k, м for m, т for t).
SCRIPTS = {
    # Cyrillic
    0x0430: "a", 0x044C: "b", 0x0441: "c", 0x0501: "d", 0x0435: "e", 0x050D: "g",
    0x04BB: "h", 0x0456: "i", 0x0458: "j", 0x043A: "k", 0x04CF: "l", 0x043C: "m",
    0x043E: "o", 0x0440: "p", 0x051B: "q", 0x0433: "r", 0x0455: "s", 0x0442: "t",
    0x0475: "v", 0x051D: "w", 0x0445: "x", 0x0443: "y", 0x04AF: "y", 0x0261: "g",
    # Greek
    0x03B1: "a", 0x03BF: "o", 0x03C1: "p", 0x03BD: "v", 0x03B9: "i", 0x03BA: "k",
    0x03C5: "u", 0x03F2: "c", 0x03F3: "j", 0x03C4: "t", 0x03C7: "x", 0x03B3: "y",
    # Armenian
    0x0585: "o", 0x057D: "u", 0x0581: "g", 0x0570: "h", 0x0578: "n", 0x0566: "q",
}

NAMED = re.compile(r"^LATIN (?:SMALL LETTER|LETTER SMALL CAPITAL) ([A-Z])(?: .*)?$")


def kept(ch):
    return ch == ch.lower() and unicodedata.normalize("NFKC", ch) == ch


def base(cp):
    ch = chr(cp)
    if cp in SHAPES:
        return SHAPES[cp]
    name = unicodedata.name(ch, "")
    m = NAMED.match(name)
    if m:
        return m.group(1).lower()
    d = unicodedata.decomposition(ch)
    if d and not d.startswith("<"):
        first = chr(int(d.split()[0], 16))
        if first.isascii() and first.isalpha():
            return first.lower()
    return None


rows = {}
for lo, hi in RANGES:
    for cp in range(lo, hi + 1):
        b = base(cp)
        if b and kept(chr(cp)):
            rows[cp] = (b, unicodedata.name(chr(cp), ""))
for cp, b in SCRIPTS.items():
    if kept(chr(cp)):
        rows[cp] = (b, unicodedata.name(chr(cp), ""))

print(f"# Characters that look like a Latin letter or digit: code point, character, what it looks like, name.")
print(f"# Written by gen-confusables.py from the Unicode Character Database {unicodedata.unidata_version}")
print("# (names and decompositions) and Unicode's confusables.txt (UTS #39); see that script.")
for cp in sorted(rows):
    b, name = rows[cp]
    print(f"{cp:04X}\t{chr(cp)}\t{b}\t{name}")
