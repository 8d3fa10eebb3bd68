//! Package URLs: parsed by the `packageurl` crate, normalised per type for matching.
//!
//! Two purls name the same package when their [`PackageKey`]s — type, namespace and name,
//! normalised by the type's rules — are equal. Normalisation follows the purl spec's type
//! definitions: the type is always lower-cased; `pypi` names are lower-cased with `_` read
//! as `-`; `npm`, `deb`, `apk`, `alpm`, `bitbucket`, `github`, `golang`, `composer`, `hex`,
//! `nuget` and `pub` names and namespaces are case-insensitive; other types (`maven`, `gem`,
//! `rpm`, `cargo`, …) are compared as written.
//!
//! Versions compare by the type's scheme ([`Scheme::for_purl_type`]): deb → Debian,
//! rpm → RPM, npm / cargo / golang → semver, any other → generic.
//!
//! ```
//! use baken_matching::purl::{Purl, matches};
//! use baken_matching::version::Verdict;
//! let advisory: Purl = "pkg:pypi/Django_Rest@3.0".parse().unwrap();
//! let installed: Purl = "pkg:pypi/django-rest@3.0.0".parse().unwrap();
//! assert_eq!(advisory.key(), installed.key());
//! assert_eq!(matches(&advisory, &installed), Verdict::Affected);
//! ```

use std::fmt;
use std::str::FromStr;

use packageurl::PackageUrl;

use crate::version::{self, Scheme, Verdict};

/// Type, namespace and name, normalised: what identifies a package across versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PackageKey {
    /// The purl type, lower-cased.
    pub ty: String,
    /// The namespace, normalised; empty where there is none.
    pub namespace: String,
    /// The name, normalised.
    pub name: String,
}

impl fmt::Display for PackageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "pkg:{}/{}", self.ty, self.name)
        } else {
            write!(f, "pkg:{}/{}/{}", self.ty, self.namespace, self.name)
        }
    }
}

/// A parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    key: PackageKey,
    version: Option<String>,
    qualifiers: Vec<(String, String)>,
}

/// A string that is not a package URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("purl {input:?}: {reason}")]
pub struct PurlError {
    /// The input.
    pub input: String,
    /// What is wrong.
    pub reason: String,
}

const CASE_INSENSITIVE: &[&str] = &[
    "npm",
    "deb",
    "apk",
    "alpm",
    "bitbucket",
    "github",
    "golang",
    "composer",
    "hex",
    "nuget",
    "pub",
    "pypi",
];

/// Normalises a namespace or name of a purl type for comparison.
pub fn normalise(ty: &str, value: &str) -> String {
    let ty = ty.to_ascii_lowercase();
    if ty == "pypi" {
        value.to_lowercase().replace('_', "-")
    } else if CASE_INSENSITIVE.contains(&ty.as_str()) {
        value.to_lowercase()
    } else {
        value.to_string()
    }
}

impl FromStr for Purl {
    type Err = PurlError;

