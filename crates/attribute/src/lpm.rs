//! Longest-prefix match over IPv4 and IPv6 networks.
//!
//! The prefixes are flattened once into sorted, disjoint address ranges, each carrying the
//! most specific prefix that covers it. A lookup is then one bucket read (indexed by the top
//! 16 address bits) and a binary search over the few range starts in that bucket: two or
//! three cache lines per lookup, whatever the size of the table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The prefix length that marks "no prefix covers this range".
const NONE: u8 = u8::MAX;

/// An address as an unsigned integer.
trait Addr: Copy + Ord {
    const ZERO: Self;
    const MAX: Self;
    /// Bits of the address used to pick a bucket.
    const BUCKET_BITS: u32;
    fn bucket(self) -> usize;
    /// The first address of a bucket.
    fn bucket_start(bucket: usize) -> Self;
    fn next(self) -> Self;
}

impl Addr for u32 {
    const ZERO: Self = 0;
    const MAX: Self = u32::MAX;
    // 2^20 buckets of 4096 addresses (a 4 MiB index): with a full routing table a bucket
    // holds one or two ranges, so a lookup touches about two cache lines.
    const BUCKET_BITS: u32 = 20;
    fn bucket(self) -> usize {
        (self >> (32 - Self::BUCKET_BITS)) as usize
    }
    fn bucket_start(bucket: usize) -> Self {
        (bucket as u32) << (32 - Self::BUCKET_BITS)
    }
    fn next(self) -> Self {
        self + 1
    }
}

impl Addr for u128 {
    const ZERO: Self = 0;
    const MAX: Self = u128::MAX;
    const BUCKET_BITS: u32 = 20;
    fn bucket(self) -> usize {
        (self >> (128 - Self::BUCKET_BITS)) as usize
    }
    fn bucket_start(bucket: usize) -> Self {
        (bucket as u128) << (128 - Self::BUCKET_BITS)
    }
    fn next(self) -> Self {
        self + 1
    }
}

/// What covers a range: the value and prefix length of the most specific network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    value: u32,
    len: u8,
}

/// Tables of at most this many ranges get no bucket index.
const SMALL: usize = 1024;

const MISS: Hit = Hit {
    value: 0,
    len: NONE,
};

/// Disjoint ranges of one address family: range `i` runs from `ranges[i].0` to
/// `ranges[i + 1].0 - 1` and is covered by `ranges[i].1` (or by nothing).
#[derive(Debug, Clone)]
struct Ranges<A> {
    ranges: Vec<(A, Hit)>,
    /// `index[b]..index[b + 1]` are the ranges starting inside bucket `b`.
    index: Vec<u32>,
}

impl<A: Addr> Ranges<A> {
    /// Builds from `(first, last, hit)` sorted by first address, then widest first.
    fn build(prefixes: impl Iterator<Item = (A, A, Hit)>) -> Self {
        let mut ranges = vec![(A::ZERO, MISS)];
        let mut emit = |at: A, hit: Hit| {
            let last = ranges.len() - 1;
            if ranges[last].0 == at {
                ranges[last].1 = hit;
            } else if ranges[last].1 != hit {
                ranges.push((at, hit));
            }
        };
        // The prefixes that contain the current position, outermost first.
        let mut open: Vec<(A, Hit)> = Vec::new();
        for (first, last, hit) in prefixes {
            while let Some(&(end, _)) = open.last() {
                if end >= first {
                    break;
                }
                open.pop();
                emit(end.next(), open.last().map_or(MISS, |o| o.1));
            }
            open.push((last, hit));
            emit(first, hit);
        }
        while let Some((end, _)) = open.pop() {
            if end != A::MAX {
                emit(end.next(), open.last().map_or(MISS, |o| o.1));
            }
        }
        // Small tables are searched whole; the index would only cost memory.
        let mut index = Vec::new();
        if ranges.len() > SMALL {
            let buckets = 1usize << A::BUCKET_BITS;
            index.reserve_exact(buckets + 1);
            for bucket in 0..buckets {
                let start = A::bucket_start(bucket);
                index.push(ranges.partition_point(|r| r.0 < start) as u32);
            }
            index.push(ranges.len() as u32);
        }
        ranges.shrink_to_fit();
        Ranges { ranges, index }
    }

