//! Prefix-to-AS tables: CAIDA pfx2as, iptoasn and the plain `prefix<TAB>asn` form.
//!
//! The format is recognised from the first data line of each file. A bad line never drops
//! the file: it is reported in [`RoutingTable::errors`] with its line number and the rest is
//! read. See the crate documentation for the formats.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use baken_model::RoutedPrefix;
use ipnet::{IpNet, Ipv4Subnets, Ipv6Subnets};

/// A prefix-to-AS table format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingFormat {
    /// CAIDA RouteViews pfx2as: `prefix<TAB>length<TAB>asn`.
    Pfx2as,
    /// iptoasn.com: `range_start<TAB>range_end<TAB>asn<TAB>country<TAB>description`.
    IpToAsn,
    /// `prefix/length<TAB>asn` (also pyasn's IPASN text format).
    Simple,
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LineError {
    /// The file (or the name given to the reader).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

/// A routing table file could not be opened or read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read routing table {}: {source}", path.display())]
pub struct RoutingError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

/// What was read from one routing table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingTable {
    /// The format recognised (`None` if the file had no data line).
    pub format: Option<RoutingFormat>,
    /// The routed prefixes, in file order; an iptoasn range yields the CIDRs that cover it exactly.
    pub prefixes: Vec<RoutedPrefix>,
    /// Lines that were skipped, with why.
    pub errors: Vec<LineError>,
}

