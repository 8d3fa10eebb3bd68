//! The permutations of a domain name, of the kinds dnstwist makes.
//!
//! Every fuzzer works on the registered label (decoded from punycode) and keeps the labels
//! below it and the suffix; TLD swap changes the suffix. A permutation is kept in its ASCII
//! (punycode) form when IDNA accepts it and it is a host name (`domain::is_host_name`); a
//! name that several fuzzers make is listed once under each of their kinds.

use std::collections::HashSet;
use std::fmt;

use serde::Serialize;

use crate::confusables;
use crate::domain;

/// A kind of permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A letter or digit appended (`rivma.nl`), also to each hyphenated part.
    Addition,
    /// One bit of one character flipped (`rhvm.nl`).
    Bitsquatting,
    /// Characters replaced by ones that look alike: ASCII (`rlvm.nl`, `rivrn.nl`) or
    /// Unicode letters of the confusables table (`rіvm.nl` with a Cyrillic `і`), once or twice.
    Homoglyph,
    /// A hyphen inserted (`ri-vm.nl`).
    Hyphenation,
    /// A keyboard neighbour inserted before or after a character (`riuvm.nl`).
    Insertion,
    /// A character left out (`rim.nl`).
    Omission,
    /// An `s` (or `es`) inserted inside the label (`rivsm.nl`).
    Plural,
    /// A character doubled (`rivvm.nl`).
    Repetition,
    /// A character replaced by a keyboard neighbour (`rivn.nl`).
    Replacement,
    /// A dot inserted, making part of the label a subdomain (`ri.vm.nl`).
    Subdomain,
    /// Two neighbouring characters swapped (`irvm.nl`).
    Transposition,
    /// A vowel replaced by another (`ravm.nl`).
    VowelSwap,
    /// A dictionary word added before or after, with or without a hyphen (`rivm-login.nl`).
    Dictionary,
    /// Another top-level domain (`rivm.com`).
    TldSwap,
    /// The suffix folded into the label (`rivmnl.nl`, `rivm-nl.com`), the subdomain into it.
    Various,
}

impl Kind {
    /// Every kind, in the order permutations are made.
    pub const ALL: [Kind; 15] = [
        Kind::Addition,
        Kind::Bitsquatting,
        Kind::Homoglyph,
        Kind::Hyphenation,
        Kind::Insertion,
        Kind::Omission,
        Kind::Plural,
        Kind::Repetition,
        Kind::Replacement,
        Kind::Subdomain,
        Kind::Transposition,
        Kind::VowelSwap,
        Kind::Dictionary,
        Kind::TldSwap,
        Kind::Various,
    ];

    /// The kind's name, as dnstwist spells its fuzzers (`vowel-swap`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Addition => "addition",
            Kind::Bitsquatting => "bitsquatting",
            Kind::Homoglyph => "homoglyph",
            Kind::Hyphenation => "hyphenation",
            Kind::Insertion => "insertion",
            Kind::Omission => "omission",
            Kind::Plural => "plural",
            Kind::Repetition => "repetition",
            Kind::Replacement => "replacement",
            Kind::Subdomain => "subdomain",
            Kind::Transposition => "transposition",
            Kind::VowelSwap => "vowel-swap",
            Kind::Dictionary => "dictionary",
            Kind::TldSwap => "tld-swap",
            Kind::Various => "various",
        }
    }

    /// The kind of a name (`vowel-swap`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One permutation of a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Permutation {
    /// The name, in ASCII (punycode) form.
    pub domain: String,
    /// The kind that made it.
    pub kind: Kind,
}

/// Words the dictionary fuzzer adds when the caller gives none: what phishing names add to
/// a trusted one.
pub const DICTIONARY: &[&str] = &[
    "account", "app", "auth", "bank", "corona", "covid", "help", "id", "info", "login", "mail",
    "my", "online", "pay", "portal", "secure", "service", "sso", "support", "update", "verify",
    "web", "www",
];

/// Top-level domains the TLD-swap fuzzer tries when the caller gives none: the generic
/// ones most registered, European country codes and the cheap ones phishing favours.
pub const TLDS: &[&str] = &[
    "app", "at", "be", "biz", "ca", "cc", "ch", "click", "club", "cn", "co", "com", "cz", "de",
    "dk", "es", "eu", "fi", "fr", "info", "io", "it", "link", "live", "lu", "me", "mobi", "net",
    "nl", "no", "online", "org", "pl", "pt", "pw", "ru", "se", "shop", "site", "store", "top",
    "tv", "uk", "us", "vip", "website", "ws", "xyz",
];

