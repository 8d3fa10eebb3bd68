//! Abuse contacts from RIPE database split dumps in RPSL.
//!
//! Reads `ripe.db.inetnum`, `ripe.db.inet6num`, `ripe.db.aut-num`, `ripe.db.role` and
//! `ripe.db.organisation` (and `person` objects, where present), in any order and any number
//! of files, because references cross files. Each inetnum, inet6num and aut-num is resolved
//! to an abuse mailbox: its own `abuse-c:`, or else the `abuse-c:` of the organisation its
//! `org:` names, leads to the role (or person) whose `abuse-mailbox:` is taken.
//!
//! Objects with neither are skipped and counted in [`RpslData::without_contact`]: in the
//! RIPE database a more specific inetnum without `abuse-c` inherits the contact of the less
//! specific one, and the longest-prefix lookup in [`crate::Attributor`] gives exactly that.
//!
//! The public dumps are *dummified*: personal data (person objects, `e-mail:`, `phone:`,
//! `address:` of roles and organisations) are replaced by placeholders. `abuse-mailbox:` is
//! kept, and it is the only contact attribute this module reads. The dumps are Latin-1 text;
//! invalid UTF-8 is replaced, not rejected.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use baken_model::{AbuseContact, AbuseRecord, AbuseScope};
use ipnet::IpNet;

/// A dump file could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read RPSL dump {}: {source}", path.display())]
pub struct RpslError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    pub source: io::Error,
}

/// An object that was skipped, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RpslProblem {
    /// The file (or the name given to the reader).
    pub file: String,
    /// The line the object starts on.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// The abuse records resolved from a set of dumps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpslData {
    /// One record per CIDR of each inetnum/inet6num, and one per aut-num, that has an abuse mailbox.
    pub records: Vec<AbuseRecord>,
    /// Objects that could not be read (bad ranges, bad AS numbers).
    pub problems: Vec<RpslProblem>,
    /// inetnum/inet6num/aut-num objects for which no abuse mailbox could be resolved.
    pub without_contact: usize,
    /// Objects read, of every class.
    pub objects: usize,
}

/// Reads several dump files (in any order) and resolves their abuse contacts.
///
/// ```no_run
/// use baken_attribute::rpsl::load_rpsl;
/// # fn main() -> Result<(), baken_attribute::rpsl::RpslError> {
/// let data = load_rpsl(&["ripe.db.inetnum", "ripe.db.role", "ripe.db.organisation"])?;
/// for problem in &data.problems {
///     eprintln!("skipped: {problem}");
/// }
/// # Ok(()) }
/// ```
pub fn load_rpsl<P: AsRef<Path>>(paths: &[P]) -> Result<RpslData, RpslError> {
    let mut loader = RpslLoader::new();
    for path in paths {
        loader.add_file(path.as_ref())?;
    }
    Ok(loader.finish())
}

enum Resource {
    Nets(Vec<IpNet>),
    Asn(u32),
}

struct Holder {
    resource: Resource,
    via: String,
    name: Option<String>,
    abuse_c: Option<String>,
    org: Option<String>,
    country: Option<String>,
}

struct Org {
    name: Option<String>,
    abuse_c: Option<String>,
    country: Option<String>,
}

/// Collects RPSL objects from several sources, then resolves them with [`RpslLoader::finish`].
#[derive(Default)]
pub struct RpslLoader {
    mailboxes: HashMap<String, String>,
    orgs: HashMap<String, Org>,
    holders: Vec<Holder>,
    problems: Vec<RpslProblem>,
    objects: usize,
}

impl std::fmt::Debug for RpslLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpslLoader")
            .field("objects", &self.objects)
            .finish_non_exhaustive()
    }
}

impl RpslLoader {
    /// An empty loader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one dump file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), RpslError> {
        let err = |source| RpslError {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(err)?;
        self.add_reader(&path.display().to_string(), BufReader::new(file))
            .map_err(err)
    }

