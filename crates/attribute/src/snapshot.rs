//! A built [`Attributor`](crate::Attributor) as bytes, loaded again without sorting anything:
//! [`Attributor::snapshot`](crate::Attributor::snapshot) writes one,
//! [`Attributor::from_snapshot`](crate::Attributor::from_snapshot) reads it back.
//!
//! Building the index of 100 k organisations and a million routed prefixes sorts and
//! flattens the prefixes: 1.7 billion instructions. Loading its snapshot (43 MiB) takes a
//! quarter of that, and a third of the time (`benches/snapshot.rs`,
//! `examples/snapshot_load.rs`). A snapshot is the index as built, so a new registry, routing
//! table or set of abuse records needs a new snapshot: keeping it current is the caller's
//! job.
//!
//! ```
//! use baken_attribute::Attributor;
//! use baken_model::RoutedPrefix;
//!
//! let routed = vec![RoutedPrefix { net: "198.18.0.0/15".parse().unwrap(), asn: 64496 }];
//! let built = Attributor::new(vec![], routed, vec![]).unwrap();
//! let bytes = built.snapshot();
//! let loaded = Attributor::from_snapshot(&bytes).unwrap();
//! let ip = "198.19.1.1".parse().unwrap();
//! assert_eq!(loaded.routed(ip), built.routed(ip));
//! // a damaged snapshot is an error, never a wrong index
//! assert!(Attributor::from_snapshot(&bytes[..bytes.len() - 1]).is_err());
//! ```
//!
//! # Format, version 5
//!
//! Integers are little-endian. A header, then the payload:
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic bytes `BAKENATR` |
//! | 8 | 4 | format version ([`FORMAT_VERSION`]) |
//! | 12 | 4 | CRC-32 (IEEE, as zlib computes it) of the payload |
//! | 16 | 8 | payload length in bytes |
//! | 24 | … | payload |
//!
//! The payload starts with the text of every string in it outside the organisations' blocks:
//! a *count* of bytes, then that many bytes of UTF-8 (checked once, not string by string).
//! Eight sections follow, in this order:
//!
//! 1. the organisations, in registry order: a *count*, then their *blocks* of 32 (the last
//!    holds the rest);
//! 2. the registered AS numbers: a *count*, then per AS `u32` AS number and `u32`
//!    organisation number (its place in section 1), by AS number;
//! 3. the registered domains, as normalised: a *count*, then per domain a *string* and a
//!    `u32` organisation number, by domain;
//! 4. the registered networks: a *prefix table* whose values are organisation numbers;
//! 5. the routing table: a *range map* whose values are AS numbers (only the longest match
//!    is asked of it, so its networks themselves are not kept);
//! 6. the abuse records, in the order given: a *count*, then each *abuse record*;
//! 7. the abuse records' networks: a *prefix table* whose values are record numbers;
//! 8. the abuse records' AS numbers: a *count*, then per AS `u32` AS number and `u32` record
//!    number, by AS number.
//!
//! The parts:
//!
//! * *count*: `u32`. *string*: a *count* of bytes; its characters are the next that many
//!   bytes of the text (strings take the text in the order they are read, and use all of
//!   it). *optional* value: `u8` 0 (none), or 1 followed by the value. *flag*: `u8` 0 or 1.
//! * *network*: `u8` family (4 or 6), the address (`u32` or `u128`), `u8` prefix length.
//! * *block*: `u32` length of its records, `u32` length of its records and text, a *count*
//!   of bytes and that many bytes: the records and the text, zstd-compressed as one frame.
//!   The records are each *organisation* of the block, one after the other; their strings
//!   take the block's text (after the records) in the order they are read and use all of it.
//!   An index keeps its organisations in these blocks, and decodes one when asked for it
//!   (version 4 held them uncompressed, their strings in the payload's text).
//! * *organisation*: id *string*, name *string*, kind `u8` (0 organisation, 1 cert,
//!   2 hoster, 3 supervisor, 4 dtc, 5 national-csirt), sector *optional string*, vital
//!   *flag*, Wbni duties `u8` (bit 0 report, bit 1 care), supervisor *optional string*, cert
//!   *optional string*; then a *count* and that many *networks*, `u32` AS numbers, domain
//!   *strings*, and contacts (e-mail *string*, role `u8`: 0 security, 1 abuse, 2 general,
//!   language `u8`: 0 none, 1 en, 2 nl, then its other fields — `pgp_key`, `report_format`,
//!   `source`, `expires` — as one JSON object in an *optional string*, none when it has
//!   none). Version 1 had no language byte, version 2 no other fields.
//! * *abuse record*: scope `u8` (0 a *network* follows, 1 a `u32` AS number follows), e-mail
//!   *string*, via *string*, holder *optional string*, country *optional string* (version 3
//!   and before had none).
//! * *prefix table* (`lpm.rs`'s `PrefixMap`, as built): its IPv4 networks (a *count*, then
//!   per network `u32` address, `u8` length, `u32` value) and IPv6 networks (the same with a
//!   `u128` address), each sorted by address then length; then its *range map*.
//! * *range map* (`lpm.rs`'s `RangeMap`): a *count* of networks, then the IPv4 and the IPv6
//!   *ranges*.
//! * *ranges* (`lpm.rs`'s `Ranges`, the networks flattened into disjoint address ranges,
//!   which is what building the index sorts and sweeps for): a *count*, then per range its
//!   first address (`u32` or `u128`), `u32` value and `u8` prefix length (255: no network).
//!   Their bucket and sub-bucket index is not stored: loading builds it in one pass over the
//!   ranges, which costs less than reading and checking it would (it was a fourth of a full
//!   table's bytes), and keeps the format independent of the index's layout.
//!
//! # Checks on loading
//!
//! The length and checksum catch a truncated or damaged file. Whatever the bytes, loading
//! does not panic and allocates no more than the input's size suggests: every count is
//! checked against the bytes left, the text is checked as UTF-8 and every string's ends as
//! character boundaries in it, every enumeration, prefix length, organisation or record
//! number against its range, every prefix table's networks for order and host bits and every
//! range map's ranges for what a lookup relies on (in order from address 0), and no organisation id may
//! appear twice; a lookup in a loaded index cannot go out of bounds. What is not checked is
//! that the tables were built from these organisations: that is what the checksum is for.
//!
//! The version changes whenever the encoding does; a snapshot of another version is refused
//! ([`SnapshotError::Version`]) and must be built again.

