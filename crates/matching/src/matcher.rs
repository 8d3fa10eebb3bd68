//! Advisories matched against inventories and scan observations.
//!
//! [`Matcher::new`] indexes every product of every advisory — affected, fixed, known not
//! affected and under investigation — by CPE (vendor, product), by purl (type, namespace,
//! name, normalised) and by normalised product name, and every vulnerability by CVE id.
//! Each inventory entry or scan observation is then looked up in the index, never compared
//! against every product: matching is linear in the entries.
//!
//! For one entry and one vulnerability the products found are judged together:
//!
//! * listed **fixed** or **known not affected** for the installed version → no match;
//! * listed **affected** for the installed version → [`MatchStatus::Affected`];
//! * where the version cannot be compared (no version, unparseable, unknown scheme, free
//!   text, or affected but the fixed listing cannot be compared) →
//!   [`MatchStatus::Unknown`] with the reason; also for products **under investigation**;
//! * otherwise no match.
//!
//! Evidence says where a match comes from: [`Evidence::ScanConfirmed`] (a scan reported the
//! CVE on that host), [`Evidence::InventoryDeclared`] (an inventory entry's product and
//! version), [`Evidence::VersionInferred`] (the product and version a scan saw). A scan
//! observation that confirms a CVE is not also reported as inferred for it.
//!
//! CPE names with a wildcard in vendor or product cannot be keyed; they are kept in a short
//! list checked for every CPE entry.

use std::collections::{HashMap, HashSet};

use baken_advisory::{Advisory, Product, VersionSpec};
use serde::Serialize;

use crate::cpe::{self, Cpe, Relation, VERSION, Value};
use crate::inventory::InventoryEntry;
use crate::purl::{PackageKey, Purl};
use crate::version::{self, Scheme, Verdict, Vers, VersError};

/// What a scan saw on one address (Shadowserver `product.vulnerabilities` CVE tags,
/// nuclei template CVE ids, product and version fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ScanObservation {
    /// The organisation the address is attributed to.
    pub org: String,
    /// The address.
    pub ip: String,
    /// CVE ids the scan reported for it.
    pub cves: Vec<String>,
    /// The product seen: a CPE, a purl or a name (`Citrix NetScaler ADC`).
    pub product: Option<String>,
    /// The version seen.
    pub version: Option<String>,
    /// Which scan (feed and report).
    pub source: String,
}

/// Whether a match is certain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum MatchStatus {
    /// The installed version is affected.
    Affected,
    /// The product is named but whether the version is affected cannot be told; the reason
    /// says why.
    Unknown(String),
}

/// Where a match comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// A scan reported the CVE on the host.
    ScanConfirmed,
    /// The organisation's inventory declares an affected product and version.
    InventoryDeclared,
    /// A scan saw a product and version the advisory lists as affected.
    VersionInferred,
}

/// One organisation (host) exposed to one vulnerability of one advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The advisory's id.
    pub advisory_id: String,
    /// The vulnerability's CVE id, where it has one.
    pub cve: Option<String>,
    /// The organisation.
    pub org: String,
    /// The host or IP address, where known.
    pub host: Option<String>,
    /// The advisory's name of the product matched (the scan's, for a scan-confirmed CVE).
    pub product: String,
    /// Affected, or unknown with the reason.
    pub status: MatchStatus,
    /// Where the match comes from.
    pub evidence: Evidence,
    /// How it was matched: identifier, installed version, the advisory's versions.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Affected,
    Fixed,
    NotAffected,
    UnderInvestigation,
}

struct Indexed<'a> {
    adv: u32,
    vuln: u32,
    listed: Listed,
    product: &'a Product,
    cpes: Vec<Cpe>,
    purls: Vec<Purl>,
    scheme: Option<Scheme>,
    /// `vers:` specs parsed once, aligned with `product.versions`.
    vers: Vec<Option<Result<Vers, VersError>>>,
}