/// What `generate_with` makes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Words of the dictionary fuzzer.
    pub dictionary: Vec<String>,
    /// Top-level domains of the TLD-swap fuzzer.
    pub tlds: Vec<String>,
    /// Homoglyphs from the Unicode table too (IDN); without, ASCII look-alikes only.
    pub unicode: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dictionary: DICTIONARY.iter().map(|w| w.to_string()).collect(),
            tlds: TLDS.iter().map(|t| t.to_string()).collect(),
            unicode: true,
        }
    }
}

/// The permutations of `name` with the built-in dictionary and TLD list, Unicode
/// homoglyphs included, each once a kind, in kind order then by name. Empty when `name` is not a
/// host name.
///
/// ```
/// use baken_lookalike::{generate, Kind};
/// let all = generate("rivm.nl");
/// assert!(all.iter().any(|p| p.domain == "rivn.nl" && p.kind == Kind::Replacement));
/// assert!(all.iter().any(|p| p.domain == "rivrn.nl" && p.kind == Kind::Homoglyph));
/// ```
pub fn generate(name: &str) -> Vec<Permutation> {
    generate_with(name, &Options::default())
}

/// The permutations of `name` with the given options.
pub fn generate_with(name: &str, options: &Options) -> Vec<Permutation> {
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    each(name, options, |kind, domain| {
        seen.insert((kind, domain.to_string()));
    });
    let mut out: Vec<Permutation> = seen
        .into_iter()
        .map(|(kind, domain)| Permutation { domain, kind })
        .collect();
    out.sort_by(|a, b| (a.kind, &a.domain).cmp(&(b.kind, &b.domain)));
    out
}

/// Calls `f` with every permutation of `name` and its kind (a name may come more than
/// once, under several kinds; never `name` itself).
pub(crate) fn each(name: &str, options: &Options, mut f: impl FnMut(Kind, &str)) {
    let Some(name) = domain::normalise(name) else {
        return;
    };
    let Some(ascii) = domain::to_ascii(&name) else {
        return;
    };
    if !domain::is_host_name(&ascii) {
        return;
    }
    let unicode = domain::to_unicode(&ascii).unwrap_or_else(|| ascii.to_string());
    let parts = domain::split(&unicode);
    let label: Vec<char> = parts.label.chars().collect();
    let mut emit = |kind: Kind, candidate: &str| {
        let ascii_candidate = if candidate.is_ascii() {
            std::borrow::Cow::Borrowed(candidate)
        } else if options.unicode {
            match idna::domain_to_ascii(candidate) {
                Ok(a) => std::borrow::Cow::Owned(a),
                Err(_) => return,
            }
        } else {
            return;
        };
        if *ascii_candidate != *ascii && domain::is_host_name(&ascii_candidate) {
            f(kind, &ascii_candidate);
        }
    };
    let mut labels = |kind: Kind, new: &mut dyn FnMut(Sink<'_>)| {
        new(&mut |l: String| emit(kind, &domain::join(parts.sub, &l, parts.suffix)));
    };
    labels(Kind::Addition, &mut |out| addition(&label, out));
    labels(Kind::Bitsquatting, &mut |out| bitsquatting(&label, out));
    labels(Kind::Homoglyph, &mut |out| {
        homoglyph(&label, options.unicode, out)
    });
    labels(Kind::Hyphenation, &mut |out| hyphenation(&label, out));
    labels(Kind::Insertion, &mut |out| insertion(&label, out));
    labels(Kind::Omission, &mut |out| omission(&label, out));
    labels(Kind::Plural, &mut |out| plural(&label, out));
    labels(Kind::Repetition, &mut |out| repetition(&label, out));
    labels(Kind::Replacement, &mut |out| replacement(&label, out));
    labels(Kind::Subdomain, &mut |out| subdomain(&label, out));
    labels(Kind::Transposition, &mut |out| transposition(&label, out));
    labels(Kind::VowelSwap, &mut |out| vowel_swap(&label, out));
    labels(Kind::Dictionary, &mut |out| {
        dictionary(parts.label, &options.dictionary, out)
    });
    for tld in &options.tlds {
        if tld != parts.suffix {
            emit(Kind::TldSwap, &domain::join(parts.sub, parts.label, tld));
        }
    }
    various(&parts, &mut |n| emit(Kind::Various, &n));
}

/// Where a fuzzer puts the labels it makes.
type Sink<'a> = &'a mut dyn FnMut(String);

