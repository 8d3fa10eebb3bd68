//! Versions compared by each ecosystem's rules, and the ranges advisories give.
//!
//! * [`Scheme`] — semver (2.0 precedence, pre-releases), Debian (epoch, `~`, revision, as
//!   dpkg), RPM (rpmvercmp with epoch, `~` and `^`) and a generic dotted-numeric scheme.
//! * [`Vers`] — a `vers:` range specifier (`vers:semver/>=1.0.0|<2.0.0`, `*`, `!=`).
//! * [`in_range`] — an interval (OSV `introduced` / `fixed` / `last_affected`), [`osv_events`]
//!   an OSV event list, [`cve5_range`] a CVE 5 `version` + `lessThan` / `lessThanOrEqual`.
//! * [`spec_verdict`] — any [`VersionSpec`] of an advisory.
//!
//! Every answer is a [`Verdict`]: where a version cannot be parsed or compared in its scheme
//! the answer is [`Verdict::Unknown`] with the reason, never a silent yes or no.
//!
//! ```
//! use baken_matching::version::{Scheme, Verdict, Vers, in_range};
//! assert_eq!(in_range(Scheme::Semver, "1.4.2", Some("1.0.0"), Some("1.5.0"), None), Verdict::Affected);
//! assert_eq!(in_range(Scheme::Semver, "1.5.0", Some("1.0.0"), Some("1.5.0"), None), Verdict::NotAffected);
//! assert!(in_range(Scheme::Semver, "banana", None, Some("1.5.0"), None).is_unknown());
//! let vers: Vers = "vers:deb/>=1:1.0-1|<1:1.2~rc1".parse().unwrap();
//! assert_eq!(vers.contains("1:1.1-3"), Verdict::Affected);
//! ```
//!
//! The generic scheme splits a version into numeric and alphabetic parts at `.`, `-`, `_`,
//! `+` and at every change between digits and letters (`13.0-47.24` → 13, 0, 47, 24). Numbers
//! compare as numbers; letters compare only when equal (`1.0rc1` against `1.0` is unknown, as
//! their meaning differs between ecosystems); missing trailing parts count as zero.

mod generic;
mod rpm;
#[cfg(test)]
mod tests;
mod vers;

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use baken_advisory::VersionSpec;

pub use vers::{Comparator, Constraint, Vers, VersError};

/// Whether a version is in a set of versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The version is in the set.
    Affected,
    /// The version is outside the set.
    NotAffected,
    /// It cannot be told; the reason says why (unparseable version, unknown scheme, free text).
    Unknown(String),
}

impl Verdict {
    /// Whether this is [`Verdict::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, Verdict::Unknown(_))
    }

    /// The union of two answers for "is the version in A or in B": affected wins, then unknown.
    pub fn or(self, other: Verdict) -> Verdict {
        match (self, other) {
            (Verdict::Affected, _) | (_, Verdict::Affected) => Verdict::Affected,
            (Verdict::Unknown(r), _) | (_, Verdict::Unknown(r)) => Verdict::Unknown(r),
            _ => Verdict::NotAffected,
        }
    }
}

/// A version scheme: the rules by which an ecosystem orders its versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Semantic Versioning 2.0 (npm, cargo, Go). A leading `v` is dropped and a missing
    /// minor or patch number counts as 0 (`1.4` reads as `1.4.0`); build metadata is ignored.
    Semver,
    /// Debian: `[epoch:]upstream[-revision]`, `~` sorting before everything.
    Debian,
    /// RPM: `[epoch:]version[-release]` compared by rpmvercmp, with `~` and `^`.
    Rpm,
    /// Dotted numbers, letters only where equal (see the module docs).
    Generic,
}

