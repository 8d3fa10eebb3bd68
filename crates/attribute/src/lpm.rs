//! Longest-prefix match over IPv4 and IPv6 networks.
//!
//! The prefixes are flattened once into sorted, disjoint address ranges, each carrying the
//! most specific prefix that covers it. A lookup is then one bucket read (indexed by the top
//! address bits), for a bucket of many ranges a second read (indexed by the next few bits),
//! and a binary search over the few range starts there: two to four cache lines per lookup,
//! whatever the size of the table.
//!
//! Sorting the prefixes and flattening them is what takes time. An attributor's snapshot
//! (`crate::snapshot`) stores the networks and the ranges as built; loading checks them and
//! builds the bucket index again in one pass over the ranges.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::snapshot::{Reader, SnapshotError, Writer, u32_le, u128_le};

/// The prefix length that marks "no prefix covers this range".
const NONE: u8 = u8::MAX;

/// An address as an unsigned integer.
trait Addr: Copy + Ord {
    const ZERO: Self;
    const MAX: Self;
    /// Bits of the address used to pick a bucket.
    const BUCKET_BITS: u32;
    /// Tables of at most this many ranges get no bucket index: they are searched whole.
    const UNINDEXED: usize;
    fn bucket(self) -> usize;
    /// The next `bits` bits after the bucket's.
    fn sub_bucket(self, bits: u32) -> usize;
    /// The first address of a bucket.
    #[cfg(test)]
    fn bucket_start(bucket: usize) -> Self;
    /// The first address of sub-bucket `sub` of a bucket split by the next `bits` bits.
    #[cfg(test)]
    fn sub_bucket_start(bucket: usize, bits: u32, sub: usize) -> Self;
    fn next(self) -> Self;
    /// The longest prefix length.
    const LEN: u8;
    /// Bytes of an address in a snapshot.
    const BYTES: usize;
    fn write(self, w: &mut Writer);
    /// From the first [`Addr::BYTES`] bytes, little-endian.
    fn read(bytes: &[u8]) -> Self;
}

impl Addr for u32 {
    const ZERO: Self = 0;
    const MAX: Self = u32::MAX;
    // 2^16 buckets (a 256 KiB index): a bucket of a full routing table holds from none to
    // hundreds of ranges, and those of many a sub-index of up to /24s
    const BUCKET_BITS: u32 = 16;
    const UNINDEXED: usize = 64;
    fn bucket(self) -> usize {
        (self >> (32 - Self::BUCKET_BITS)) as usize
    }
    fn sub_bucket(self, bits: u32) -> usize {
        (self << Self::BUCKET_BITS >> (32 - bits)) as usize
    }
    #[cfg(test)]
    fn bucket_start(bucket: usize) -> Self {
        (bucket as u32) << (32 - Self::BUCKET_BITS)
    }
    #[cfg(test)]
    fn sub_bucket_start(bucket: usize, bits: u32, sub: usize) -> Self {
        Self::bucket_start(bucket) | (sub as u32) << (32 - Self::BUCKET_BITS - bits)
    }
    fn next(self) -> Self {
        self + 1
    }
    const LEN: u8 = 32;
    const BYTES: usize = 4;
    fn write(self, w: &mut Writer) {
        w.u32(self);
    }
    fn read(bytes: &[u8]) -> Self {
        u32_le(bytes)
    }
}