use std::net::{Ipv4Addr, Ipv6Addr};

use baken_model::{
    AbuseContact, AbuseRecord, AbuseScope, Contact, ContactRole, Language, OrgId, OrgKind,
    Organisation, WbniDuties,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// The first eight bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"BAKENATR";

/// The version of the format this build writes and reads.
pub const FORMAT_VERSION: u32 = 5;

/// Bytes before the payload: magic, version, checksum, payload length.
const HEADER: usize = 24;

/// A snapshot that cannot be loaded. Every case means: build the snapshot again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes do not start with [`MAGIC`].
    #[error(
        "not an attributor snapshot: it does not start with the magic bytes `BAKENATR`; build one with `Attributor::snapshot`"
    )]
    NotASnapshot,
    /// A snapshot of another format version.
    #[error(
        "attributor snapshot format version {found} cannot be read by this build, which reads version {supported}; build the snapshot again"
    )]
    Version {
        /// The version in the snapshot.
        found: u32,
        /// The version this build reads ([`FORMAT_VERSION`]).
        supported: u32,
    },
    /// Fewer bytes than the header says.
    #[error(
        "attributor snapshot is truncated: {found} bytes where its header promises {expected}; build the snapshot again"
    )]
    Truncated {
        /// The length the header gives (or the header's own length, if that is cut).
        expected: u64,
        /// The length given.
        found: u64,
    },
    /// The payload's checksum does not match the header's.
    #[error(
        "attributor snapshot is corrupt: its checksum does not match its contents; build the snapshot again"
    )]
    Checksum,
    /// The checksum matches but the contents are not a valid index.
    #[error("attributor snapshot is corrupt at byte {offset}: {what}; build the snapshot again")]
    Corrupt {
        /// Where in the snapshot reading stopped, or where the table that failed starts.
        offset: usize,
        /// What is wrong.
        what: String,
    },
}

/// Writes a snapshot's sections, and apart from them the text of their strings; [`assemble`]
/// puts the parts together.
pub(crate) struct Writer {
    buf: Vec<u8>,
    text: Vec<u8>,
}

/// The header and the text's length before the text.
const TEXT_START: usize = HEADER + 4;