/// Keyboard neighbours of each key on QWERTY, QWERTZ and AZERTY (the layouts dnstwist uses).
const KEYBOARDS: [&[(char, &str)]; 3] = [
    &[
        ('1', "2q"),
        ('2', "3wq1"),
        ('3', "4ew2"),
        ('4', "5re3"),
        ('5', "6tr4"),
        ('6', "7yt5"),
        ('7', "8uy6"),
        ('8', "9iu7"),
        ('9', "0oi8"),
        ('0', "po9"),
        ('q', "12wa"),
        ('w', "3esaq2"),
        ('e', "4rdsw3"),
        ('r', "5tfde4"),
        ('t', "6ygfr5"),
        ('y', "7uhgt6"),
        ('u', "8ijhy7"),
        ('i', "9okju8"),
        ('o', "0plki9"),
        ('p', "lo0"),
        ('a', "qwsz"),
        ('s', "edxzaw"),
        ('d', "rfcxse"),
        ('f', "tgvcdr"),
        ('g', "yhbvft"),
        ('h', "ujnbgy"),
        ('j', "ikmnhu"),
        ('k', "olmji"),
        ('l', "kop"),
        ('z', "asx"),
        ('x', "zsdc"),
        ('c', "xdfv"),
        ('v', "cfgb"),
        ('b', "vghn"),
        ('n', "bhjm"),
        ('m', "njk"),
    ],
    &[
        ('1', "2q"),
        ('2', "3wq1"),
        ('3', "4ew2"),
        ('4', "5re3"),
        ('5', "6tr4"),
        ('6', "7zt5"),
        ('7', "8uz6"),
        ('8', "9iu7"),
        ('9', "0oi8"),
        ('0', "po9"),
        ('q', "12wa"),
        ('w', "3esaq2"),
        ('e', "4rdsw3"),
        ('r', "5tfde4"),
        ('t', "6zgfr5"),
        ('z', "7uhgt6"),
        ('u', "8ijhz7"),
        ('i', "9okju8"),
        ('o', "0plki9"),
        ('p', "lo0"),
        ('a', "qwsy"),
        ('s', "edxyaw"),
        ('d', "rfcxse"),
        ('f', "tgvcdr"),
        ('g', "zhbvft"),
        ('h', "ujnbgz"),
        ('j', "ikmnhu"),
        ('k', "olmji"),
        ('l', "kop"),
        ('y', "asx"),
        ('x', "ysdc"),
        ('c', "xdfv"),
        ('v', "cfgb"),
        ('b', "vghn"),
        ('n', "bhjm"),
        ('m', "njk"),
    ],
    &[
        ('1', "2a"),
        ('2', "3za1"),
        ('3', "4ez2"),
        ('4', "5re3"),
        ('5', "6tr4"),
        ('6', "7yt5"),
        ('7', "8uy6"),
        ('8', "9iu7"),
        ('9', "0oi8"),
        ('0', "po9"),
        ('a', "2zq1"),
        ('z', "3esqa2"),
        ('e', "4rdsz3"),
        ('r', "5tfde4"),
        ('t', "6ygfr5"),
        ('y', "7uhgt6"),
        ('u', "8ijhy7"),
        ('i', "9okju8"),
        ('o', "0plki9"),
        ('p', "lo0m"),
        ('q', "zswa"),
        ('s', "edxwqz"),
        ('d', "rfcxse"),
        ('f', "tgvcdr"),
        ('g', "yhbvft"),
        ('h', "ujnbgy"),
        ('j', "iknhu"),
        ('k', "olji"),
        ('l', "kopm"),
        ('m', "lp"),
        ('w', "sxq"),
        ('x', "wsdc"),
        ('c', "xdfv"),
        ('v', "cfgb"),
        ('b', "vghn"),
        ('n', "bhj"),
    ],
];

/// The keys next to `c` on any of the layouts.
fn neighbours(c: char) -> impl Iterator<Item = char> {
    KEYBOARDS.into_iter().flat_map(move |layout| {
        layout
            .iter()
            .find(|(k, _)| *k == c)
            .map_or("", |(_, n)| n)
            .chars()
    })
}

/// ASCII look-alikes: what can be read for a letter, digit or pair (the table dnstwist uses).
const ASCII_GLYPHS: &[(&str, &[&str])] = &[
    ("0", &["o"]),
    ("1", &["l", "i"]),
    ("3", &["8"]),
    ("6", &["9"]),
    ("8", &["3"]),
    ("9", &["6"]),
    ("b", &["d", "lb"]),
    ("c", &["e"]),
    ("d", &["b", "cl", "dl"]),
    ("e", &["c"]),
    ("g", &["q"]),
    ("h", &["lh"]),
    ("i", &["1", "l"]),
    ("k", &["lc"]),
    ("l", &["1", "i"]),
    ("m", &["n", "nn", "rn"]),
    ("n", &["m", "r"]),
    ("o", &["0"]),
    ("q", &["g"]),
    ("u", &["v"]),
    ("v", &["u"]),
    ("w", &["vv"]),
    ("rn", &["m"]),
    ("cl", &["d"]),
];