/// A version that cannot be read or compared in a scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme} version {version:?}: {reason}")]
pub struct VersionError {
    /// The scheme.
    pub scheme: Scheme,
    /// The version, as given.
    pub version: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Ecosystem and scheme names whose versions the generic scheme orders soundly as far as
/// it answers: plain dotted numbers mean the same in each of them.
const GENERIC_NAMES: &[&str] = &[
    "generic",
    "intdot",
    "custom",
    "maven",
    "pypi",
    "python",
    "gem",
    "rubygems",
    "nuget",
    "composer",
    "packagist",
    "hex",
    "pub",
    "swift",
    "conan",
    "cocoapods",
    "hackage",
    "cran",
    "alpine",
    "apk",
    "github",
    "bitbucket",
    "docker",
    "oci",
];

impl Scheme {
    /// The scheme's `vers` name.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Semver => "semver",
            Scheme::Debian => "deb",
            Scheme::Rpm => "rpm",
            Scheme::Generic => "generic",
        }
    }

    /// The scheme of a name as `vers`, CVE 5 `versionType`, OSV range types and purl types
    /// write it (case-insensitive); `None` for a name baken does not know (and for `git`:
    /// commits cannot be ordered without their repository).
    pub fn from_name(name: &str) -> Option<Scheme> {
        let n = name.trim().to_ascii_lowercase();
        match n.as_str() {
            "semver" | "npm" | "cargo" | "crates.io" | "golang" | "go" => Some(Scheme::Semver),
            "deb" | "debian" | "dpkg" | "ubuntu" => Some(Scheme::Debian),
            "rpm" | "redhat" | "red hat" | "almalinux" | "rocky linux" | "opensuse" | "suse" => {
                Some(Scheme::Rpm)
            }
            _ if GENERIC_NAMES.contains(&n.as_str()) => Some(Scheme::Generic),
            _ => None,
        }
    }

    /// The scheme of a purl type: deb → Debian, rpm → RPM, npm / cargo / golang → semver,
    /// any other type → generic.
    pub fn for_purl_type(ty: &str) -> Scheme {
        match ty.to_ascii_lowercase().as_str() {
            "deb" => Scheme::Debian,
            "rpm" => Scheme::Rpm,
            "npm" | "cargo" | "golang" => Scheme::Semver,
            _ => Scheme::Generic,
        }
    }

    /// The scheme of an OSV ecosystem (`Debian:12`, `Red Hat`, `npm`, `PyPI`); `None` where
    /// unknown.
    pub fn for_ecosystem(ecosystem: &str) -> Option<Scheme> {
        let base = ecosystem.split(':').next().unwrap_or_default().trim();
        let lower = base.to_ascii_lowercase();
        if lower.starts_with("debian") || lower.starts_with("ubuntu") {
            return Some(Scheme::Debian);
        }
        if [
            "red hat",
            "almalinux",
            "rocky linux",
            "opensuse",
            "suse",
            "mageia",
            "openeuler",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
        {
            return Some(Scheme::Rpm);
        }
        Scheme::from_name(&lower)
    }

    /// Orders two versions; an error where either cannot be read or the two cannot be
    /// compared in this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        let err = |version: &str, reason: String| VersionError {
            scheme: self,
            version: version.to_string(),
            reason,
        };
        match self {
            Scheme::Semver => {
                let x = parse_semver(a).map_err(|r| err(a, r))?;
                let y = parse_semver(b).map_err(|r| err(b, r))?;
                Ok((x.major, x.minor, x.patch, &x.pre).cmp(&(y.major, y.minor, y.patch, &y.pre)))
            }
            Scheme::Debian => {
                let x = parse_debian(a).map_err(|r| err(a, r))?;
                let y = parse_debian(b).map_err(|r| err(b, r))?;
                Ok(x.cmp(&y))
            }
            Scheme::Rpm => {
                let x = rpm::Evr::parse(a).map_err(|r| err(a, r))?;
                let y = rpm::Evr::parse(b).map_err(|r| err(b, r))?;
                Ok(x.compare(&y))
            }
            Scheme::Generic => {
                generic::compare(a, b).map_err(|(v, r)| err(if v == 0 { a } else { b }, r))
            }
        }
    }

    /// Whether a version can be read in this scheme at all.
    pub fn validate(self, version: &str) -> Result<(), VersionError> {
        self.compare(version, version).map(|_| ())
    }
}

fn parse_semver(s: &str) -> Result<semver::Version, String> {
    let t = s.trim();
    let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
    if let Ok(v) = semver::Version::parse(t) {
        return Ok(v);
    }
    let end = t.find(['-', '+']).unwrap_or(t.len());
    let (core, rest) = t.split_at(end);
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() < 3 && parts.iter().all(numeric) {
        let padded = format!("{core}{}{rest}", ".0".repeat(3 - parts.len()));
        if let Ok(v) = semver::Version::parse(&padded) {
            return Ok(v);
        }
    }
    Err("not a semantic version (MAJOR.MINOR.PATCH[-pre][+build])".to_string())
}