impl Addr for u128 {
    const ZERO: Self = 0;
    const MAX: Self = u128::MAX;
    // 2^20 buckets (a 4 MiB index), as most IPv6 prefixes share their first 16 bits or so
    const BUCKET_BITS: u32 = 20;
    const UNINDEXED: usize = 1024;
    fn bucket(self) -> usize {
        (self >> (128 - Self::BUCKET_BITS)) as usize
    }
    fn sub_bucket(self, bits: u32) -> usize {
        (self << Self::BUCKET_BITS >> (128 - bits)) as usize
    }
    #[cfg(test)]
    fn bucket_start(bucket: usize) -> Self {
        (bucket as u128) << (128 - Self::BUCKET_BITS)
    }
    #[cfg(test)]
    fn sub_bucket_start(bucket: usize, bits: u32, sub: usize) -> Self {
        Self::bucket_start(bucket) | (sub as u128) << (128 - Self::BUCKET_BITS - bits)
    }
    fn next(self) -> Self {
        self + 1
    }
    const LEN: u8 = 128;
    const BYTES: usize = 16;
    fn write(self, w: &mut Writer) {
        w.u128(self);
    }
    fn read(bytes: &[u8]) -> Self {
        u128_le(bytes)
    }
}

/// Buckets with more ranges than this get a sub-index; fewer are searched whole.
const DENSE: usize = 16;

/// A sub-index splits its bucket by the next few address bits, into as many sub-buckets as
/// the bucket has ranges (rounded up to a power of two) but at most 2^8 (/24s for IPv4): a
/// sub-bucket holds a range or two, and the sub-indexes take two to three bytes per range
/// (some 5 MiB for a full routing table of a million prefixes, against 24 MiB of ranges).
const MAX_SUB_BITS: u32 = 8;

/// In a bucket index entry, marks the number of a sub-index rather than a range.
const SUB_INDEX: u32 = 1 << 31;

/// What covers a range: the value and prefix length of the most specific network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    value: u32,
    len: u8,
}

const MISS: Hit = Hit {
    value: 0,
    len: NONE,
};

/// Where a dense bucket's sub-index is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SubIndex {
    /// The first range starting in the bucket or after it.
    base: u32,
    /// Where its entries start in [`Ranges::sub`].
    at: u32,
    /// The address bits after the bucket's that pick a sub-bucket.
    bits: u32,
}

