//! Python's `ipaddress`, `urllib.parse.urlsplit` and `idna` codec, as far as IntelMQ's
//! harmonisation of IP addresses, networks, URLs and domain names uses them.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An address as Python's `ipaddress` holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Addr {
    V4(u32),
    V6(u128),
}

impl Addr {
    fn max_prefix(self) -> u32 {
        match self {
            Addr::V4(_) => 32,
            Addr::V6(_) => 128,
        }
    }

    fn bits(self) -> u128 {
        match self {
            Addr::V4(a) => u128::from(a),
            Addr::V6(a) => a,
        }
    }

    fn with_bits(self, bits: u128) -> Addr {
        match self {
            // masking a v4 address never sets bits above 32
            Addr::V4(_) => Addr::V4(bits as u32),
            Addr::V6(_) => Addr::V6(bits),
        }
    }

    /// `ipaddress.ip_address(int)`.
    pub(crate) fn from_int(i: i64) -> Option<Addr> {
        if i < 0 {
            None
        } else if i <= i64::from(u32::MAX) {
            Some(Addr::V4(i as u32))
        } else {
            Some(Addr::V6(i as u128))
        }
    }

    pub(crate) fn is_unspecified_v4(self) -> bool {
        self == Addr::V4(0)
    }
}

impl std::fmt::Display for Addr {
    /// `str()` of a Python 3.11 address: dotted quad, or RFC 5952 hextets (no dotted tail).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Addr::V4(a) => baken_model::DottedQuad(Ipv4Addr::from(a)).fmt(f),
            Addr::V6(a) => {
                let seg: Vec<u16> = Ipv6Addr::from(a).segments().to_vec();
                // longest run of zero hextets, first on ties, only when longer than one
                let (mut best_start, mut best_len) = (usize::MAX, 0);
                let (mut cur_start, mut cur_len) = (usize::MAX, 0);
                for (i, &h) in seg.iter().enumerate() {
                    if h == 0 {
                        if cur_len == 0 {
                            cur_start = i;
                        }
                        cur_len += 1;
                        if cur_len > best_len {
                            best_len = cur_len;
                            best_start = cur_start;
                        }
                    } else {
                        cur_len = 0;
                    }
                }
                let hex = |s: &[u16]| {
                    s.iter()
                        .map(|h| format!("{h:x}"))
                        .collect::<Vec<_>>()
                        .join(":")
                };
                if best_len > 1 {
                    write!(
                        f,
                        "{}::{}",
                        hex(&seg[..best_start]),
                        hex(&seg[best_start + best_len..])
                    )
                } else {
                    f.write_str(&hex(&seg))
                }
            }
        }
    }
}

/// Python's `IPv4Address(str)` parser: four decimal octets, no leading zeros. One octet at
/// a time, its one to three digits read in turn (every address of every report goes through
/// here, several times).
pub(crate) fn parse_v4(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let digit = |i: usize| {
        let d = b.get(i)?.wrapping_sub(b'0');
        (d <= 9).then_some(u32::from(d))
    };
    let (mut out, mut at) = (0u32, 0usize);
    for octet in 0..4 {
        if octet > 0 {
            if b.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let mut value = digit(at)?;
        at += 1;
        // a second digit, not after a leading zero, and a third
        if let Some(d) = digit(at) {
            if value == 0 {
                return None;
            }
            value = value * 10 + d;
            at += 1;
            if let Some(d) = digit(at) {
                value = value * 10 + d;
                at += 1;
                if value > 255 {
                    return None;
                }
            }
        }
        out = (out << 8) | value;
    }
    // a fourth digit or anything else after the last octet
    (at == b.len()).then_some(out)
}

/// Python's `IPv6Address(str)` parser (scope IDs are the caller's business).
fn parse_v6(s: &str) -> Option<u128> {
    if s.contains('%') {
        return None;
    }
    // the embedded IPv4 tail follows IPv4 rules (no leading zeros)
    if let Some(pos) = s.rfind(':') {
        let tail = &s[pos + 1..];
        if tail.contains('.') && parse_v4(tail).is_none() {
            return None;
        }
    }
    s.parse::<Ipv6Addr>().ok().map(u128::from)
}

/// `ipaddress.ip_address(str)` (without scope IDs).
pub(crate) fn ip_address(s: &str) -> Option<Addr> {
    parse_v4(s)
        .map(Addr::V4)
        .or_else(|| parse_v6(s).map(Addr::V6))
}

/// `ipaddress.ip_address(str)` accepting an IPv6 scope ID, as Python 3.9+ does; returns
/// whether it parses.
pub(crate) fn ip_address_with_scope_ok(s: &str) -> bool {
    if ip_address(s).is_some() {
        return true;
    }
    match s.split_once('%') {
        Some((a, scope)) => !scope.is_empty() && !scope.contains('%') && parse_v6(a).is_some(),
        None => false,
    }
}

fn prefix_from_string(s: &str, max: u32) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let v: u32 = s.parse().ok()?;
    (v <= max).then_some(v)
}