fn to_string(chars: &[char]) -> String {
    chars.iter().collect()
}

fn addition(label: &[char], out: &mut dyn FnMut(String)) {
    let alnum = ('0'..='9').chain('a'..='z');
    let s = to_string(label);
    for c in alnum.clone() {
        out(format!("{s}{c}"));
    }
    // a character at the end of each hyphenated part but the last
    for (i, _) in s.match_indices('-') {
        for c in alnum.clone() {
            out(format!("{}{c}{}", &s[..i], &s[i..]));
        }
    }
}

fn bitsquatting(label: &[char], out: &mut dyn FnMut(String)) {
    for (i, &c) in label.iter().enumerate() {
        if !c.is_ascii() {
            continue;
        }
        for bit in 0..8 {
            let flipped = (c as u8) ^ (1 << bit);
            if flipped.is_ascii_lowercase() || flipped.is_ascii_digit() || flipped == b'-' {
                let mut v = label.to_vec();
                v[i] = flipped as char;
                out(to_string(&v));
            }
        }
    }
}

/// Which look-alike tables a round of replacements uses.
#[derive(Clone, Copy)]
enum Tables {
    Ascii,
    Unicode,
}

/// Look-alikes of one letter or pair in one table.
fn lookalikes(key: &str, table: Tables, mut f: impl FnMut(&str)) {
    match table {
        Tables::Ascii => {
            if let Some((_, gs)) = ASCII_GLYPHS.iter().find(|(k, _)| *k == key) {
                gs.iter().for_each(|g| f(g));
            }
        }
        Tables::Unicode => {
            let mut buf = [0u8; 4];
            for g in confusables::glyphs(key) {
                f(g.encode_utf8(&mut buf));
            }
        }
    }
}

/// One round of look-alike replacements: each character, and within each pair of
/// neighbours the first letter, the second letter (every occurrence of it in the pair) or
/// the pair as a whole.
fn homoglyph_round(label: &[char], table: Tables, out: &mut dyn FnMut(Vec<char>)) {
    let mut key = [0u8; 4];
    for i in 0..label.len() {
        let k = label[i].encode_utf8(&mut key);
        lookalikes(k, table, |g| {
            let mut v = label[..i].to_vec();
            v.extend(g.chars());
            v.extend_from_slice(&label[i + 1..]);
            out(v);
        });
    }
    for i in 0..label.len().saturating_sub(1) {
        let pair = [label[i], label[i + 1]];
        for (whole, key) in [(true, to_string(&pair))]
            .into_iter()
            .chain(pair.iter().map(|c| (false, c.to_string())))
        {
            lookalikes(&key, table, |g| {
                let mut v = label[..i].to_vec();
                if whole {
                    v.extend(g.chars());
                } else {
                    // every occurrence of the letter in the pair
                    for c in pair {
                        if key.starts_with(c) {
                            v.extend(g.chars());
                        } else {
                            v.push(c);
                        }
                    }
                }
                v.extend_from_slice(&label[i + 2..]);
                out(v);
            });
        }
    }
}

/// Two rounds of ASCII look-alikes (`rivrn`, `r1vrn`); with `unicode`, one round of
/// Unicode look-alikes over the label and over each one-round ASCII look-alike (`rіvm`,
/// `rіvrn`). Two Unicode rounds would list hundreds of thousands of names for a long
/// label; the scanner finds those by their skeleton instead.
fn homoglyph(label: &[char], unicode: bool, out: &mut dyn FnMut(String)) {
    let mut first = std::collections::BTreeSet::new();
    homoglyph_round(label, Tables::Ascii, &mut |v| {
        first.insert(v);
    });
    let mut all = first.clone();
    for v in &first {
        homoglyph_round(v, Tables::Ascii, &mut |w| {
            all.insert(w);
        });
    }
    if unicode {
        for v in std::iter::once(&label.to_vec()).chain(&first) {
            homoglyph_round(v, Tables::Unicode, &mut |w| {
                all.insert(w);
            });
        }
    }
    all.iter().for_each(|v| out(to_string(v)));
}

fn hyphenation(label: &[char], out: &mut dyn FnMut(String)) {
    for i in 1..label.len() {
        out(format!(
            "{}-{}",
            to_string(&label[..i]),
            to_string(&label[i..])
        ));
    }
}