/// An indexed CPE. `plain` marks a name whose attributes other than part, vendor, product
/// and version are all ANY — most advisory CPEs — so that a keyed hit with a fitting part is
/// a match without reading the name again (matching is bound by memory access).
#[derive(Debug, Clone, Copy)]
struct CpeRef {
    pid: u32,
    i: u16,
    plain: bool,
    /// `a`, `o`, `h`, or 0 for ANY.
    part: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Cpe(u16),
    Purl(u16),
    Name,
}

/// The index of advisory products; see the module docs.
pub struct Matcher<'a> {
    advisories: &'a [Advisory],
    products: Vec<Indexed<'a>>,
    by_cpe: HashMap<String, Vec<CpeRef>>,
    wild_cpe: Vec<CpeRef>,
    by_purl: HashMap<PackageKey, Vec<(u32, u16)>>,
    by_name: HashMap<String, Vec<u32>>,
    by_cve: HashMap<String, Vec<(u32, u32)>>,
}

fn cpe_key(vendor: &str, product: &str) -> String {
    let mut k = String::with_capacity(vendor.len() + product.len() + 1);
    k.push_str(vendor);
    k.push('\u{1f}');
    k.push_str(product);
    k
}

/// Lower case, `_` and `-` read as spaces, whitespace collapsed.
fn norm_name(s: &str) -> String {
    s.to_lowercase()
        .replace(['_', '-'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

struct Identity {
    cpe: Option<Cpe>,
    purl: Option<Purl>,
    name: Option<String>,
    version: Option<String>,
}

impl Identity {
    fn describe(&self) -> String {
        let id = if let Some(c) = &self.cpe {
            c.to_string()
        } else if let Some(p) = &self.purl {
            p.key().to_string()
        } else {
            self.name.clone().unwrap_or_default()
        };
        match &self.version {
            Some(v) => format!("{id} version {v}"),
            None => format!("{id} (no version)"),
        }
    }
}

impl<'a> Matcher<'a> {
    /// Indexes the products of `advisories`. Identifiers that do not parse are skipped
    /// (the advisory reader reports them).
    pub fn new(advisories: &'a [Advisory]) -> Matcher<'a> {
        let mut m = Matcher {
            advisories,
            products: Vec::new(),
            by_cpe: HashMap::new(),
            wild_cpe: Vec::new(),
            by_purl: HashMap::new(),
            by_name: HashMap::new(),
            by_cve: HashMap::new(),
        };
        for (a, adv) in advisories.iter().enumerate() {
            for (v, vuln) in adv.vulnerabilities.iter().enumerate() {
                if let Some(cve) = &vuln.cve {
                    m.by_cve
                        .entry(cve.trim().to_ascii_uppercase())
                        .or_default()
                        .push((a as u32, v as u32));
                }
                for (listed, list) in [
                    (Listed::Affected, &vuln.affected),
                    (Listed::Fixed, &vuln.fixed),
                    (Listed::NotAffected, &vuln.not_affected),
                    (Listed::UnderInvestigation, &vuln.under_investigation),
                ] {
                    for p in list {
                        m.add(a as u32, v as u32, listed, p);
                    }
                }
            }
        }
        m
    }

    fn add(&mut self, adv: u32, vuln: u32, listed: Listed, product: &'a Product) {
        let id = self.products.len() as u32;
        let cpes: Vec<Cpe> = product.cpes.iter().filter_map(|c| c.parse().ok()).collect();
        let purls: Vec<Purl> = product
            .purls
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect();
        let scheme = purls
            .first()
            .map(Purl::scheme)
            .or_else(|| product.ecosystem.as_deref().and_then(Scheme::for_ecosystem));
        let mut names = HashSet::new();
        for (i, c) in cpes.iter().enumerate() {
            let r = CpeRef {
                pid: id,
                i: i as u16,
                plain: c.attributes[4..].iter().all(|v| *v == Value::Any),
                part: c.part().literal().map_or(0, |p| p.as_bytes()[0]),
            };
            match (c.vendor().literal(), c.product().literal()) {
                (Some(v), Some(p)) => {
                    self.by_cpe.entry(cpe_key(v, p)).or_default().push(r);
                    names.insert(norm_name(p));
                    names.insert(norm_name(&format!("{v} {p}")));
                }
                _ => self.wild_cpe.push(r),
            }
        }
        for (i, p) in purls.iter().enumerate() {
            self.by_purl
                .entry(p.key().clone())
                .or_default()
                .push((id, i as u16));
        }
        if let Some(p) = &product.product {
            names.insert(norm_name(p));
            if let Some(v) = &product.vendor {
                names.insert(norm_name(&format!("{v} {p}")));
            }
        }
        for n in names.into_iter().filter(|n| !n.is_empty()) {
            self.by_name.entry(n).or_default().push(id);
        }
        let vers = product
            .versions
            .iter()
            .map(|s| match s {
                VersionSpec::Vers { vers } => Some(vers.parse()),
                _ => None,
            })
            .collect();
        self.products.push(Indexed {
            adv,
            vuln,
            listed,
            product,
            cpes,
            purls,
            scheme,
            vers,
        });
    }

    /// How many advisory products are indexed.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// Whether no product is indexed.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Matches inventory entries and scan observations.
    pub fn match_all(&self, entries: &[InventoryEntry], scans: &[ScanObservation]) -> Vec<Match> {
        let mut out = Vec::new();
        for e in entries {
            self.match_entry(e, &mut out);
        }
        for s in scans {
            self.match_scan(s, &mut out);
        }
        out
    }

    /// Matches one inventory entry, appending its matches to `out`. An entry whose CPE or
    /// purl does not parse matches nothing (the inventory readers reject those).
    pub fn match_entry(&self, entry: &InventoryEntry, out: &mut Vec<Match>) {
        let cpe = entry.cpe.as_deref().and_then(|c| c.parse::<Cpe>().ok());
        let purl = entry.purl.as_deref().and_then(|p| p.parse::<Purl>().ok());
        let version = entry
            .version
            .clone()
            .or_else(|| purl.as_ref().and_then(|p| p.version().map(str::to_string)))
            .or_else(|| {
                cpe.as_ref()
                    .and_then(|c| c.version().literal().map(str::to_string))
            });
        let identity = Identity {
            cpe,
            purl,
            name: entry.name.clone(),
            version,
        };
        self.judge(
            &identity,
            &HashSet::new(),
            |adv, vuln, product, status, detail| Match {
                advisory_id: adv.id.clone(),
                cve: vuln.clone(),
                org: entry.org.clone(),
                host: entry.host.clone(),
                product: product.to_string(),
                status,
                evidence: Evidence::InventoryDeclared,
                detail,
            },
            out,
        );
    }

    /// Matches one scan observation: its CVE ids (scan-confirmed), then its product and
    /// version (version-inferred) for vulnerabilities it did not confirm.
    pub fn match_scan(&self, scan: &ScanObservation, out: &mut Vec<Match>) {
        let mut confirmed = HashSet::new();
        for cve in &scan.cves {
            let cve = cve.trim().to_ascii_uppercase();
            for &(a, v) in self.by_cve.get(&cve).into_iter().flatten() {
                if !confirmed.insert((a, v)) {
                    continue;
                }
                let adv = &self.advisories[a as usize];
                let product = scan
                    .product
                    .clone()
                    .or_else(|| {
                        adv.vulnerabilities[v as usize]
                            .affected
                            .first()
                            .map(|p| p.name.clone())
                    })
                    .unwrap_or_default();
                out.push(Match {
                    advisory_id: adv.id.clone(),
                    cve: Some(cve.clone()),
                    org: scan.org.clone(),
                    host: Some(scan.ip.clone()),
                    product,
                    status: MatchStatus::Affected,
                    evidence: Evidence::ScanConfirmed,
                    detail: format!("{} reported {cve} on {}", scan.source, scan.ip),
                });
            }
        }
        let Some(seen) = scan
            .product
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        else {
            return;
        };
        let lower = seen.to_ascii_lowercase();
        let identity = Identity {
            cpe: lower
                .starts_with("cpe:")
                .then(|| seen.parse().ok())
                .flatten(),
            purl: lower
                .starts_with("pkg:")
                .then(|| seen.parse().ok())
                .flatten(),
            name: Some(seen.to_string()),
            version: scan.version.clone(),
        };
        self.judge(
            &identity,
            &confirmed,
            |adv, vuln, product, status, detail| Match {
                advisory_id: adv.id.clone(),
                cve: vuln.clone(),
                org: scan.org.clone(),
                host: Some(scan.ip.clone()),
                product: product.to_string(),
                status,
                evidence: Evidence::VersionInferred,
                detail: format!("{}: {detail}", scan.source),
            },
            out,
        );
    }

    /// The indexed products an identity names, with the identifier that named them.
    fn candidates(&self, id: &Identity) -> Vec<(u32, Via)> {
        let mut found = Vec::new();
        if let Some(c) = &id.cpe {
            let keyed = match (c.vendor().literal(), c.product().literal()) {
                (Some(v), Some(p)) => self.by_cpe.get(&cpe_key(v, p)),
                _ => None,
            };
            let part = c.part().literal().map_or(0, |p| p.as_bytes()[0]);
            let no_patterns = !c.attributes.iter().any(|v| matches!(v, Value::Pattern(_)));
            let keyed = keyed.into_iter().flatten();
            for (r, is_keyed) in keyed
                .map(|r| (r, true))
                .chain(self.wild_cpe.iter().map(|r| (r, false)))
            {
                if is_keyed && no_patterns && r.plain && (r.part == 0 || r.part == part) {
                    // vendor and product equal by key, the rest ANY: superset or equal
                    found.push((r.pid, Via::Cpe(r.i)));
                    continue;
                }
                let source = &self.products[r.pid as usize].cpes[r.i as usize];
                let rel = cpe::compare_attributes(source, c, |a| a != VERSION);
                if matches!(rel, Relation::Superset | Relation::Equal) {
                    found.push((r.pid, Via::Cpe(r.i)));
                }
            }
        }
        if let Some(p) = &id.purl {
            for &(pid, i) in self.by_purl.get(p.key()).into_iter().flatten() {
                found.push((pid, Via::Purl(i)));
            }
        }
        if id.cpe.is_none()
            && id.purl.is_none()
            && let Some(n) = &id.name
        {
            for &pid in self.by_name.get(&norm_name(n)).into_iter().flatten() {
                found.push((pid, Via::Name));
            }
        }
        // products are indexed advisory by advisory, vulnerability by vulnerability, so
        // their ids sort by (advisory, vulnerability)
        found.sort_by_key(|&(pid, _)| pid);
        found.dedup_by_key(|(pid, _)| *pid);
        found
    }

    /// Whether the installed version is in what one indexed product lists.
    fn product_verdict(&self, p: &Indexed<'_>, via: Via, version: Option<&str>) -> Verdict {
        let no_version = || Verdict::Unknown("no installed version to compare".to_string());
        if !p.product.versions.is_empty() {
            let Some(v) = version else {
                return no_version();
            };
            return p
                .product
                .versions
                .iter()
                .zip(&p.vers)
                .map(|(s, vers)| match vers {
                    Some(Ok(vers)) => vers.contains(v),
                    Some(Err(e)) => Verdict::Unknown(e.to_string()),
                    None => version::spec_verdict(s, p.product.ecosystem.as_deref(), p.scheme, v),
                })
                .fold(Verdict::NotAffected, Verdict::or);
        }
        match via {
            Via::Cpe(i) => match p.cpes[i as usize].version() {
                Value::Any | Value::Na => Verdict::Affected,
                Value::Literal(l) => match version {
                    Some(v) => version::exact(p.scheme.unwrap_or(Scheme::Generic), v, l),
                    None => no_version(),
                },
                pattern @ Value::Pattern(_) => match version {
                    Some(v) if pattern.matches_text(v) => Verdict::Affected,
                    Some(_) => Verdict::NotAffected,
                    None => no_version(),
                },
            },
            Via::Purl(i) => match (p.purls[i as usize].version(), version) {
                (None, _) => Verdict::Affected,
                (Some(_), None) => no_version(),
                (Some(pv), Some(v)) => version::exact(p.purls[i as usize].scheme(), v, pv),
            },
            Via::Name => Verdict::Affected,
        }
    }

    fn judge(
        &self,
        id: &Identity,
        skip: &HashSet<(u32, u32)>,
        make: impl Fn(&Advisory, &Option<String>, &str, MatchStatus, String) -> Match,
        out: &mut Vec<Match>,
    ) {
        let found = self.candidates(id);
        if found.is_empty() {
            return;
        }
        let version = id.version.as_deref();
        let mut described: Option<String> = None;
        for group in found.chunk_by(|a, b| {
            let (x, y) = (&self.products[a.0 as usize], &self.products[b.0 as usize]);
            (x.adv, x.vuln) == (y.adv, y.vuln)
        }) {
            let first = &self.products[group[0].0 as usize];
            if skip.contains(&(first.adv, first.vuln)) {
                continue;
            }
            let (mut affected, mut excluded, mut investigating) = (
                None::<(Verdict, u32)>,
                Verdict::NotAffected,
                Verdict::NotAffected,
            );
            for &(pid, via) in group {
                let p = &self.products[pid as usize];
                let verdict = self.product_verdict(p, via, version);
                match p.listed {
                    Listed::Affected => {
                        affected = Some(match affected {
                            // keep the product that decided the answer
                            Some((prev, prev_pid)) => {
                                let keep_prev = prev == Verdict::Affected
                                    || (prev.is_unknown() && verdict != Verdict::Affected);
                                let merged = prev.or(verdict);
                                (merged, if keep_prev { prev_pid } else { pid })
                            }
                            None => (verdict, pid),
                        })
                    }
                    Listed::Fixed | Listed::NotAffected => excluded = excluded.or(verdict),
                    Listed::UnderInvestigation => investigating = investigating.or(verdict),
                }
            }
            if excluded == Verdict::Affected {
                continue; // listed fixed or not affected for this version
            }
            let (status, pid) = match affected {
                Some((Verdict::Affected, pid)) => match &excluded {
                    Verdict::Unknown(r) => (
                        MatchStatus::Unknown(format!(
                            "affected, but whether it is fixed cannot be told: {r}"
                        )),
                        pid,
                    ),
                    _ => (MatchStatus::Affected, pid),
                },
                Some((Verdict::Unknown(r), pid)) => (MatchStatus::Unknown(r), pid),
                _ if investigating != Verdict::NotAffected => (
                    MatchStatus::Unknown("the product is under investigation".to_string()),
                    group[0].0,
                ),
                _ => continue,
            };
            let p = &self.products[pid as usize];
            let adv = &self.advisories[p.adv as usize];
            let vuln = &adv.vulnerabilities[p.vuln as usize];
            let versions = if p.product.versions.is_empty() {
                "all versions the identifier names".to_string()
            } else {
                p.product
                    .versions
                    .iter()
                    .map(version::describe)
                    .collect::<Vec<_>>()
                    .join(" or ")
            };
            let described = described.get_or_insert_with(|| id.describe());
            let detail = format!("{described} against {}: {versions}", p.product.name);
            out.push(make(adv, &vuln.cve, &p.product.name, status, detail));
        }
    }
}