/// Prefix length of an IPv4 netmask or hostmask, as `_prefix_from_ip_string` computes it.
fn prefix_from_v4_mask(s: &str) -> Option<u32> {
    let m = parse_v4(s)?;
    let contiguous_high = |m: u32| m.leading_ones() + m.trailing_zeros() == 32 || m == 0;
    if contiguous_high(m) {
        return Some(m.leading_ones());
    }
    let inv = !m;
    if contiguous_high(inv) {
        return Some(inv.leading_ones());
    }
    None
}

/// `ipaddress.ip_network(str, strict)`: the network address and prefix length.
pub(crate) fn ip_network(s: &str, strict: bool) -> Option<(Addr, u32)> {
    let mut parts = s.split('/');
    let addr = parts.next()?;
    let mask = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let (a, prefix) = if let Some(v4) = parse_v4(addr) {
        let prefix = match mask {
            None => 32,
            Some(m) => prefix_from_string(m, 32).or_else(|| prefix_from_v4_mask(m))?,
        };
        (Addr::V4(v4), prefix)
    } else {
        let v6 = parse_v6(addr)?;
        let prefix = match mask {
            None => 128,
            Some(m) => prefix_from_string(m, 128)?,
        };
        (Addr::V6(v6), prefix)
    };
    let max = a.max_prefix();
    let netmask: u128 = if prefix == 0 {
        0
    } else {
        (u128::MAX << (128 - prefix)) >> (128 - max)
    };
    let bits = a.bits();
    if bits & !netmask != 0 && strict {
        return None;
    }
    Some((a.with_bits(bits & netmask), prefix))
}

/// What `urllib.parse.urlsplit` gives, minus the path.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UrlSplit {
    pub scheme: String,
    pub netloc: String,
    pub path: String,
    pub query: String,
    pub fragment: String,
}

/// `urllib.parse.urlsplit(url)` of Python 3.11; `None` where it raises `ValueError`.
pub(crate) fn urlsplit(url: &str) -> Option<UrlSplit> {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let mut url: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut out = UrlSplit::default();
    if let Some(i) = url.find(':') {
        let first = url.chars().next().unwrap_or(' ');
        if i > 0
            && first.is_ascii_alphabetic()
            && url[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            out.scheme = url[..i].to_ascii_lowercase();
            url = url[i + 1..].to_string();
        }
    }
    if url.starts_with("//") {
        let rest = &url[2..];
        let delim = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        out.netloc = rest[..delim].to_string();
        url = rest[delim..].to_string();
        let (open, close) = (out.netloc.contains('['), out.netloc.contains(']'));
        if open != close {
            return None;
        }
    }
    if let Some((u, f)) = url.split_once('#') {
        out.fragment = f.to_string();
        url = u.to_string();
    }
    if let Some((u, q)) = url.split_once('?') {
        out.query = q.to_string();
        url = u.to_string();
    }
    out.path = url;
    Some(out)
}

/// Python's `str.encode('idna').decode()` (IDNA 2003); `None` where it raises.
///
/// ASCII names take Python's fast path exactly (only label lengths are checked). For other
/// names, nameprep is approximated by Unicode lower-casing before Punycode.
pub(crate) fn idna_encode(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some(String::new());
    }
    if s.is_ascii() {
        // every label but the last non-empty, all shorter than 64
        let mut labels = s.split('.');
        let mut label = labels.next()?;
        for next in labels {
            if label.is_empty() || label.len() >= 64 {
                return None;
            }
            label = next;
        }
        if label.len() >= 64 {
            return None;
        }
        return Some(s.to_string());
    }
    let mut labels: Vec<&str> = s.split(['.', '\u{3002}', '\u{ff0e}', '\u{ff61}']).collect();
    let trailing_dot = labels.last().is_some_and(|l| l.is_empty());
    if trailing_dot {
        labels.pop();
    }
    let mut out = String::new();
    for label in labels {
        if !out.is_empty() {
            out.push('.');
        }
        let label = label.to_lowercase();
        let encoded = if label.is_ascii() {
            label
        } else {
            format!("xn--{}", punycode(&label)?)
        };
        if encoded.is_empty() || encoded.len() > 63 {
            return None;
        }
        out.push_str(&encoded);
    }
    if trailing_dot {
        out.push('.');
    }
    Some(out)
}