    /// Reads RPSL objects from `reader`; `name` appears in problems.
    pub fn add_reader(&mut self, name: &str, mut reader: impl BufRead) -> io::Result<()> {
        let mut buf = Vec::new();
        let mut line = 0;
        let mut object: Vec<(String, String)> = Vec::new();
        let mut start = 0;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf)?;
            line += 1;
            let text = String::from_utf8_lossy(&buf);
            let text = text.trim_end_matches(['\n', '\r']);
            if n == 0 || text.trim().is_empty() {
                if !object.is_empty() {
                    self.add_object(name, start, std::mem::take(&mut object));
                }
                if n == 0 {
                    return Ok(());
                }
                continue;
            }
            if text.starts_with('#') || text.starts_with('%') {
                continue;
            }
            if text.starts_with([' ', '\t', '+']) {
                // A continuation of the previous attribute's value.
                if let Some((_, value)) = object.last_mut() {
                    let more = text[1..].trim();
                    if !more.is_empty() {
                        if !value.is_empty() {
                            value.push(' ');
                        }
                        value.push_str(more);
                    }
                }
                continue;
            }
            match text.split_once(':') {
                Some((key, value)) => {
                    if object.is_empty() {
                        start = line;
                    }
                    object.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
                None => self.problems.push(RpslProblem {
                    file: name.to_string(),
                    line,
                    message: format!("`{text}` is not an attribute (key: value); line skipped"),
                }),
            }
        }
    }

    fn add_object(&mut self, file: &str, line: usize, attrs: Vec<(String, String)>) {
        self.objects += 1;
        let get = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| strip_comment(v).to_string())
                .filter(|v| !v.is_empty())
        };
        let handle = |key: &str| get(key).map(|v| v.to_ascii_uppercase());
        // an ISO 3166-1 alpha-2 code (`EU` and `ZZ` as the RIRs use them), else nothing
        let country = || {
            get("country")
                .map(|v| strip_comment(&v).trim().to_ascii_uppercase())
                .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        };
        let class = attrs[0].0.as_str();
        let value = strip_comment(&attrs[0].1).to_string();
        let mut problem = |message: String| {
            self.problems.push(RpslProblem {
                file: file.to_string(),
                line,
                message,
            })
        };
        match class {
            "role" | "person" => {
                if let (Some(nic), Some(mailbox)) = (handle("nic-hdl"), get("abuse-mailbox")) {
                    self.mailboxes.insert(nic, mailbox);
                }
            }
            "organisation" => {
                self.orgs.insert(
                    value.to_ascii_uppercase(),
                    Org {
                        name: get("org-name"),
                        abuse_c: handle("abuse-c"),
                        country: country(),
                    },
                );
            }
            "inetnum" | "inet6num" | "aut-num" => {
                let resource = match class {
                    "inetnum" => match parse_inetnum(&value) {
                        Ok(nets) => Resource::Nets(nets),
                        Err(e) => {
                            return problem(format!("inetnum `{value}`: {e}; object skipped"));
                        }
                    },
                    "inet6num" => match value.parse::<IpNet>() {
                        Ok(net) => Resource::Nets(vec![net.trunc()]),
                        Err(_) => {
                            return problem(format!(
                                "inet6num `{value}` is not a prefix in CIDR notation; object skipped"
                            ));
                        }
                    },
                    _ => match crate::registry::parse_asn(&value) {
                        Some(asn) => Resource::Asn(asn),
                        None => {
                            return problem(format!(
                                "aut-num `{value}` is not an AS number; object skipped"
                            ));
                        }
                    },
                };
                let name = get(if class == "aut-num" {
                    "as-name"
                } else {
                    "netname"
                });
                let via = match (&resource, &name) {
                    (Resource::Asn(asn), Some(n)) => format!("aut-num AS{asn} (as-name {n})"),
                    (Resource::Asn(asn), None) => format!("aut-num AS{asn}"),
                    (_, Some(n)) => format!("{class} {value} (netname {n})"),
                    (_, None) => format!("{class} {value}"),
                };
                self.holders.push(Holder {
                    resource,
                    via,
                    name,
                    abuse_c: handle("abuse-c"),
                    org: handle("org"),
                    country: country(),
                });
            }
            _ => {}
        }
    }

    /// Resolves every inetnum, inet6num and aut-num to its abuse mailbox.
    pub fn finish(self) -> RpslData {
        let mut data = RpslData {
            problems: self.problems,
            objects: self.objects,
            ..RpslData::default()
        };
        for holder in self.holders {
            let org = holder.org.as_ref().and_then(|o| self.orgs.get(o));
            let mailbox = holder
                .abuse_c
                .as_ref()
                .and_then(|h| self.mailboxes.get(h))
                .or_else(|| {
                    org.and_then(|o| o.abuse_c.as_ref())
                        .and_then(|h| self.mailboxes.get(h))
                });
            let Some(email) = mailbox else {
                data.without_contact += 1;
                continue;
            };
            let contact = AbuseContact {
                email: email.clone(),
                via: holder.via,
                holder: holder.name.or_else(|| org.and_then(|o| o.name.clone())),
                country: holder
                    .country
                    .or_else(|| org.and_then(|o| o.country.clone())),
            };
            match holder.resource {
                Resource::Asn(asn) => data.records.push(AbuseRecord {
                    scope: AbuseScope::Asn(asn),
                    contact,
                }),
                Resource::Nets(nets) => {
                    for net in nets {
                        data.records.push(AbuseRecord {
                            scope: AbuseScope::Network(net),
                            contact: contact.clone(),
                        });
                    }
                }
            }
        }
        data
    }
}