    #[inline]
    fn find(&self, addr: A) -> Hit {
        let (lo, hi) = if self.index.is_empty() {
            (0, self.ranges.len())
        } else {
            let bucket = addr.bucket();
            (self.index[bucket] as usize, self.index[bucket + 1] as usize)
        };
        // ranges[0] starts at 0, so at least one start is <= addr and `pos >= 1`.
        let pos = lo + self.ranges[lo..hi].partition_point(|r| r.0 <= addr);
        self.ranges[pos - 1].1
    }
}

/// A map from networks to `u32` values answering "which is the longest network containing
/// this address". Built once; read-only afterwards.
#[derive(Debug, Clone)]
pub(crate) struct PrefixMap {
    /// Sorted by network (family, address, length); duplicates removed (the first one kept).
    entries: Vec<(IpNet, u32)>,
    v4: Ranges<u32>,
    v6: Ranges<u128>,
}

impl PrefixMap {
    /// Builds the map. Host bits are cleared; of two equal networks the first is kept.
    pub(crate) fn new(mut entries: Vec<(IpNet, u32)>) -> Self {
        for (net, _) in &mut entries {
            *net = net.trunc();
        }
        entries.sort_by_key(|e| e.0);
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        let v4 = Ranges::build(entries.iter().filter_map(|&(net, value)| match net {
            IpNet::V4(n) => Some((
                u32::from(n.network()),
                u32::from(n.broadcast()),
                Hit {
                    value,
                    len: n.prefix_len(),
                },
            )),
            IpNet::V6(_) => None,
        }));
        let v6 = Ranges::build(entries.iter().filter_map(|&(net, value)| match net {
            IpNet::V6(n) => Some((
                u128::from(n.network()),
                u128::from(n.broadcast()),
                Hit {
                    value,
                    len: n.prefix_len(),
                },
            )),
            IpNet::V4(_) => None,
        }));
        entries.shrink_to_fit();
        PrefixMap { entries, v4, v6 }
    }