fn insertion(label: &[char], out: &mut dyn FnMut(String)) {
    for (i, &c) in label.iter().enumerate() {
        for n in neighbours(c) {
            for pair in [[n, c], [c, n]] {
                let mut v = label[..i].to_vec();
                v.extend(pair);
                v.extend_from_slice(&label[i + 1..]);
                out(to_string(&v));
            }
        }
    }
}

fn omission(label: &[char], out: &mut dyn FnMut(String)) {
    for i in 0..label.len() {
        let mut v = label.to_vec();
        v.remove(i);
        out(to_string(&v));
    }
}

fn plural(label: &[char], out: &mut dyn FnMut(String)) {
    for i in 2..label.len().saturating_sub(2) {
        let ending = if matches!(label[i], 's' | 'x' | 'z') {
            "es"
        } else {
            "s"
        };
        out(format!(
            "{}{ending}{}",
            to_string(&label[..=i]),
            to_string(&label[i + 1..])
        ));
    }
}

fn repetition(label: &[char], out: &mut dyn FnMut(String)) {
    for i in 0..label.len() {
        let mut v = label.to_vec();
        v.insert(i, label[i]);
        out(to_string(&v));
    }
}

fn replacement(label: &[char], out: &mut dyn FnMut(String)) {
    for (i, &c) in label.iter().enumerate() {
        for n in neighbours(c) {
            let mut v = label.to_vec();
            v[i] = n;
            out(to_string(&v));
        }
    }
}

fn subdomain(label: &[char], out: &mut dyn FnMut(String)) {
    for i in 1..label.len().saturating_sub(1) {
        if !matches!(label[i], '-' | '.') && !matches!(label[i - 1], '-' | '.') {
            out(format!(
                "{}.{}",
                to_string(&label[..i]),
                to_string(&label[i..])
            ));
        }
    }
}

fn transposition(label: &[char], out: &mut dyn FnMut(String)) {
    for i in 0..label.len().saturating_sub(1) {
        let mut v = label.to_vec();
        v.swap(i, i + 1);
        out(to_string(&v));
    }
}

fn vowel_swap(label: &[char], out: &mut dyn FnMut(String)) {
    const VOWELS: [char; 5] = ['a', 'e', 'i', 'o', 'u'];
    for (i, &c) in label.iter().enumerate() {
        if VOWELS.contains(&c) {
            for v in VOWELS.into_iter().filter(|&v| v != c) {
                let mut w = label.to_vec();
                w[i] = v;
                out(to_string(&w));
            }
        }
    }
}

fn dictionary(label: &str, words: &[String], out: &mut dyn FnMut(String)) {
    for w in words {
        if w.is_empty() || (label.starts_with(w.as_str()) && label.ends_with(w.as_str())) {
            continue;
        }
        out(format!("{label}-{w}"));
        out(format!("{label}{w}"));
        out(format!("{w}-{label}"));
        out(format!("{w}{label}"));
    }
    // a word in place of the first or the last hyphenated part
    if let (Some((_, rest)), Some((head, _))) = (label.split_once('-'), label.rsplit_once('-')) {
        for w in words.iter().filter(|w| !w.is_empty()) {
            out(format!("{head}-{w}"));
            out(format!("{w}-{rest}"));
        }
    }
}

fn various(parts: &domain::Parts<'_>, out: &mut dyn FnMut(String)) {
    let (sub, label, suffix) = (parts.sub, parts.label, parts.suffix);
    if suffix.is_empty() {
        return;
    }
    let folded = format!("{label}{}", suffix.replace('.', ""));
    match suffix.rsplit_once('.') {
        Some((_, last)) => {
            out(domain::join(sub, label, last));
            out(domain::join(
                sub,
                &format!("{label}{}", &suffix[..suffix.len() - last.len() - 1]),
                last,
            ));
        }
        None => {
            out(domain::join(sub, &folded, suffix));
            if suffix != "com" {
                out(domain::join(sub, &format!("{label}-{suffix}"), "com"));
                out(domain::join(sub, &folded, "com"));
            }
        }
    }
    if !sub.is_empty() {
        out(domain::join("", &format!("{sub}{label}"), suffix));
        out(domain::join(
            "",
            &format!("{}{label}", sub.replace('.', "")),
            suffix,
        ));
        out(domain::join("", &format!("{sub}-{label}"), suffix));
        out(domain::join(
            "",
            &format!("{}-{label}", sub.replace('.', "-")),
            suffix,
        ));
    }
}

#[cfg(test)]
mod tests;