/// Reads a routing table file, recognising its format.
pub fn load_routing(path: &Path) -> Result<RoutingTable, RoutingError> {
    let file = File::open(path).map_err(|source| RoutingError {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = RoutingReader::new(path.display().to_string(), BufReader::new(file));
    let mut table = RoutingTable::default();
    for item in &mut reader {
        match item {
            Ok(p) => table.prefixes.push(p),
            Err(e) => table.errors.push(e),
        }
    }
    table.format = reader.format();
    if let Some(source) = reader.io_error.take() {
        return Err(RoutingError {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(table)
}

/// Streams a routing table: each item is a routed prefix or a line error.
///
/// ```
/// use baken_attribute::routing::{RoutingFormat, RoutingReader};
/// let data = "198.18.0.0\t16\t64496_64497\nbad line\n";
/// let mut reader = RoutingReader::new("pfx2as", data.as_bytes());
/// let first = reader.next().unwrap().unwrap();
/// assert_eq!(first.net.to_string(), "198.18.0.0/16");
/// assert_eq!(first.asn, 64496);
/// let bad = reader.next().unwrap().unwrap_err();
/// assert_eq!(bad.line, 2);
/// assert_eq!(reader.format(), Some(RoutingFormat::Pfx2as));
/// ```
pub struct RoutingReader<R> {
    name: String,
    reader: R,
    line: usize,
    buf: Vec<u8>,
    format: Option<RoutingFormat>,
    pending: Vec<RoutedPrefix>,
    io_error: Option<io::Error>,
}

impl<R> fmt::Debug for RoutingReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingReader")
            .field("name", &self.name)
            .field("line", &self.line)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> RoutingReader<R> {
    /// Reads from `reader`; `name` appears in line errors.
    pub fn new(name: impl Into<String>, reader: R) -> Self {
        RoutingReader {
            name: name.into(),
            reader,
            line: 0,
            buf: Vec::new(),
            format: None,
            pending: Vec::new(),
            io_error: None,
        }
    }

    /// The format recognised so far.
    pub fn format(&self) -> Option<RoutingFormat> {
        self.format
    }

    /// The read error that ended the stream early, if any.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.io_error.as_ref()
    }

    fn error(&self, message: String) -> LineError {
        LineError {
            file: self.name.clone(),
            line: self.line,
            message,
        }
    }
}

impl<R: BufRead> Iterator for RoutingReader<R> {
    type Item = Result<RoutedPrefix, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(p) = self.pending.pop() {
                return Some(Ok(p));
            }
            if self.io_error.is_some() {
                return None;
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => self.line += 1,
                Err(e) => {
                    self.io_error = Some(e);
                    return None;
                }
            }
            let text = String::from_utf8_lossy(&self.buf);
            let text = text.trim();
            if text.is_empty() || text.starts_with('#') || text.starts_with(';') {
                continue;
            }
            let fields: Vec<&str> = if text.contains('\t') {
                text.split('\t').map(str::trim).collect()
            } else {
                text.split_whitespace().collect()
            };
            let format = match self.format {
                Some(f) => f,
                None => match detect(&fields) {
                    Some(f) => {
                        self.format = Some(f);
                        f
                    }
                    None => {
                        return Some(Err(self.error(format!(
                            "cannot tell the table format from `{text}`; expected pfx2as (prefix, length, asn), iptoasn (start, end, asn, country, description) or prefix/length and asn, separated by tabs"
                        ))));
                    }
                },
            };
            match parse_line(format, &fields) {
                Ok(prefixes) => {
                    // Handed out in file order: `pending` is popped from the back.
                    self.pending = prefixes;
                    self.pending.reverse();
                }
                Err(message) => return Some(Err(self.error(message))),
            }
        }
    }
}

fn detect(fields: &[&str]) -> Option<RoutingFormat> {
    let is_ip = |s: &str| s.parse::<IpAddr>().is_ok();
    match fields {
        [a, b, ..] if is_ip(a) && is_ip(b) => Some(RoutingFormat::IpToAsn),
        [a, len, _] if is_ip(a) && len.parse::<u8>().is_ok() => Some(RoutingFormat::Pfx2as),
        [net, _] if net.parse::<IpNet>().is_ok() => Some(RoutingFormat::Simple),
        _ => None,
    }
}

/// The first AS of a pfx2as origin field: `64496`, multi-origin `64496_64497`, AS set
/// `64496,64497` or both mixed.
fn first_asn(field: &str) -> Option<u32> {
    let first = field.split(['_', ',']).next()?;
    crate::registry::parse_asn(first)
}

fn parse_line(format: RoutingFormat, fields: &[&str]) -> Result<Vec<RoutedPrefix>, String> {
    let bad_asn = |a: &str| format!("`{a}` is not an AS number");
    match format {
        RoutingFormat::Pfx2as => {
            let [addr, len, asn] = fields else {
                return Err(format!(
                    "expected 3 tab-separated fields (prefix, length, asn), found {}",
                    fields.len()
                ));
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{addr}` is not an IP address"))?;
            let len: u8 = len
                .parse()
                .map_err(|_| format!("`{len}` is not a prefix length"))?;
            let net = IpNet::new(addr, len)
                .map_err(|_| format!("/{len} is too long for {addr}"))?
                .trunc();
            let asn = first_asn(asn).ok_or_else(|| bad_asn(asn))?;
            Ok(vec![RoutedPrefix { net, asn }])
        }
        RoutingFormat::Simple => {
            let [net, asn] = fields else {
                return Err(format!(
                    "expected 2 tab-separated fields (prefix/length, asn), found {}",
                    fields.len()
                ));
            };
            let net: IpNet = net
                .parse()
                .map_err(|_| format!("`{net}` is not a network in CIDR notation"))?;
            let asn = first_asn(asn).ok_or_else(|| bad_asn(asn))?;
            Ok(vec![RoutedPrefix {
                net: net.trunc(),
                asn,
            }])
        }
        RoutingFormat::IpToAsn => {
            let [start, end, asn, ..] = fields else {
                return Err(format!(
                    "expected 5 tab-separated fields (start, end, asn, country, description), found {}",
                    fields.len()
                ));
            };
            let asn = crate::registry::parse_asn(asn).ok_or_else(|| bad_asn(asn))?;
            let start: IpAddr = start
                .parse()
                .map_err(|_| format!("`{start}` is not an IP address"))?;
            let end: IpAddr = end
                .parse()
                .map_err(|_| format!("`{end}` is not an IP address"))?;
            if asn == 0 {
                // iptoasn marks unrouted space with AS 0.
                return Ok(Vec::new());
            }
            let nets = range_to_cidrs(start, end)?;
            Ok(nets
                .into_iter()
                .map(|net| RoutedPrefix { net, asn })
                .collect())
        }
    }
}

/// The CIDRs that cover `start..=end` exactly.
pub(crate) fn range_to_cidrs(start: IpAddr, end: IpAddr) -> Result<Vec<IpNet>, String> {
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) if s <= e => {
            Ok(Ipv4Subnets::new(s, e, 0).map(IpNet::V4).collect())
        }
        (IpAddr::V6(s), IpAddr::V6(e)) if s <= e => {
            Ok(Ipv6Subnets::new(s, e, 0).map(IpNet::V6).collect())
        }
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            Err(format!("the range {start} - {end} ends before it starts"))
        }
        _ => Err(format!("the range {start} - {end} mixes IPv4 and IPv6")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(data: &str) -> (Option<RoutingFormat>, Vec<String>, Vec<String>) {
        let mut r = RoutingReader::new("t", data.as_bytes());
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for item in &mut r {
            match item {
                Ok(p) => ok.push(format!("{} AS{}", p.net, p.asn)),
                Err(e) => bad.push(e.to_string()),
            }
        }
        (r.format(), ok, bad)
    }

    #[test]
    fn pfx2as_multi_origin_and_as_sets() {
        let (f, ok, bad) = read(
            "198.18.0.0\t16\t64496\n198.19.0.0\t24\t64497_64498\n2001:db8::\t32\t64499,64500\n198.19.1.0\t33\t1\n",
        );
        assert_eq!(f, Some(RoutingFormat::Pfx2as));
        assert_eq!(
            ok,
            [
                "198.18.0.0/16 AS64496",
                "198.19.0.0/24 AS64497",
                "2001:db8::/32 AS64499"
            ]
        );
        assert_eq!(bad, ["t:4: /33 is too long for 198.19.1.0"]);
    }

    #[test]
    fn iptoasn_ranges_split_and_as0_skipped() {
        let (f, ok, bad) = read(
            "198.18.0.0\t198.18.2.255\t64496\tNL\tEXAMPLE-AS Example\n\
             198.18.3.0\t198.18.3.255\t0\tNone\tNot routed\n\
             2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64497\tNL\tV6\n\
             198.18.9.0\t198.18.8.0\t64496\tNL\tbackwards\n",
        );
        assert_eq!(f, Some(RoutingFormat::IpToAsn));
        assert_eq!(
            ok,
            [
                "198.18.0.0/23 AS64496",
                "198.18.2.0/24 AS64496",
                "2001:db8::/32 AS64497"
            ]
        );
        assert_eq!(
            bad,
            ["t:4: the range 198.18.9.0 - 198.18.8.0 ends before it starts"]
        );
    }

    #[test]
    fn simple_form_with_comments() {
        let (f, ok, bad) = read(
            "; IP-ASN32-DAT file\n# comment\n198.18.0.0/24\t4200000001\n198.18.1.0/24\tASX\n\n198.18.2.0/24\tAS4200000002\n",
        );
        assert_eq!(f, Some(RoutingFormat::Simple));
        assert_eq!(
            ok,
            ["198.18.0.0/24 AS4200000001", "198.18.2.0/24 AS4200000002"]
        );
        assert_eq!(bad, ["t:4: `ASX` is not an AS number"]);
    }

    #[test]
    fn undetectable_first_line_is_reported_and_detection_continues() {
        let (f, ok, bad) = read("garbage\n198.18.0.0/24\t64496\n");
        assert_eq!(f, Some(RoutingFormat::Simple));
        assert_eq!(ok, ["198.18.0.0/24 AS64496"]);
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].starts_with("t:1: cannot tell the table format"),
            "{}",
            bad[0]
        );
    }
}
