//! Address text on hot paths.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// An IPv4 address displayed as its dotted quad without the formatting machinery (the same
/// text as `Ipv4Addr`'s `Display`, several times faster; parsers and attribution write
/// millions of these).
///
/// ```
/// use baken_model::DottedQuad;
/// assert_eq!(DottedQuad("198.18.0.10".parse().unwrap()).to_string(), "198.18.0.10");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DottedQuad(pub Ipv4Addr);

impl DottedQuad {
    /// The text at the start of a buffer, and how many bytes it takes.
    fn text(self) -> ([u8; 15], usize) {
        let mut buf = [0u8; 15];
        let mut n = 0;
        for (i, octet) in self.0.octets().into_iter().enumerate() {
            if i > 0 {
                buf[n] = b'.';
                n += 1;
            }
            if octet >= 100 {
                buf[n] = b'0' + octet / 100;
                n += 1;
            }
            if octet >= 10 {
                buf[n] = b'0' + octet / 10 % 10;
                n += 1;
            }
            buf[n] = b'0' + octet % 10;
            n += 1;
        }
        (buf, n)
    }

    /// Appends the text to `out`.
    #[inline]
    pub fn push_to(self, out: &mut String) {
        out.reserve(15);
        let [a, b, c, d] = self.0.octets();
        push_slot(out, OCTET_DOT, a, 1);
        push_slot(out, OCTET_DOT, b, 1);
        push_slot(out, OCTET_DOT, c, 1);
        push_slot(out, OCTET_DOT, d, 0);
    }
}

/// The text of every octet value then a dot, four bytes each (padded with dots): `0...`,
/// `1...`, ..., `255.`.
const OCTET_DOT: &str = as_str(&slots(b"", b'.'));

/// A slash then the text of every prefix length (and more), four bytes each (padded with
/// slashes): `/0//`, ..., `/32/`, ..., `/255`.
const SLASH_LENGTH: &str = as_str(&slots(b"/", b'/'));

/// 256 slots of four bytes: `before` (a byte at most), the slot's number in decimal, then
/// `pad` to the end.
const fn slots(before: &[u8], pad: u8) -> [u8; 1024] {
    let mut out = [pad; 1024];
    let mut v = 0;
    while v < 256 {
        let mut at = 4 * v;
        if !before.is_empty() {
            out[at] = before[0];
            at += 1;
        }
        if v >= 100 {
            out[at] = b'0' + (v / 100) as u8;
            at += 1;
        }
        if v >= 10 {
            out[at] = b'0' + (v / 10 % 10) as u8;
            at += 1;
        }
        out[at] = b'0' + (v % 10) as u8;
        v += 1;
    }
    out
}

/// How many digits each octet value has.
const DIGITS: [u8; 256] = {
    let mut out = [1; 256];
    let mut v = 10;
    while v < 256 {
        out[v] = if v < 100 { 2 } else { 3 };
        v += 1;
    }
    out
};

/// `bytes` as a `str`, checked when compiling.
const fn as_str(bytes: &'static [u8]) -> &'static str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("digits, dots and slashes are ASCII"),
    }
}

/// Appends the text of `v` from `slots` (four bytes each, see [`OCTET_DOT`]) and `extra`
/// bytes more (the dot after it, the slash before it), copied as a text of one to four bytes
/// known where it is written: no call into `memcpy`, and no check that the text starts and
/// ends at characters (the compiler sees that every byte of the table is ASCII).
#[inline(always)]
fn push_slot(out: &mut String, slots: &'static str, v: u8, extra: usize) {
    let at = 4 * usize::from(v);
    match usize::from(DIGITS[usize::from(v)]) + extra {
        1 => out.push_str(&slots[at..at + 1]),
        2 => out.push_str(&slots[at..at + 2]),
        3 => out.push_str(&slots[at..at + 3]),
        _ => out.push_str(&slots[at..at + 4]),
    }
}

impl fmt::Display for DottedQuad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (buf, n) = self.text();
        // Only ASCII digits and dots were written.
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

/// `net.to_string()` (`198.18.0.0/15`), IPv4 networks without the formatting machinery:
/// what a routing lookup writes as `source.network` for every event.
pub fn network_text(net: &IpNet) -> String {
    let mut out = String::new();
    push_network_text(net, &mut out);
    out
}