/// RPSL end-of-line comments start with `#`.
fn strip_comment(value: &str) -> &str {
    value.split('#').next().unwrap_or("").trim()
}

/// `198.18.0.0 - 198.18.255.255` into the CIDRs that cover it exactly.
fn parse_inetnum(value: &str) -> Result<Vec<IpNet>, String> {
    let (start, end) = value
        .split_once('-')
        .ok_or("expected a range written `first - last`")?;
    let parse = |s: &str| {
        s.trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("`{}` is not an IP address", s.trim()))
    };
    crate::routing::range_to_cidrs(parse(start)?, parse(end)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_comments_and_inheritance_via_org() {
        let dump = [
            "% comment",
            "inetnum:        198.18.0.0 - 198.18.1.255",
            "netname:        EXAMPLE-NET # trailing comment",
            "descr:          first line",
            "+               second line",
            "org:            ORG-EX1-TEST",
            "",
            "organisation:   ORG-EX1-TEST",
            "org-name:       Example",
            "                Hosting BV",
            "abuse-c:        ar1-test",
            "",
            "role:           Abuse Role",
            "nic-hdl:        AR1-TEST",
            "abuse-mailbox:  abuse@hoster.example",
        ]
        .join("\n");

        let mut loader = RpslLoader::new();
        loader.add_reader("t", dump.as_bytes()).unwrap();
        let data = loader.finish();
        assert_eq!(data.objects, 3);
        assert!(data.problems.is_empty());
        assert_eq!(data.records.len(), 1);
        let r = &data.records[0];
        assert_eq!(
            r.scope,
            AbuseScope::Network("198.18.0.0/23".parse().unwrap())
        );
        assert_eq!(r.contact.email, "abuse@hoster.example");
        assert_eq!(
            r.contact.via,
            "inetnum 198.18.0.0 - 198.18.1.255 (netname EXAMPLE-NET)"
        );
        assert_eq!(r.contact.holder.as_deref(), Some("EXAMPLE-NET"));
    }

    #[test]
    fn bad_objects_are_problems() {
        let dump = "inetnum: 198.18.0.0\nnetname: X\n\naut-num: ASX\n\nnot an attribute\n";
        let mut loader = RpslLoader::new();
        loader.add_reader("t", dump.as_bytes()).unwrap();
        let data = loader.finish();
        let problems: Vec<String> = data.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            problems,
            [
                "t:1: inetnum `198.18.0.0`: expected a range written `first - last`; object skipped",
                "t:4: aut-num `ASX` is not an AS number; object skipped",
                "t:6: `not an attribute` is not an attribute (key: value); line skipped",
            ]
        );
    }
}