    fn from_str(s: &str) -> Result<Self, PurlError> {
        let t = s.trim();
        let normalised;
        let t = match t.get(..4) {
            Some(scheme) if scheme != "pkg:" && scheme.eq_ignore_ascii_case("pkg:") => {
                normalised = format!("pkg:{}", &t[4..]);
                normalised.as_str()
            }
            _ => t,
        };
        let p = PackageUrl::from_str(t).map_err(|e| PurlError {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        let ty = p.ty().to_ascii_lowercase();
        let mut qualifiers: Vec<(String, String)> = p
            .qualifiers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        qualifiers.sort();
        Ok(Purl {
            key: PackageKey {
                namespace: p.namespace().map(|n| normalise(&ty, n)).unwrap_or_default(),
                name: normalise(&ty, p.name()),
                ty,
            },
            version: p.version().map(str::to_string),
            qualifiers,
        })
    }
}

impl Purl {
    /// Type, namespace and name, normalised.
    pub fn key(&self) -> &PackageKey {
        &self.key
    }

    /// The version, where the purl has one.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The qualifiers (`arch`, `distro`, …), sorted by key.
    pub fn qualifiers(&self) -> &[(String, String)] {
        &self.qualifiers
    }

    /// The version scheme of the purl's type.
    pub fn scheme(&self) -> Scheme {
        Scheme::for_purl_type(&self.key.ty)
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.key)?;
        if let Some(v) = &self.version {
            write!(f, "@{v}")?;
        }
        Ok(())
    }
}

/// Whether an advisory's purl covers an installed one: same package, and where the advisory
/// purl has a version, the same version in the type's scheme. An installed purl without a
/// version against a versioned advisory purl is unknown.
pub fn matches(advisory: &Purl, installed: &Purl) -> Verdict {
    if advisory.key != installed.key {
        return Verdict::NotAffected;
    }
    match (advisory.version(), installed.version()) {
        (None, _) => Verdict::Affected,
        (Some(_), None) => Verdict::Unknown(format!("{installed} names no version")),
        (Some(a), Some(i)) => version::exact(advisory.scheme(), i, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn purl(s: &str) -> Purl {
        s.parse().unwrap()
    }

    fn check(advisory: &str, installed: &str, expected: Verdict) {
        let got = matches(&purl(advisory), &purl(installed));
        match expected {
            Verdict::Unknown(_) => assert!(got.is_unknown(), "{advisory} vs {installed}: {got:?}"),
            e => assert_eq!(got, e, "{advisory} vs {installed}"),
        }
    }

    #[test]
    fn normalises_per_type() {
        check(
            "pkg:pypi/Foo_Bar",
            "pkg:pypi/foo-bar@1.0",
            Verdict::Affected,
        );
        check(
            "pkg:npm/%40Angular/Core",
            "pkg:npm/%40angular/core@1.0.0",
            Verdict::Affected,
        );
        check(
            "pkg:maven/org.Apache/Log4j",
            "pkg:maven/org.apache/log4j@2.0",
            Verdict::NotAffected,
        );
        check(
            "pkg:github/Citrix/ADC",
            "pkg:github/citrix/adc",
            Verdict::Affected,
        );
        check(
            "pkg:npm/widget",
            "pkg:cargo/widget@1.0.0",
            Verdict::NotAffected,
        );
        check("PKG:NPM/widget", "pkg:npm/widget", Verdict::Affected);
    }

    #[test]
    fn versions_compare_by_type_scheme() {
        check(
            "pkg:npm/widget@1.4.0",
            "pkg:npm/widget@v1.4.0",
            Verdict::Affected,
        );
        check(
            "pkg:npm/widget@1.4.0",
            "pkg:npm/widget@1.4.0-rc.1",
            Verdict::NotAffected,
        );
        check(
            "pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u4",
            "pkg:deb/debian/openssl@1.1.1n-0+deb11u4?arch=amd64",
            Verdict::Affected,
        );
        check(
            "pkg:deb/debian/openssl@1:1.0",
            "pkg:deb/debian/openssl@1.0",
            Verdict::NotAffected,
        );
        check(
            "pkg:rpm/redhat/openssl@1.0.2k-19.el7",
            "pkg:rpm/redhat/openssl@1.0.2k-19.el7",
            Verdict::Affected,
        );
        check(
            "pkg:npm/widget@1.4.0",
            "pkg:npm/widget",
            Verdict::Unknown(String::new()),
        );
        check(
            "pkg:npm/widget@1.4.0",
            "pkg:npm/widget@latest",
            Verdict::Unknown(String::new()),
        );
    }

    #[test]
    fn rejects_what_is_not_a_purl() {
        for bad in ["npm/widget", "pkg:/widget", "cpe:2.3:a:x:y"] {
            assert!(bad.parse::<Purl>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn pypi_names_match_whatever_their_case_and_separator(
            parts in proptest::collection::vec("[a-zA-Z][a-zA-Z0-9]{0,5}", 1..4),
            seps in proptest::collection::vec(prop_oneof![Just("-"), Just("_")], 3),
        ) {
            let mut a = String::new();
            let mut b = String::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 { a.push_str(seps[i - 1]); b.push('-'); }
                a.push_str(p);
                b.push_str(&p.to_lowercase());
            }
            prop_assert_eq!(
                matches(&purl(&format!("pkg:pypi/{a}")), &purl(&format!("pkg:pypi/{b}@1.0"))),
                Verdict::Affected
            );
        }

        #[test]
        fn different_names_never_match(a in "[a-z]{1,6}", b in "[a-z]{1,6}") {
            prop_assume!(a != b);
            prop_assert_eq!(
                matches(&purl(&format!("pkg:npm/{a}")), &purl(&format!("pkg:npm/{b}@1.0.0"))),
                Verdict::NotAffected
            );
        }
    }
}