/// Appends `net.to_string()` to `out` (see [`network_text`]): for callers that reuse a
/// buffer.
///
/// ```
/// let mut text = String::from("net ");
/// baken_model::push_network_text(&"198.18.0.0/15".parse().unwrap(), &mut text);
/// assert_eq!(text, "net 198.18.0.0/15");
/// ```
pub fn push_network_text(net: &IpNet, out: &mut String) {
    match net {
        IpNet::V4(v4) => {
            // Written slot by slot (see `push_slot`; 130 instructions in `vs_intelmq`'s lookup
            // stage): text built in a byte buffer would have to be checked for UTF-8 again to
            // become a `str` (`str::from_utf8` took 110 of the 280 instructions this took so),
            // and a `push` per character checks the string's room every time (250).
            out.reserve(18);
            DottedQuad(v4.addr()).push_to(out);
            push_slot(out, SLASH_LENGTH, v4.prefix_len(), 1);
        }
        IpNet::V6(_) => {
            use fmt::Write;
            write!(out, "{net}").expect("writing to a String never fails");
        }
    }
}

/// `s.parse::<IpAddr>().ok()`, with the common case, a dotted quad as `Ipv4Addr`'s
/// `Display` writes it, read without the standard library's general parser (several times
/// faster; attribution reads an address from every event). Anything else goes to the
/// standard parser, so the answers are the same for every input.
///
/// ```
/// use baken_model::parse_ip;
/// assert_eq!(parse_ip("198.18.0.10"), "198.18.0.10".parse().ok());
/// assert_eq!(parse_ip("2001:db8::1"), "2001:db8::1".parse().ok());
/// assert_eq!(parse_ip("198.18.0.010"), None);
/// ```
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    match canonical_dotted_quad(s.as_bytes()) {
        Some(a) => Some(IpAddr::V4(a)),
        None => s.parse().ok(),
    }
}