fn parse_debian(s: &str) -> Result<debversion::Version, String> {
    let t = s.trim();
    if !t.starts_with(|c: char| c.is_ascii_digit()) && !t.contains(':') {
        return Err("a Debian upstream version must start with a digit".to_string());
    }
    debversion::Version::from_str(t).map_err(|e| e.to_string())
}

/// Whether `version` lies in the interval `introduced` ≤ v, v < `fixed`, v ≤ `last_affected`
/// (each bound optional; `introduced` of `0`, `*`, `unspecified` or `n/a` means "from the
/// first version", as OSV and CVE 5 write it).
///
/// A bound that places the version outside answers [`Verdict::NotAffected`] even where
/// another bound cannot be compared; otherwise any comparison that fails makes the answer
/// [`Verdict::Unknown`].
pub fn in_range(
    scheme: Scheme,
    version: &str,
    introduced: Option<&str>,
    fixed: Option<&str>,
    last_affected: Option<&str>,
) -> Verdict {
    if let Err(e) = scheme.validate(version) {
        return Verdict::Unknown(e.to_string());
    }
    let introduced = introduced.filter(|i| !is_open_bound(i));
    let mut unknown = None;
    let mut check = |bound: Option<&str>, outside: fn(Ordering) -> bool| -> bool {
        let Some(b) = bound else { return false };
        match scheme.compare(version, b) {
            Ok(o) => outside(o),
            Err(e) => {
                unknown.get_or_insert(e.to_string());
                false
            }
        }
    };
    let out = check(introduced, |o| o == Ordering::Less)
        | check(fixed.filter(|f| !is_open_bound(f)), |o| o != Ordering::Less)
        | check(last_affected.filter(|l| !is_open_bound(l)), |o| {
            o == Ordering::Greater
        });
    if out {
        Verdict::NotAffected
    } else if let Some(reason) = unknown {
        Verdict::Unknown(reason)
    } else {
        Verdict::Affected
    }
}

fn is_open_bound(b: &str) -> bool {
    let b = b.trim();
    b.is_empty()
        || b == "0"
        || b == "*"
        || b.eq_ignore_ascii_case("unspecified")
        || b.eq_ignore_ascii_case("n/a")
}

/// Whether `version` equals `expected` in the scheme (identical strings always do).
pub fn exact(scheme: Scheme, version: &str, expected: &str) -> Verdict {
    let expected = expected.trim();
    if expected == "*" || version.trim().eq_ignore_ascii_case(expected) {
        return Verdict::Affected;
    }
    match scheme.compare(version, expected) {
        Ok(Ordering::Equal) => Verdict::Affected,
        Ok(_) => Verdict::NotAffected,
        Err(e) => Verdict::Unknown(e.to_string()),
    }
}

/// One event of an OSV range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OsvEvent {
    /// `introduced`: the first affected version (`0`: from the start).
    Introduced(String),
    /// `fixed`: the first version no longer affected.
    Fixed(String),
    /// `last_affected`: the last affected version.
    LastAffected(String),
    /// `limit`: an upper bound on the range, for git ranges; ignored for ordered schemes.
    Limit(String),
}

/// Whether `version` is affected by an OSV range given as its events, in document order:
/// each `introduced` opens an interval that the next `fixed` or `last_affected` closes.
pub fn osv_events(scheme: Scheme, version: &str, events: &[OsvEvent]) -> Verdict {
    let mut verdict = Verdict::NotAffected;
    let mut open: Option<&str> = None;
    let mut opened = false;
    for e in events {
        match e {
            OsvEvent::Introduced(v) => {
                if opened {
                    verdict = verdict.or(in_range(scheme, version, open, None, None));
                }
                open = Some(v);
                opened = true;
            }
            OsvEvent::Fixed(v) | OsvEvent::LastAffected(v) if opened => {
                let (fixed, last) = match e {
                    OsvEvent::Fixed(_) => (Some(v.as_str()), None),
                    _ => (None, Some(v.as_str())),
                };
                verdict = verdict.or(in_range(scheme, version, open, fixed, last));
                opened = false;
                open = None;
            }
            _ => {}
        }
    }
    if opened {
        verdict = verdict.or(in_range(scheme, version, open, None, None));
    }
    verdict
}