    /// The longest network containing `ip`, with its value.
    #[inline]
    pub(crate) fn longest(&self, ip: IpAddr) -> Option<(IpNet, u32)> {
        match ip {
            // the host bits cleared here: `trunc` is not inlined and computes the mask again
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let hit = self.v4.find(a);
                (hit.len != NONE).then(|| {
                    let mask = u32::MAX.checked_shl(32 - u32::from(hit.len)).unwrap_or(0);
                    let net = Ipv4Net::new(Ipv4Addr::from(a & mask), hit.len)
                        .expect("a stored prefix length");
                    (IpNet::V4(net), hit.value)
                })
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                let hit = self.v6.find(a);
                (hit.len != NONE).then(|| {
                    let mask = u128::MAX.checked_shl(128 - u32::from(hit.len)).unwrap_or(0);
                    let net = Ipv6Net::new(Ipv6Addr::from(a & mask), hit.len)
                        .expect("a stored prefix length");
                    (IpNet::V6(net), hit.value)
                })
            }
        }
    }

    /// Every network containing `ip`, longest first. Slower than [`PrefixMap::longest`]:
    /// one binary search per prefix length.
    pub(crate) fn covering(&self, ip: IpAddr) -> Vec<(IpNet, u32)> {
        let candidates: Vec<IpNet> = match ip {
            IpAddr::V4(a) => (0..=32u8)
                .rev()
                .filter_map(|len| Ipv4Net::new(a, len).ok().map(|n| IpNet::V4(n.trunc())))
                .collect(),
            IpAddr::V6(a) => (0..=128u8)
                .rev()
                .filter_map(|len| Ipv6Net::new(a, len).ok().map(|n| IpNet::V6(n.trunc())))
                .collect(),
        };
        candidates
            .into_iter()
            .filter_map(|net| self.exact(&net))
            .collect()
    }

    /// The entry for exactly this network.
    pub(crate) fn exact(&self, net: &IpNet) -> Option<(IpNet, u32)> {
        self.entries
            .binary_search_by(|(n, _)| n.cmp(net))
            .ok()
            .map(|i| self.entries[i])
    }

    /// Number of distinct networks.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse::<Ipv4Addr>().unwrap())
    }

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
    }

    fn map(nets: &[&str]) -> PrefixMap {
        PrefixMap::new(
            nets.iter()
                .enumerate()
                .map(|(i, n)| (n.parse().unwrap(), i as u32))
                .collect(),
        )
    }

    fn check(m: &PrefixMap, ip: IpAddr, expected: Option<&str>) {
        let got = m.longest(ip).map(|(n, _)| n.to_string());
        assert_eq!(got.as_deref(), expected, "lookup of {ip}");
    }

    #[test]
    fn nested_and_disjoint_v4() {
        let m = map(&[
            "10.0.0.0/8",
            "10.1.0.0/16",
            "10.1.2.0/24",
            "10.1.2.128/25",
            "192.0.2.0/24",
            "0.0.0.0/0",
            "255.255.255.255/32",
        ]);
        check(&m, v4("10.1.2.200"), Some("10.1.2.128/25"));
        check(&m, v4("10.1.2.127"), Some("10.1.2.0/24"));
        check(&m, v4("10.1.3.0"), Some("10.1.0.0/16"));
        check(&m, v4("10.2.0.0"), Some("10.0.0.0/8"));
        check(&m, v4("11.0.0.0"), Some("0.0.0.0/0"));
        check(&m, v4("192.0.2.255"), Some("192.0.2.0/24"));
        check(&m, v4("255.255.255.255"), Some("255.255.255.255/32"));
        check(&m, v4("255.255.255.254"), Some("0.0.0.0/0"));
        check(&m, v6("2001:db8::1"), None);
        assert_eq!(m.covering(v4("10.1.2.200")).len(), 5);
    }

    #[test]
    fn nothing_outside() {
        let m = map(&[
            "10.0.0.0/8",
            "10.255.255.0/24",
            "2001:db8::/32",
            "2001:db8:1::/48",
        ]);
        check(&m, v4("9.255.255.255"), None);
        check(&m, v4("11.0.0.0"), None);
        check(&m, v4("10.255.255.255"), Some("10.255.255.0/24"));
        check(&m, v6("2001:db8:1:2::1"), Some("2001:db8:1::/48"));
        check(&m, v6("2001:db8:2::1"), Some("2001:db8::/32"));
        check(&m, v6("2001:db9::"), None);
        check(&m, v6("::"), None);
        check(&m, v6("ffff::"), None);
    }

    #[test]
    fn the_longest_network_has_its_host_bits_cleared_at_every_length() {
        for addr in [v4("198.18.185.155"), v4("255.255.255.255"), v4("0.0.0.1")] {
            for len in 0..=32 {
                let net = IpNet::new(addr, len).unwrap().trunc();
                let m = PrefixMap::new(vec![(net, 7)]);
                assert_eq!(m.longest(addr), Some((net, 7)), "{addr} in {net}");
            }
        }
        for addr in [
            v6("2001:db8:85a3::8a2e:370:7334"),
            v6("ffff::ffff"),
            v6("::1"),
        ] {
            for len in 0..=128 {
                let net = IpNet::new(addr, len).unwrap().trunc();
                let m = PrefixMap::new(vec![(net, 7)]);
                assert_eq!(m.longest(addr), Some((net, 7)), "{addr} in {net}");
            }
        }
    }

    #[test]
    fn duplicates_keep_the_first() {
        let m = map(&["10.0.0.0/8", "10.0.0.0/8"]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.longest(v4("10.0.0.1")).unwrap().1, 0);
    }

    #[test]
    fn matches_a_naive_search() {
        // Deterministic pseudo-random prefixes, checked against a linear scan.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let nets: Vec<String> = (0..2000)
            .map(|_| {
                let addr = Ipv4Addr::from((next() as u32) & 0xff00_0000 | (next() as u32 & 0xffff));
                let len = 8 + (next() % 25) as u8;
                Ipv4Net::new(addr, len).unwrap().trunc().to_string()
            })
            .collect();
        let refs: Vec<&str> = nets.iter().map(String::as_str).collect();
        let m = map(&refs);
        let parsed: Vec<Ipv4Net> = nets.iter().map(|n| n.parse().unwrap()).collect();
        for _ in 0..20000 {
            let probe = parsed[(next() % parsed.len() as u64) as usize];
            let ip = Ipv4Addr::from(
                u32::from(probe.network()) | (next() as u32 & !u32::from(probe.netmask())),
            );
            let expected = parsed
                .iter()
                .filter(|n| n.contains(&ip))
                .max_by_key(|n| n.prefix_len())
                .map(|n| n.to_string());
            check(&m, IpAddr::V4(ip), expected.as_deref());
        }
    }
}