/// RFC 3492 Punycode encoding of one label.
fn punycode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    fn adapt(mut delta: u32, numpoints: u32, first: bool) -> u32 {
        delta /= if first { 700 } else { 2 };
        delta += delta / numpoints;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        k + (BASE - TMIN + 1) * delta / (delta + 38)
    }
    fn digit(d: u32) -> char {
        char::from_u32(if d < 26 { d + 97 } else { d + 22 }).unwrap_or('?')
    }
    let cps: Vec<u32> = input.chars().map(u32::from).collect();
    let mut out: String = input.chars().filter(char::is_ascii).collect();
    let basic = out.len() as u32;
    let mut h = basic;
    if basic > 0 {
        out.push('-');
    }
    let (mut n, mut delta, mut bias) = (128u32, 0u32, 72u32);
    while (h as usize) < cps.len() {
        let m = cps.iter().copied().filter(|&c| c >= n).min()?;
        delta = delta.checked_add((m - n).checked_mul(h + 1)?)?;
        n = m;
        for &c in &cps {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                let mut q = delta;
                let mut k = BASE;
                loop {
                    let t = if k <= bias {
                        TMIN
                    } else if k >= bias + TMAX {
                        TMAX
                    } else {
                        k - bias
                    };
                    if q < t {
                        break;
                    }
                    out.push(digit(t + (q - t) % (BASE - t)));
                    q = (q - t) / (BASE - t);
                    k += BASE;
                }
                out.push(digit(q));
                bias = adapt(delta, h + 1, h == basic);
                delta = 0;
                h += 1;
            }
        }
        delta += 1;
        n += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shadowserver::tests::every_char;

    /// The definition `parse_v4` implements: split on dots, four parts of one to three
    /// digits, no leading zero, each at most 255.
    fn parse_v4_by_parts(s: &str) -> Option<u32> {
        let parts: Vec<&str> = s.split('.').collect();
        if parts.len() != 4 {
            return None;
        }
        let mut out = 0u32;
        for p in parts {
            if p.is_empty()
                || p.len() > 3
                || !p.bytes().all(|c| c.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return None;
            }
            let v: u32 = p.parse().ok()?;
            if v > 255 {
                return None;
            }
            out = (out << 8) | v;
        }
        Some(out)
    }

    #[test]
    fn parse_v4_equals_its_definition_everywhere() {
        // every octet from 0 to 999, with and without leading zeros, in every place
        for n in 0..=999u32 {
            for octet in [
                n.to_string(),
                format!("{n:02}"),
                format!("{n:03}"),
                format!("{n:04}"),
            ] {
                for s in [
                    format!("{octet}.2.3.4"),
                    format!("1.{octet}.3.4"),
                    format!("1.2.{octet}.4"),
                    format!("1.2.3.{octet}"),
                    format!("{octet}.{octet}.{octet}.{octet}"),
                ] {
                    assert_eq!(parse_v4(&s), parse_v4_by_parts(&s), "{s:?}");
                }
            }
        }
        // every character in every place, and the lengths around
        for s in ["1.2.3.4", "198.18.0.1", "255.255.255.255", "10.0.100.9"] {
            for at in 0..s.len() {
                for c in every_char() {
                    let mut other = s.to_string();
                    other.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
                    assert_eq!(parse_v4(&other), parse_v4_by_parts(&other), "{other:?}");
                    other = s.to_string();
                    other.insert(at, c);
                    assert_eq!(parse_v4(&other), parse_v4_by_parts(&other), "{other:?}");
                }
            }
            for c in every_char() {
                let other = format!("{s}{c}");
                assert_eq!(parse_v4(&other), parse_v4_by_parts(&other), "{other:?}");
            }
            for cut in 0..s.len() {
                assert_eq!(parse_v4(&s[..cut]), parse_v4_by_parts(&s[..cut]), "{s:?}");
                assert_eq!(parse_v4(&s[cut..]), parse_v4_by_parts(&s[cut..]), "{s:?}");
            }
        }
    }

    #[test]
    fn parse_v4_equals_its_definition() {
        let parts = [
            "0", "1", "9", "10", "99", "100", "255", "256", "00", "01", "010", "1000", "", "a",
            "-1", " 1", "+1",
        ];
        let mut valid = 0;
        for a in parts {
            for b in ["0", "18", "255", "256", "01", ""] {
                for tail in ["", ".", ".5", ".0.0"] {
                    let s = format!("{a}.{b}.7.{a}{tail}");
                    let got = parse_v4(&s);
                    assert_eq!(got, parse_v4_by_parts(&s), "{s:?}");
                    valid += usize::from(got.is_some());
                }
            }
        }
        assert!(valid > 20, "{valid}");
        for s in [
            "198.18.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
        ] {
            assert_eq!(parse_v4(s), parse_v4_by_parts(s), "{s:?}");
        }
    }
}