/// A snapshot of `text_len` bytes of text and `sections_len` of sections, which `write`
/// appends in that order: allocated once, at its size, so that a national index is held only
/// once more while it is written.
pub(crate) fn assemble(
    text_len: usize,
    sections_len: usize,
    write: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut out = Vec::with_capacity(TEXT_START + text_len + sections_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // the checksum and the length, filled in below
    out.extend_from_slice(&[0; 12]);
    let text_count = u32::try_from(text_len).expect("less than 4 GiB of text");
    out.extend_from_slice(&text_count.to_le_bytes());
    write(&mut out);
    assert_eq!(
        out.len(),
        TEXT_START + text_len + sections_len,
        "a snapshot's parts are as long as said"
    );
    let length = (out.len() - HEADER) as u64;
    out[16..24].copy_from_slice(&length.to_le_bytes());
    let crc = crc32fast::hash(&out[HEADER..]);
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    out
}

impl Writer {
    /// A writer of sections without a header: their bytes and text, taken apart with
    /// [`Writer::into_parts`].
    pub(crate) fn section() -> Self {
        Writer {
            buf: Vec::new(),
            text: Vec::new(),
        }
    }

    /// The bytes and the text written so far (of a [`Writer::section`], from its start).
    pub(crate) fn written(&self) -> (&[u8], &[u8]) {
        (&self.buf, &self.text)
    }

    /// The bytes and the text written.
    pub(crate) fn into_parts(self) -> (Vec<u8>, Vec<u8>) {
        (self.buf, self.text)
    }

    #[inline]
    fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    #[inline]
    fn text_bytes(&mut self, text: &str) {
        self.text.extend_from_slice(text.as_bytes());
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn u128(&mut self, v: u128) {
        self.bytes(&v.to_le_bytes());
    }

    /// A count of items or bytes.
    pub(crate) fn count(&mut self, n: usize) {
        // the index numbers organisations, ranges and records with u32s already
        self.u32(u32::try_from(n).expect("fewer than 2^32 items"));
    }

    /// A string: its length here, its bytes in the text.
    pub(crate) fn str(&mut self, s: &str) {
        self.count(s.len());
        self.text_bytes(s);
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }

    fn net(&mut self, net: IpNet) {
        match net {
            IpNet::V4(n) => {
                self.u8(4);
                self.u32(u32::from(n.addr()));
            }
            IpNet::V6(n) => {
                self.u8(6);
                self.u128(u128::from(n.addr()));
            }
        }
        self.u8(net.prefix_len());
    }

    /// `(key, number)` pairs, sorted by key so that equal indexes give equal bytes.
    pub(crate) fn pairs<'a, K: Ord + 'a>(
        &mut self,
        pairs: impl Iterator<Item = (&'a K, &'a u32)>,
        mut key: impl FnMut(&mut Self, &K),
    ) {
        let mut pairs: Vec<(&K, u32)> = pairs.map(|(k, &v)| (k, v)).collect();
        pairs.sort_unstable();
        self.count(pairs.len());
        for (k, v) in pairs {
            key(self, k);
            self.u32(v);
        }
    }
}

/// Reads a snapshot's sections, and their strings from its text; every read is checked
/// against the bytes left.
pub(crate) struct Reader<'a> {
    /// The whole snapshot, header included, so that offsets are the file's.
    bytes: &'a [u8],
    at: usize,
    /// The text of the strings.
    text: &'a str,
    /// Where the next string starts in `text`.
    text_at: usize,
}

impl<'a> Reader<'a> {
    /// Checks the header and the checksum, and returns a reader at the payload's start.
    pub(crate) fn open(bytes: &'a [u8]) -> Result<Self, SnapshotError> {
        let truncated = |expected: usize| SnapshotError::Truncated {
            expected: expected as u64,
            found: bytes.len() as u64,
        };
        if bytes.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(bytes) {
                truncated(HEADER)
            } else {
                SnapshotError::NotASnapshot
            });
        }
        if bytes[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let word = |at: usize| bytes.get(at..at + 4).map(u32_le);
        let Some(version) = word(8) else {
            return Err(truncated(HEADER));
        };
        if version != FORMAT_VERSION {
            return Err(SnapshotError::Version {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        if bytes.len() < HEADER {
            return Err(truncated(HEADER));
        }
        let crc = u32_le(&bytes[12..16]);
        let length = u64::from_le_bytes(bytes[16..24].try_into().expect("eight bytes"));
        let found = (bytes.len() - HEADER) as u64;
        if length > found {
            return Err(SnapshotError::Truncated {
                expected: length.saturating_add(HEADER as u64),
                found: bytes.len() as u64,
            });
        }
        if length < found {
            return Err(SnapshotError::Corrupt {
                offset: HEADER + length as usize,
                what: format!("{} bytes after the end its header gives", found - length),
            });
        }
        if crc32fast::hash(&bytes[HEADER..]) != crc {
            return Err(SnapshotError::Checksum);
        }
        let mut r = Reader {
            bytes,
            at: HEADER,
            text: "",
            text_at: 0,
        };
        let n = r.count(1)?;
        let at = r.at;
        r.text = std::str::from_utf8(r.take(n)?)
            .map_err(|e| Self::corrupt_at(at, format!("text that is not UTF-8: {e}")))?;
        Ok(r)
    }

    /// A reader of sections of a snapshot already checked, and the text of their strings.
    pub(crate) fn section(bytes: &'a [u8], text: &'a str) -> Self {
        Reader {
            bytes,
            at: 0,
            text,
            text_at: 0,
        }
    }

    /// Where the next string starts in the text.
    pub(crate) fn text_offset(&self) -> usize {
        self.text_at
    }

    /// Where the next read starts, from the snapshot's first byte.
    pub(crate) fn offset(&self) -> usize {
        self.at
    }

    /// An error for what starts at `offset`.
    pub(crate) fn corrupt_at(offset: usize, what: impl Into<String>) -> SnapshotError {
        SnapshotError::Corrupt {
            offset,
            what: what.into(),
        }
    }

    /// An error at the current position.
    pub(crate) fn corrupt(&self, what: impl Into<String>) -> SnapshotError {
        Self::corrupt_at(self.at, what)
    }

    /// How many bytes are left to read.
    pub(crate) fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// Fails unless every byte and every character of the text was read.
    pub(crate) fn end(&self) -> Result<(), SnapshotError> {
        if self.at != self.bytes.len() {
            Err(self.corrupt(format!(
                "{} bytes left after the last section",
                self.bytes.len() - self.at
            )))
        } else if self.text_at != self.text.len() {
            Err(self.corrupt(format!(
                "{} bytes of text that no string uses",
                self.text.len() - self.text_at
            )))
        } else {
            Ok(())
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        match self.bytes.get(self.at..).and_then(|rest| rest.get(..n)) {
            Some(taken) => {
                self.at += n;
                Ok(taken)
            }
            None => Err(self.corrupt(format!(
                "{n} bytes wanted, {} left",
                self.bytes.len() - self.at
            ))),
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32_le(self.take(4)?))
    }

    fn u128(&mut self) -> Result<u128, SnapshotError> {
        Ok(u128_le(self.take(16)?))
    }

    /// A count of items of at least `min_size` bytes each, checked against the bytes left
    /// (so that no count makes a reader allocate more than the snapshot's size).
    pub(crate) fn count(&mut self, min_size: usize) -> Result<usize, SnapshotError> {
        let at = self.at;
        let n = self.u32()? as usize;
        let left = self.bytes.len() - self.at;
        if n.saturating_mul(min_size.max(1)) > left {
            return Err(Self::corrupt_at(
                at,
                format!("a count of {n} items, more than the {left} bytes left hold"),
            ));
        }
        Ok(n)
    }

    /// `n` items of `size` bytes each, as one slice.
    pub(crate) fn items(&mut self, n: usize, size: usize) -> Result<&'a [u8], SnapshotError> {
        // `count` checked `n * size` against the bytes left, so this does not overflow
        self.take(n * size)
    }

    /// A string: its length here, its characters the next ones of the text.
    pub(crate) fn str(&mut self) -> Result<&'a str, SnapshotError> {
        let n = self.u32()? as usize;
        let end = self.text_at.saturating_add(n);
        match self.text.get(self.text_at..end) {
            Some(s) => {
                self.text_at = end;
                Ok(s)
            }
            None => Err(self.corrupt(format!(
                "a string of {n} bytes from byte {} of the text, which has {}, or not on a character boundary",
                self.text_at,
                self.text.len()
            ))),
        }
    }

    pub(crate) fn string(&mut self) -> Result<String, SnapshotError> {
        self.str().map(str::to_owned)
    }

    fn opt_str(&mut self) -> Result<Option<&'a str>, SnapshotError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            b => Err(self.corrupt(format!("optional-value tag {b}, not 0 or 1"))),
        }
    }

    fn opt_string(&mut self) -> Result<Option<String>, SnapshotError> {
        Ok(self.opt_str()?.map(str::to_owned))
    }

    fn flag(&mut self) -> Result<bool, SnapshotError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.corrupt(format!("flag {b}, not 0 or 1"))),
        }
    }

    fn net(&mut self) -> Result<IpNet, SnapshotError> {
        let at = self.at;
        let net = match self.u8()? {
            4 => {
                let addr = Ipv4Addr::from(self.u32()?);
                Ipv4Net::new(addr, self.u8()?).map(IpNet::V4)
            }
            6 => {
                let addr = Ipv6Addr::from(self.u128()?);
                Ipv6Net::new(addr, self.u8()?).map(IpNet::V6)
            }
            f => {
                return Err(Self::corrupt_at(
                    at,
                    format!("address family {f}, not 4 or 6"),
                ));
            }
        };
        net.map_err(|_| Self::corrupt_at(at, "a network with a prefix length too long"))
    }
}