/// Disjoint ranges of one address family: range `i` runs from `ranges[i].0` to
/// `ranges[i + 1].0 - 1` and is covered by `ranges[i].1` (or by nothing).
#[derive(Debug, Clone)]
struct Ranges<A> {
    ranges: Vec<(A, Hit)>,
    /// Empty for a small table, else per bucket `b`: the first range starting in it or after
    /// it, or (with [`SUB_INDEX`] set) the number of its sub-index. One more entry at the
    /// end: `ranges.len()`.
    index: Vec<u32>,
    /// The sub-indexes, by number.
    subs: Vec<SubIndex>,
    /// Per sub-index, from its `at`, one entry per sub-bucket: the first range starting in it
    /// or after it, less the sub-index's `base`; then one more, the number of ranges starting
    /// in the bucket.
    sub: Vec<u16>,
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
        ranges.shrink_to_fit();
        Self::indexed(ranges)
    }

    /// The table of these ranges, with its index.
    fn indexed(ranges: Vec<(A, Hit)>) -> Self {
        let mut table = Ranges {
            ranges,
            index: Vec::new(),
            subs: Vec::new(),
            sub: Vec::new(),
        };
        // Small tables are searched whole; the index would only cost memory.
        if table.ranges.len() > A::UNINDEXED {
            table.build_index();
        }
        table
    }

    /// The bucket index, and the sub-indexes of the dense buckets, in one pass over the
    /// ranges: per bucket, the first range starting in it or after it; per sub-bucket of a
    /// dense bucket, the same less the bucket's first (`index_by_search` in the tests is the
    /// plain statement of it, a binary search each). A snapshot stores only the ranges and
    /// this builds the rest when it is loaded, faster than reading it would be
    /// (`benches/snapshot.rs`).
    fn build_index(&mut self) {
        let ranges = &self.ranges;
        assert!(
            ranges.len() < SUB_INDEX as usize,
            "too many ranges to index"
        );
        let buckets = 1usize << A::BUCKET_BITS;
        let mut index = Vec::with_capacity(buckets + 1);
        // the first range of the next bucket with ranges
        let mut base = 0;
        while let Some(&(start, _)) = ranges.get(base) {
            let bucket = start.bucket();
            let mut end = base + 1;
            while end < ranges.len() && ranges[end].0.bucket() == bucket {
                end += 1;
            }
            // the empty buckets before it have its first range first
            index.resize(bucket, base as u32);
            // a sub-index for a dense bucket (a bucket of 2^16 ranges or more would not fit
            // its numbers, and is searched whole)
            let count = end - base;
            if count <= DENSE || count >= usize::from(u16::MAX) {
                index.push(base as u32);
                base = end;
                continue;
            }
            let bits = (usize::BITS - (count - 1).leading_zeros()).min(MAX_SUB_BITS);
            index.push(SUB_INDEX | self.subs.len() as u32);
            self.subs.push(SubIndex {
                base: base as u32,
                at: self.sub.len() as u32,
                bits,
            });
            // range `j` of the bucket is the first of the sub-buckets after the previous
            // range's up to its own; the bucket's end, of those after the last range's, and
            // one more entry
            self.sub.reserve((1 << bits) + 1);
            let mut sub_bucket = 0;
            for j in 0..count {
                let last = ranges[base + j].0.sub_bucket(bits);
                while sub_bucket <= last {
                    self.sub.push(j as u16);
                    sub_bucket += 1;
                }
            }
            while sub_bucket <= 1 << bits {
                self.sub.push(count as u16);
                sub_bucket += 1;
            }
            base = end;
        }
        index.resize(buckets + 1, ranges.len() as u32);
        self.index = index;
    }

    /// The first range starting in bucket `bucket` or after it.
    #[inline]
    fn bucket_first(&self, bucket: usize) -> usize {
        let entry = self.index[bucket];
        if entry & SUB_INDEX == 0 {
            entry as usize
        } else {
            self.subs[(entry & !SUB_INDEX) as usize].base as usize
        }
    }

    #[inline]
    fn find(&self, addr: A) -> Hit {
        let (lo, hi) = if self.index.is_empty() {
            (0, self.ranges.len())
        } else {
            let bucket = addr.bucket();
            let entry = self.index[bucket];
            if entry & SUB_INDEX == 0 {
                (entry as usize, self.bucket_first(bucket + 1))
            } else {
                let sub = self.subs[(entry & !SUB_INDEX) as usize];
                let base = sub.base as usize;
                let at = sub.at as usize + addr.sub_bucket(sub.bits);
                (
                    base + usize::from(self.sub[at]),
                    base + usize::from(self.sub[at + 1]),
                )
            }
        };
        // The range containing `addr` is the last one starting at it or before; ranges[0]
        // starts at 0, and every range before `lo` starts before `addr`, so `pos >= 1`.
        let pos = lo + self.ranges[lo..hi].partition_point(|r| r.0 <= addr);
        self.ranges[pos - 1].1
    }

    /// Writes the ranges as they are (the index is built again when they are read); the
    /// layout is in the `snapshot` module's documentation.
    fn write(&self, w: &mut Writer) {
        w.count(self.ranges.len());
        for &(start, hit) in &self.ranges {
            start.write(w);
            w.u32(hit.value);
            w.u8(hit.len);
        }
    }

    /// Reads ranges written by [`Ranges::write`], checks them (see [`check_ranges`]; hits'
    /// values must be below `values`, if given) and indexes them.
    fn read(r: &mut Reader<'_>, values: Option<u32>) -> Result<Self, SnapshotError> {
        let start = r.offset();
        let size = A::BYTES + 5;
        let n = r.count(size)?;
        let mut ranges = Vec::with_capacity(n);
        for c in r.items(n, size)?.chunks_exact(size) {
            let hit = Hit {
                value: u32_le(&c[A::BYTES..]),
                len: c[A::BYTES + 4],
            };
            ranges.push((A::read(c), hit));
        }
        check_ranges(&ranges, values).map_err(|what| Reader::corrupt_at(start, what))?;
        Ok(Self::indexed(ranges))
    }
}