/// Whether `version` is in a CVE 5 `versions[]` entry: `version` alone is one version;
/// with `lessThan` (exclusive) or `lessThanOrEqual` (inclusive) it is the lower bound of a
/// range. `versionType` names the scheme; absent or `custom` reads as generic; a type
/// baken does not know answers unknown.
pub fn cve5_range(
    version_type: Option<&str>,
    entry_version: &str,
    less_than: Option<&str>,
    less_than_or_equal: Option<&str>,
    version: &str,
) -> Verdict {
    let Some(scheme) = resolve_scheme(version_type, None, None) else {
        return unknown_scheme(version_type.unwrap_or_default());
    };
    if less_than.is_none() && less_than_or_equal.is_none() {
        return exact(scheme, version, entry_version);
    }
    in_range(
        scheme,
        version,
        Some(entry_version),
        less_than,
        less_than_or_equal,
    )
}

fn unknown_scheme(name: &str) -> Verdict {
    Verdict::Unknown(format!(
        "version scheme {name:?} cannot be compared by baken"
    ))
}

/// The scheme of a range: its stated scheme (CVE 5 `versionType`, OSV range `type`); for
/// OSV `ECOSYSTEM` the product's ecosystem; where none is stated or it is `custom`, the
/// `default` (the scheme of the purl type), else generic. `None` for a scheme that cannot
/// be compared (`GIT`, unknown names).
pub fn resolve_scheme(
    stated: Option<&str>,
    ecosystem: Option<&str>,
    default: Option<Scheme>,
) -> Option<Scheme> {
    match stated.map(str::trim) {
        None | Some("") => Some(default.unwrap_or(Scheme::Generic)),
        Some(s) if s.eq_ignore_ascii_case("custom") => Some(default.unwrap_or(Scheme::Generic)),
        Some(s) if s.eq_ignore_ascii_case("ecosystem") => {
            ecosystem.and_then(Scheme::for_ecosystem).or(default)
        }
        Some(s) => Scheme::from_name(s),
    }
}

/// Whether `version` is in the set an advisory's [`VersionSpec`] describes. `ecosystem` is
/// the product's (OSV `ECOSYSTEM` ranges need it); `default` the scheme the product's purl
/// type implies, used for exact versions and ranges that state no scheme.
pub fn spec_verdict(
    spec: &VersionSpec,
    ecosystem: Option<&str>,
    default: Option<Scheme>,
    version: &str,
) -> Verdict {
    match spec {
        VersionSpec::Exact { version: expected } => {
            exact(default.unwrap_or(Scheme::Generic), version, expected)
        }
        VersionSpec::Range {
            scheme,
            introduced,
            fixed,
            last_affected,
        } => match resolve_scheme(scheme.as_deref(), ecosystem, default) {
            Some(s) => in_range(
                s,
                version,
                introduced.as_deref(),
                fixed.as_deref(),
                last_affected.as_deref(),
            ),
            None => unknown_scheme(scheme.as_deref().unwrap_or_default()),
        },
        VersionSpec::Vers { vers } => match vers.parse::<Vers>() {
            Ok(v) => v.contains(version),
            Err(e) => Verdict::Unknown(e.to_string()),
        },
        VersionSpec::Text { text } => Verdict::Unknown(format!(
            "free-text version range {text:?} cannot be interpreted"
        )),
    }
}

/// A short human-readable form of a spec, for match details.
pub fn describe(spec: &VersionSpec) -> String {
    match spec {
        VersionSpec::Exact { version } => format!("= {version}"),
        VersionSpec::Range {
            scheme,
            introduced,
            fixed,
            last_affected,
        } => {
            let mut parts = Vec::new();
            if let Some(i) = introduced.as_deref().filter(|i| !is_open_bound(i)) {
                parts.push(format!(">= {i}"));
            }
            if let Some(f) = fixed {
                parts.push(format!("< {f}"));
            }
            if let Some(l) = last_affected {
                parts.push(format!("<= {l}"));
            }
            if parts.is_empty() {
                parts.push("all versions".to_string());
            }
            match scheme {
                Some(s) => format!("{} ({s})", parts.join(", ")),
                None => parts.join(", "),
            }
        }
        VersionSpec::Vers { vers } => vers.clone(),
        VersionSpec::Text { text } => text.clone(),
    }
}