pub(crate) fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("four bytes"))
}

pub(crate) fn u128_le(b: &[u8]) -> u128 {
    u128::from_le_bytes(b[..16].try_into().expect("sixteen bytes"))
}

/// The fewest bytes an abuse record takes: scope and AS, two empty strings, no holder, no
/// country.
pub(crate) const MIN_ABUSE_RECORD: usize = 1 + 4 + 4 + 4 + 1 + 1;

pub(crate) fn write_organisation(w: &mut Writer, org: &Organisation) {
    // Every field named, no `..`: a field added to `Organisation` does not compile until it
    // is written here, read in `read_organisation` and `check_organisation`, and the format
    // version is raised.
    let Organisation {
        id,
        name,
        kind,
        sector,
        vital,
        wbni,
        supervisor,
        cert,
        networks,
        asns,
        domains,
        contacts,
    } = org;
    w.str(&id.0);
    w.str(name);
    w.u8(match kind {
        OrgKind::Organisation => 0,
        OrgKind::Cert => 1,
        OrgKind::Hoster => 2,
        OrgKind::Supervisor => 3,
        OrgKind::Dtc => 4,
        OrgKind::NationalCsirt => 5,
    });
    w.opt_str(sector.as_deref());
    w.u8(u8::from(*vital));
    let WbniDuties { report, care } = *wbni;
    w.u8(u8::from(report) | u8::from(care) << 1);
    w.opt_str(supervisor.as_deref());
    w.opt_str(cert.as_deref());
    w.count(networks.len());
    for &net in networks {
        w.net(net);
    }
    w.count(asns.len());
    for &asn in asns {
        w.u32(asn);
    }
    w.count(domains.len());
    for domain in domains {
        w.str(domain);
    }
    w.count(contacts.len());
    for contact in contacts {
        let Contact {
            email,
            role,
            language,
            ..
        } = contact;
        w.str(email);
        w.u8(match role {
            ContactRole::Security => 0,
            ContactRole::Abuse => 1,
            ContactRole::General => 2,
        });
        w.u8(match language {
            None => 0,
            Some(Language::En) => 1,
            Some(Language::Nl) => 2,
        });
        w.opt_str(contact_extras(contact).as_deref());
    }
}