/// Checks ranges as [`Ranges::build`] makes them, which is what [`Ranges::find`] and
/// [`RangeMap::longest`] rely on: in order from address 0, each hit's prefix length in range
/// (or none) and its value below `values`, if given.
fn check_ranges<A: Addr>(ranges: &[(A, Hit)], values: Option<u32>) -> Result<(), String> {
    if ranges.first().map(|r| r.0) != Some(A::ZERO) {
        return Err("a range table that does not start at address 0".into());
    }
    let limit = values.map_or(u64::MAX, u64::from);
    let mut previous = None;
    for (i, &(start, hit)) in ranges.iter().enumerate() {
        if previous >= Some(start) {
            return Err(format!("ranges {} and {i} out of order", i - 1));
        }
        previous = Some(start);
        if hit != MISS && (hit.len > A::LEN || u64::from(hit.value) >= limit) {
            return Err(format!(
                "range {i}: prefix length {} or value {} out of range",
                hit.len, hit.value
            ));
        }
    }
    if ranges.len() >= SUB_INDEX as usize {
        return Err(format!("{} ranges, too many to index", ranges.len()));
    }
    Ok(())
}

/// Reads the entries of one family as [`PrefixMap::write`] writes them (address, length,
/// value), checking that they are sorted and distinct, their values below `values` if given,
/// and that `net` makes a network of each (a length in range, no host bits).
fn read_entries<A: Addr, N: std::fmt::Display>(
    bytes: &[u8],
    values: Option<u32>,
    net: impl Fn(A, u8) -> Option<N>,
) -> Result<Vec<(N, u32)>, String> {
    let mut entries = Vec::with_capacity(bytes.len() / (A::BYTES + 5));
    let mut previous = None;
    for c in bytes.chunks_exact(A::BYTES + 5) {
        let (addr, len) = (A::read(c), c[A::BYTES]);
        let value = u32_le(&c[A::BYTES + 1..]);
        let (Some(net), true) = (net(addr, len), previous < Some((addr, len))) else {
            return Err(format!(
                "entry {}: a network out of order, too long or with host bits",
                entries.len()
            ));
        };
        if values.is_some_and(|n| value >= n) {
            return Err(format!("entry {net}: value {value} out of range"));
        }
        previous = Some((addr, len));
        entries.push((net, value));
    }
    Ok(entries)
}

/// The longest-prefix index of a [`PrefixMap`] alone: answers [`RangeMap::longest`] but
/// cannot find or list networks. The routing table keeps only this: nothing asks it for more,
/// and a full table's networks are a fifth of its memory.
#[derive(Debug, Clone)]
pub(crate) struct RangeMap {
    v4: Ranges<u32>,
    v6: Ranges<u128>,
    /// The number of distinct networks it was made of.
    len: usize,
}

impl RangeMap {
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

    /// Number of distinct networks it was made of.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes the number of networks and the ranges (not their index, built again when they
    /// are read); the layout is in the `snapshot` module's documentation.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.count(self.len);
        self.v4.write(w);
        self.v6.write(w);
    }

    /// Reads a map written by [`RangeMap::write`]; every value must be below `values`, if
    /// given.
    pub(crate) fn read(r: &mut Reader<'_>, values: Option<u32>) -> Result<Self, SnapshotError> {
        let len = r.u32()? as usize;
        Ok(RangeMap {
            v4: Ranges::read(r, values)?,
            v6: Ranges::read(r, values)?,
            len,
        })
    }
}

/// A map from networks to `u32` values answering "which is the longest network containing
/// this address" (and which contain it, and which is exactly this one). Built once; read-only
/// afterwards.
#[derive(Debug, Clone)]
pub(crate) struct PrefixMap {
    /// The IPv4 networks, sorted (by address, then length); duplicates removed (the first
    /// one kept). Apart from the IPv6 ones, at half the size of an `IpNet` each.
    v4_entries: Vec<(Ipv4Net, u32)>,
    /// The IPv6 networks, likewise.
    v6_entries: Vec<(Ipv6Net, u32)>,
    ranges: RangeMap,
}