/// Four decimal octets of one to three digits, none above 255 and none with a leading zero,
/// separated by dots and nothing else: a subset of what `Ipv4Addr::from_str` accepts, read
/// to the same address. `None` says "not this form", not "not an address".
fn canonical_dotted_quad(b: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut rest = b;
    for (k, octet) in octets.iter_mut().enumerate() {
        let digit = |c: u8| u32::from(c - b'0');
        // the longest run of digits first; a leading zero is a run of one
        let (value, n) = match *rest {
            [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9', ..] => {
                (digit(a) * 100 + digit(b) * 10 + digit(c), 3)
            }
            [a @ b'1'..=b'9', b @ b'0'..=b'9', ..] => (digit(a) * 10 + digit(b), 2),
            [a @ b'0'..=b'9', ..] => (digit(a), 1),
            _ => return None,
        };
        *octet = u8::try_from(value).ok()?;
        rest = match (k, &rest[n..]) {
            (3, []) => &[],
            (0..=2, [b'.', after @ ..]) => after,
            _ => return None,
        };
    }
    Some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_as_the_standard_library() {
        for a in [
            0u32,
            1,
            9,
            10,
            99,
            100,
            255,
            0x0a00_0001,
            0xc612_0a64,
            u32::MAX,
        ] {
            let ip = Ipv4Addr::from(a);
            assert_eq!(DottedQuad(ip).to_string(), ip.to_string());
            let mut pushed = String::from("x");
            DottedQuad(ip).push_to(&mut pushed);
            assert_eq!(pushed, format!("x{ip}"));
            for len in [0u8, 8, 15, 24, 32] {
                let net = IpNet::V4(ipnet::Ipv4Net::new(ip, len).expect("prefix length"));
                assert_eq!(network_text(&net), net.to_string());
            }
        }
    }

    /// What the standard library answers, and what `parse_ip` must answer.
    fn check(s: &str) {
        assert_eq!(parse_ip(s), s.parse::<IpAddr>().ok(), "{s:?}");
    }

    #[test]
    fn parse_ip_answers_as_the_standard_library_on_edge_cases() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "256.0.0.0",
            "255.255.255.256",
            "1.2.3.4",
            "198.18.0.10",
            "198.18.0.010",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.00",
            "00.0.0.0",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1.2.3.4.5",
            "1..2.3",
            "1.2..3.4",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.3.4\n",
            "+1.2.3.4",
            "1.2.3.-4",
            "1.2.3.1000",
            "1000.2.3.4",
            "0001.2.3.4",
            "1.2.3.a",
            "1.2.3.4/24",
            "1.2.3.4:80",
            "111.222.233.244",
            "999.999.999.999",
            "100.100.100.100",
            "199.299.1.1",
            "1.2.3.٤",
            "",
            ".",
            "...",
            "::",
            "::1",
            "::ffff:1.2.3.4",
            "2001:db8::1",
            "2001:DB8::1",
            "fe80::1%eth0",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "0x1.2.3.4",
            "1.2.3.4\0",
        ] {
            check(s);
        }
        // every octet value and leading-zero spelling at every place
        for v in 0..1000u32 {
            for text in [format!("{v}"), format!("0{v}"), format!("{v:03}")] {
                for place in 0..4 {
                    let mut parts = ["10", "20", "30", "40"].map(String::from);
                    parts[place] = text.clone();
                    check(&parts.join("."));
                }
            }
        }
    }

    /// Deterministic pseudo-random numbers (xorshift) from `state`.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn parse_ip_answers_as_the_standard_library_on_random_strings() {
        // deterministic pseudo-random strings over an alphabet of what addresses are made of
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        const ALPHABET: &[u8] = b"0123456789......:abfx/ 9521";
        for _ in 0..200_000 {
            let len = (next() % 18) as usize;
            let s: String = (0..len)
                .map(|_| char::from(ALPHABET[(next() % ALPHABET.len() as u64) as usize]))
                .collect();
            check(&s);
            // and addresses, printed then mangled at one place
            let addr = Ipv4Addr::from(next() as u32);
            let ip = addr.to_string();
            check(&ip);
            // printed addresses take the fast path
            assert_eq!(canonical_dotted_quad(ip.as_bytes()), Some(addr));
            let mut b = ip.into_bytes();
            let at = (next() % b.len() as u64) as usize;
            b[at] = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
            check(std::str::from_utf8(&b).unwrap());
        }
    }

    #[test]
    fn network_text_is_display_for_every_octet_length_and_family() {
        let mut out = String::from("x");
        let mut check = |net: IpNet| {
            out.truncate(1);
            push_network_text(&net, &mut out);
            assert_eq!(out[1..], net.to_string());
            assert_eq!(network_text(&net), format!("{net}"));
        };
        // every octet value at every place, at every prefix length (host bits left as given)
        for v in 0..=255u8 {
            for place in 0..4 {
                let mut octets = [198, 18, 7, 10];
                octets[place] = v;
                let ip = Ipv4Addr::from(octets);
                for len in 0..=32 {
                    check(IpNet::V4(ipnet::Ipv4Net::new(ip, len).unwrap()));
                }
                let mut pushed = String::from("y");
                DottedQuad(ip).push_to(&mut pushed);
                assert_eq!(pushed, format!("y{ip}"));
            }
        }
        // deterministic pseudo-random networks of both families
        let mut next = xorshift(0x2545_f491_4f6c_dd1du64);
        for _ in 0..20_000 {
            let v4 = ipnet::Ipv4Net::new(Ipv4Addr::from(next() as u32), (next() % 33) as u8);
            check(IpNet::V4(v4.unwrap().trunc()));
            let bits = (u128::from(next()) << 64 | u128::from(next())) >> (next() % 128);
            let v6 = ipnet::Ipv6Net::new(bits.into(), (next() % 129) as u8);
            check(IpNet::V6(v6.unwrap().trunc()));
        }
    }

    #[test]
    fn network_text_appends_to_what_is_there() {
        let mut out = String::from("x");
        for net in [
            "198.18.0.0/15",
            "0.0.0.0/0",
            "10.1.2.128/25",
            "2001:db8::/32",
        ] {
            let net: IpNet = net.parse().unwrap();
            out.truncate(1);
            push_network_text(&net, &mut out);
            assert_eq!(out, format!("x{net}"));
            assert_eq!(network_text(&net), net.to_string());
        }
    }
}