/// A contact with the fields after `language` from their JSON (see [`contact_extras`]).
fn read_extras(r: &Reader<'_>, extras: &str) -> Result<Contact, SnapshotError> {
    let corrupt = |e: serde_json::Error| r.corrupt(format!("contact fields {extras:?}: {e}"));
    let mut fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(extras).map_err(corrupt)?;
    fields.insert("email".into(), serde_json::Value::String(String::new()));
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(corrupt)
}

/// A contact's fields after `language` (key, report format, provenance, expiry) as one JSON
/// object, or none when it has none: fields added to [`Contact`] later travel the same way.
fn contact_extras(contact: &Contact) -> Option<String> {
    let serde_json::Value::Object(mut fields) =
        serde_json::to_value(contact).expect("a contact serialises")
    else {
        unreachable!("a contact serialises as an object")
    };
    for known in ["email", "role", "language"] {
        fields.remove(known);
    }
    (!fields.is_empty()).then(|| serde_json::Value::Object(fields).to_string())
}

fn read_kind(r: &mut Reader<'_>) -> Result<OrgKind, SnapshotError> {
    Ok(match r.u8()? {
        0 => OrgKind::Organisation,
        1 => OrgKind::Cert,
        2 => OrgKind::Hoster,
        3 => OrgKind::Supervisor,
        4 => OrgKind::Dtc,
        5 => OrgKind::NationalCsirt,
        k => return Err(r.corrupt(format!("organisation kind {k}, not 0 to 5"))),
    })
}