impl PrefixMap {
    /// Builds the map. Host bits are cleared; of two equal networks the first is kept.
    pub(crate) fn new(mut entries: Vec<(IpNet, u32)>) -> Self {
        for (net, _) in &mut entries {
            *net = net.trunc();
        }
        entries.sort_by_key(|e| e.0);
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut v4_entries = Vec::new();
        let mut v6_entries = Vec::new();
        for (net, value) in entries {
            match net {
                IpNet::V4(n) => v4_entries.push((n, value)),
                IpNet::V6(n) => v6_entries.push((n, value)),
            }
        }
        let hit = |value, len| Hit { value, len };
        let v4 = Ranges::build(v4_entries.iter().map(|&(n, value)| {
            let (first, last) = (n.network().into(), n.broadcast().into());
            (first, last, hit(value, n.prefix_len()))
        }));
        let v6 = Ranges::build(v6_entries.iter().map(|&(n, value)| {
            let (first, last) = (n.network().into(), n.broadcast().into());
            (first, last, hit(value, n.prefix_len()))
        }));
        v4_entries.shrink_to_fit();
        v6_entries.shrink_to_fit();
        let len = v4_entries.len() + v6_entries.len();
        PrefixMap {
            v4_entries,
            v6_entries,
            ranges: RangeMap { v4, v6, len },
        }
    }

    /// The longest-prefix index alone.
    pub(crate) fn into_ranges(self) -> RangeMap {
        self.ranges
    }

    /// The longest network containing `ip`, with its value.
    #[inline]
    pub(crate) fn longest(&self, ip: IpAddr) -> Option<(IpNet, u32)> {
        self.ranges.longest(ip)
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
        match net {
            IpNet::V4(net) => exact(&self.v4_entries, net).map(|(n, v)| (IpNet::V4(n), v)),
            IpNet::V6(net) => exact(&self.v6_entries, net).map(|(n, v)| (IpNet::V6(n), v)),
        }
    }

    /// Number of distinct networks.
    pub(crate) fn len(&self) -> usize {
        self.v4_entries.len() + self.v6_entries.len()
    }

    /// Writes the map as built, entries and ranges; the layout is in the `snapshot` module's
    /// documentation.
    pub(crate) fn write(&self, w: &mut Writer) {
        w.count(self.v4_entries.len());
        for &(net, value) in &self.v4_entries {
            w.u32(u32::from(net.addr()));
            w.u8(net.prefix_len());
            w.u32(value);
        }
        w.count(self.v6_entries.len());
        for &(net, value) in &self.v6_entries {
            w.u128(u128::from(net.addr()));
            w.u8(net.prefix_len());
            w.u32(value);
        }
        self.ranges.write(w);
    }

    /// Reads a map written by [`PrefixMap::write`], checking what its lookups rely on (the
    /// entries sorted, distinct and without host bits, the ranges as [`check_ranges`] says);
    /// every value must be below `values`, if given.
    pub(crate) fn read(r: &mut Reader<'_>, values: Option<u32>) -> Result<Self, SnapshotError> {
        let start = r.offset();
        let n = r.count(9)?;
        let v4 = r.items(n, 9)?;
        let v4_entries = read_entries(v4, values, |a: u32, len| {
            let net = Ipv4Net::new(Ipv4Addr::from(a), len).ok()?;
            (u32::from(net.network()) == a).then_some(net)
        });
        let v4_entries = v4_entries.map_err(|what| Reader::corrupt_at(start, what))?;
        let start = r.offset();
        let n = r.count(21)?;
        let v6 = r.items(n, 21)?;
        let v6_entries = read_entries(v6, values, |a: u128, len| {
            let net = Ipv6Net::new(Ipv6Addr::from(a), len).ok()?;
            (u128::from(net.network()) == a).then_some(net)
        });
        let v6_entries = v6_entries.map_err(|what| Reader::corrupt_at(start, what))?;
        let start = r.offset();
        let ranges = RangeMap::read(r, values)?;
        if ranges.len != v4_entries.len() + v6_entries.len() {
            let what = format!(
                "ranges of {} networks for {} entries",
                ranges.len,
                v4_entries.len() + v6_entries.len()
            );
            return Err(Reader::corrupt_at(start, what));
        }
        Ok(PrefixMap {
            v4_entries,
            v6_entries,
            ranges,
        })
    }
}

