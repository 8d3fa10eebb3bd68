//! Address text on hot paths.

use std::fmt;
use std::net::Ipv4Addr;

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
    /// The text in a buffer: the bytes and how many of them are used.
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
    pub fn push_to(self, out: &mut String) {
        let (buf, n) = self.text();
        // only ASCII digits and dots were written
        out.extend(buf[..n].iter().map(|&b| char::from(b)));
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
/// what attribution writes as `source.network` for every event.
pub fn network_text(net: &IpNet) -> String {
    match net {
        IpNet::V4(v4) => {
            let mut out = String::with_capacity(18);
            DottedQuad(v4.addr()).push_to(&mut out);
            out.push('/');
            let len = v4.prefix_len();
            if len >= 10 {
                out.push(char::from(b'0' + len / 10));
            }
            out.push(char::from(b'0' + len % 10));
            out
        }
        IpNet::V6(_) => net.to_string(),
    }
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
}