fn read_wbni(r: &mut Reader<'_>) -> Result<WbniDuties, SnapshotError> {
    match r.u8()? {
        w @ 0..=3 => Ok(WbniDuties {
            report: w & 1 != 0,
            care: w & 2 != 0,
        }),
        w => Err(r.corrupt(format!("Wbni duties {w}, not 0 to 3"))),
    }
}

fn read_language(r: &mut Reader<'_>) -> Result<Option<Language>, SnapshotError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(Language::En)),
        2 => Ok(Some(Language::Nl)),
        l => Err(r.corrupt(format!("contact language {l}, not 0 to 2"))),
    }
}

fn read_role(r: &mut Reader<'_>) -> Result<ContactRole, SnapshotError> {
    match r.u8()? {
        0 => Ok(ContactRole::Security),
        1 => Ok(ContactRole::Abuse),
        2 => Ok(ContactRole::General),
        c => Err(r.corrupt(format!("contact role {c}, not 0 to 2"))),
    }
}

/// Checks an organisation as [`read_organisation`] reads it, without building it; its id and
/// name.
pub(crate) fn check_organisation<'a>(
    r: &mut Reader<'a>,
) -> Result<(&'a str, &'a str, OrgKind, bool), SnapshotError> {
    let id = r.str()?;
    let name = r.str()?;
    let kind = read_kind(r)?;
    r.opt_str()?;
    let vital = r.flag()?;
    read_wbni(r)?;
    r.opt_str()?;
    r.opt_str()?;
    for _ in 0..r.count(6)? {
        r.net()?;
    }
    let n = r.count(4)?;
    r.items(n, 4)?;
    for _ in 0..r.count(4)? {
        r.str()?;
    }
    for _ in 0..r.count(6)? {
        r.str()?;
        read_role(r)?;
        read_language(r)?;
        if let Some(extras) = r.opt_str()? {
            read_extras(r, extras)?;
        }
    }
    Ok((id, name, kind, vital))
}

pub(crate) fn read_organisation(r: &mut Reader<'_>) -> Result<Organisation, SnapshotError> {
    let id = OrgId(r.string()?);
    let name = r.string()?;
    let kind = read_kind(r)?;
    let sector = r.opt_string()?;
    let vital = r.flag()?;
    let wbni = read_wbni(r)?;
    let supervisor = r.opt_string()?;
    let cert = r.opt_string()?;
    let n = r.count(6)?;
    let networks = (0..n).map(|_| r.net()).collect::<Result<_, _>>()?;
    let n = r.count(4)?;
    let asns = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
    let n = r.count(4)?;
    let domains = (0..n).map(|_| r.string()).collect::<Result<_, _>>()?;
    let n = r.count(6)?;
    let mut contacts = Vec::with_capacity(n);
    for _ in 0..n {
        let email = r.string()?;
        let role = read_role(r)?;
        let language = read_language(r)?;
        let mut contact = match r.opt_str()? {
            None => Contact::default(),
            Some(extras) => read_extras(r, extras)?,
        };
        contact.email = email;
        contact.role = role;
        contact.language = language;
        contacts.push(contact);
    }
    Ok(Organisation {
        id,
        name,
        kind,
        sector,
        vital,
        wbni,
        supervisor,
        cert,
        networks,
        asns,
        domains,
        contacts,
    })
}

pub(crate) fn write_abuse_record(w: &mut Writer, record: &AbuseRecord) {
    let AbuseRecord {
        scope,
        contact:
            AbuseContact {
                email,
                via,
                holder,
                country,
            },
    } = record;
    match *scope {
        AbuseScope::Network(net) => {
            w.u8(0);
            w.net(net);
        }
        AbuseScope::Asn(asn) => {
            w.u8(1);
            w.u32(asn);
        }
    }
    w.str(email);
    w.str(via);
    w.opt_str(holder.as_deref());
    w.opt_str(country.as_deref());
}

pub(crate) fn read_abuse_record(r: &mut Reader<'_>) -> Result<AbuseRecord, SnapshotError> {
    let scope = match r.u8()? {
        0 => AbuseScope::Network(r.net()?),
        1 => AbuseScope::Asn(r.u32()?),
        s => return Err(r.corrupt(format!("abuse record scope {s}, not 0 or 1"))),
    };
    Ok(AbuseRecord {
        scope,
        contact: AbuseContact {
            email: r.string()?,
            via: r.string()?,
            holder: r.opt_string()?,
            country: r.opt_string()?,
        },
    })
}