/// The entry for exactly `net` in sorted `entries`.
fn exact<N: Ord + Copy>(entries: &[(N, u32)], net: &N) -> Option<(N, u32)> {
    let i = entries.binary_search_by(|(n, _)| n.cmp(net)).ok()?;
    Some(entries[i])
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

    /// The longest of `nets` containing `ip`, by trying every prefix length.
    fn naive(nets: &std::collections::HashMap<IpNet, u32>, ip: IpAddr) -> Option<(IpNet, u32)> {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        (0..=max).rev().find_map(|len| {
            let net = IpNet::new(ip, len).unwrap().trunc();
            nets.get(&net).map(|&v| (net, v))
        })
    }

    /// Deterministic pseudo-random numbers from `seed`.
    fn numbers(seed: u64) -> impl FnMut() -> u64 {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        move || rng.r#gen::<u64>()
    }

    /// Checks `longest` against [`naive`] for the addresses around the networks' ends and for
    /// `probes` random addresses in the networks and anywhere, and the index against
    /// [`index_by_search`].
    fn check_against_naive(nets: Vec<(IpNet, u32)>, probes: usize, seed: u64) -> PrefixMap {
        let m = PrefixMap::new(nets.clone());
        check_index(&m.ranges.v4);
        check_index(&m.ranges.v6);
        let mut first = std::collections::HashMap::new();
        for &(net, v) in &nets {
            first.entry(net.trunc()).or_insert(v);
        }
        let mut next = numbers(seed);
        let check = |ip: IpAddr| assert_eq!(m.longest(ip), naive(&first, ip), "{ip}");
        // the next address up or down (adding all ones is taking one away)
        let step = |ip: IpAddr, up: bool| {
            let by = if up { 1 } else { u128::MAX };
            match ip {
                IpAddr::V4(a) => IpAddr::V4(u32::from(a).wrapping_add(by as u32).into()),
                IpAddr::V6(a) => IpAddr::V6(u128::from(a).wrapping_add(by).into()),
            }
        };
        // (of large tables, every few networks)
        for &(net, _) in nets.iter().step_by(nets.len().div_ceil(5_000)) {
            for ip in [net.network(), net.broadcast()] {
                check(ip);
                check(step(ip, true));
                check(step(ip, false));
            }
        }
        for _ in 0..probes {
            let (net, _) = nets[(next() % nets.len() as u64) as usize];
            let bits = u128::from(next()) << 64 | u128::from(next());
            match net {
                IpNet::V4(n) => {
                    let host = bits as u32 & u32::from(n.hostmask());
                    check(IpAddr::V4((u32::from(n.network()) | host).into()));
                    check(IpAddr::V4(Ipv4Addr::from(bits as u32)));
                }
                IpNet::V6(n) => {
                    let host = bits & u128::from(n.hostmask());
                    check(IpAddr::V6((u128::from(n.network()) | host).into()));
                    check(IpAddr::V6(Ipv6Addr::from(bits)));
                }
            }
        }
        m
    }

    #[test]
    fn every_index_shape_matches_a_naive_search() {
        let mut next = numbers(0x9e37_79b9_7f4a_7c15);
        // a routing table as the throughput benchmark has it: mostly /24s in one /15, a few
        // wider prefixes over them (sub-indexes for both of its /16s)
        let mut nets: Vec<(IpNet, u32)> = (0..380)
            .map(|i| {
                let len = if i % 20 == 0 {
                    19 + (next() % 5) as u8
                } else {
                    24
                };
                let addr = Ipv4Addr::from(0xc612_0000 | (next() as u32 & 0x1_ffff));
                (IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc()), i)
            })
            .collect();
        let m = check_against_naive(nets.clone(), 20_000, 1);
        assert_eq!(m.ranges.v4.subs.len(), 2);
        assert!(m.ranges.v4.subs.iter().all(|s| s.bits == MAX_SUB_BITS));
        // with networks elsewhere, /0 and /32 among them
        nets.extend(
            [
                "0.0.0.0/0",
                "198.18.7.10/32",
                "255.255.255.255/32",
                "10.0.0.0/8",
                "198.0.0.0/8",
            ]
            .iter()
            .map(|n| (n.parse().unwrap(), 7)),
        );
        check_against_naive(nets, 20_000, 2);
        // small tables, searched whole
        let small: Vec<(IpNet, u32)> = (0..20)
            .map(|i| {
                let net = Ipv4Net::new(Ipv4Addr::from(next() as u32), (next() % 33) as u8);
                (IpNet::V4(net.unwrap().trunc()), i)
            })
            .collect();
        let m = check_against_naive(small, 5_000, 3);
        assert!(m.ranges.v4.index.is_empty());
        // a full table's mix: many buckets, more dense ones than get a sub-index
        let spread: Vec<(IpNet, u32)> = (0..30_000)
            .map(|i| {
                let bucket = (next() % 2000) as u32 * 32;
                let addr = Ipv4Addr::from(bucket << 16 | (next() as u32 & 0xffff));
                let len = [8, 12, 16, 20, 22, 24, 24, 24, 25, 28, 32][(next() % 11) as usize];
                (IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc()), i)
            })
            .collect();
        let m = check_against_naive(spread, 50_000, 4);
        // every bucket of more than a few ranges has a sub-index, of as many sub-buckets
        for b in 0..1 << 16 {
            let count = m.ranges.v4.bucket_first(b + 1) - m.ranges.v4.bucket_first(b);
            let entry = m.ranges.v4.index[b];
            assert_eq!(entry & SUB_INDEX != 0, count > DENSE, "bucket {b}");
            if entry & SUB_INDEX != 0 {
                let bits = m.ranges.v4.subs[(entry & !SUB_INDEX) as usize].bits;
                let fits = count <= 1 << bits || bits == MAX_SUB_BITS;
                assert!(fits && count > 1 << (bits - 1), "bucket {b}");
            }
        }
        // one bucket of more ranges than a sub-index numbers: every /32 of a /16
        let full: Vec<(IpNet, u32)> = (0..1u32 << 16)
            .map(|i| {
                (
                    IpNet::V4(Ipv4Net::new((0x0a01_0000 | i).into(), 32).unwrap()),
                    i,
                )
            })
            .collect();
        let m = check_against_naive(full, 2_000, 5);
        assert!(m.ranges.v4.subs.is_empty());
        // IPv6: small, and indexed with sub-indexes
        for (count, seed) in [(300, 6), (5_000, 7)] {
            let v6: Vec<(IpNet, u32)> = (0..count)
                .map(|i| {
                    let top = [0x2001_0db8u128, 0x2a02_0000, 0x2600_0000][(next() % 3) as usize];
                    let bits = top << 96 | (u128::from(next()) << 64 | u128::from(next())) >> 40;
                    let len = [20, 29, 32, 36, 40, 44, 48, 56, 64, 128][(next() % 10) as usize];
                    let net = Ipv6Net::new(bits.into(), len).unwrap().trunc();
                    (IpNet::V6(net), i)
                })
                .collect();
            let m = check_against_naive(v6, 20_000, seed);
            assert_eq!(m.ranges.v6.subs.is_empty(), count < 1024);
        }
    }

    /// The index `build_index` makes in one pass, as it was first made: by a binary search
    /// for each bucket's and each sub-bucket's first range.
    fn index_by_search<A: Addr>(ranges: &[(A, Hit)]) -> (Vec<u32>, Vec<SubIndex>, Vec<u16>) {
        let buckets = 1usize << A::BUCKET_BITS;
        let first_from =
            |from: usize, start: A| from + ranges[from..].partition_point(|r| r.0 < start);
        let mut index = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for bucket in 0..buckets {
            at = first_from(at, A::bucket_start(bucket));
            index.push(at as u32);
        }
        index.push(ranges.len() as u32);
        let (mut subs, mut sub) = (Vec::new(), Vec::new());
        for bucket in 0..buckets {
            let (base, end) = (index[bucket] as usize, index[bucket + 1] as usize);
            let count = end - base;
            if count <= DENSE || count >= usize::from(u16::MAX) {
                continue;
            }
            let bits = (usize::BITS - (count - 1).leading_zeros()).min(MAX_SUB_BITS);
            index[bucket] = SUB_INDEX | subs.len() as u32;
            subs.push(SubIndex {
                base: base as u32,
                at: sub.len() as u32,
                bits,
            });
            let mut at = base;
            for k in 0..1 << bits {
                at = first_from(at, A::sub_bucket_start(bucket, bits, k)).min(end);
                sub.push((at - base) as u16);
            }
            sub.push(count as u16);
        }
        (index, subs, sub)
    }

    /// Checks a table's index against [`index_by_search`].
    fn check_index<A: Addr>(table: &Ranges<A>) {
        if table.ranges.len() <= A::UNINDEXED {
            assert!(table.index.is_empty() && table.subs.is_empty() && table.sub.is_empty());
        } else {
            let (index, subs, sub) = index_by_search(&table.ranges);
            assert!(table.index == index && table.subs == subs && table.sub == sub);
        }
    }

    /// Loading a snapshot relies on `check_ranges` accepting every table `build` makes and
    /// refusing what a lookup cannot take.
    #[test]
    fn check_ranges_accepts_built_tables_and_refuses_broken_ones() {
        let mut next = numbers(0x5eed);
        let nets: Vec<(IpNet, u32)> = (0..5_000)
            .map(|i| {
                let addr = Ipv4Addr::from(((next() % 50) as u32 * 64) << 16 | next() as u32 >> 16);
                let len = [8, 16, 20, 22, 24, 24, 24, 28, 32][(next() % 9) as usize];
                let v4 = IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc());
                let bits = 0x2001_0db8u128 << 96 | u128::from(next()) << 40;
                let v6 = IpNet::V6(Ipv6Net::new(bits.into(), 48).unwrap().trunc());
                (if i % 4 == 0 { v6 } else { v4 }, i)
            })
            .collect();
        let m = PrefixMap::new(nets);
        assert_eq!(check_ranges(&m.ranges.v4.ranges, Some(5_000)), Ok(()));
        assert_eq!(check_ranges(&m.ranges.v6.ranges, Some(5_000)), Ok(()));
        assert!(check_ranges(&m.ranges.v4.ranges, Some(4_999)).is_err());
        let broken = |change: fn(&mut Vec<(u32, Hit)>)| {
            let mut ranges = m.ranges.v4.ranges.clone();
            change(&mut ranges);
            check_ranges(&ranges, None).is_err()
        };
        assert!(broken(|r| r.swap(10, 11)));
        assert!(broken(|r| r[10].0 = r[9].0));
        assert!(broken(|r| r[10].1.len = 33));
        assert!(broken(|r| {
            r.remove(0);
        }));
        assert!(broken(|r| r.clear()));
        let mut ranges = m.ranges.v6.ranges.clone();
        ranges[3].1.len = 129;
        assert!(check_ranges(&ranges, None).is_err());
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
