//! The normalised advisory: what CSAF 2.0, CVE JSON 5 and OSV documents all say, in one shape.

use std::fmt;

use baken_model::Tlp;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::cvss::{CvssScore, CvssVersion};

/// The format a document was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// OASIS CSAF 2.0.
    Csaf,
    /// CVE JSON 5 (CVE Record Format).
    Cve5,
    /// Open Source Vulnerability format (OSV schema 1.x).
    Osv,
    /// A record of NIST's NVD CVE API 2.0.
    Nvd,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csaf => "CSAF 2.0",
            Format::Cve5 => "CVE JSON 5",
            Format::Osv => "OSV",
            Format::Nvd => "NVD CVE API 2.0",
        })
    }
}

/// One advisory, normalised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advisory {
    /// The format it was read from.
    pub format: Format,
    /// The publisher's identifier: CSAF `tracking.id`, the CVE id, the OSV id.
    pub id: String,
    /// The title (OSV: `summary`).
    pub title: Option<String>,
    /// Who published it: CSAF `publisher.name`, the CVE assigner's short name.
    pub publisher: Option<String>,
    /// CSAF `distribution.tlp.label` (TLP 1.0 WHITE reads as CLEAR); `None` where the
    /// document sets none.
    pub tlp: Option<Tlp>,
    /// Every CVE id the advisory covers, sorted, without duplicates.
    pub cves: Vec<String>,
    /// Other identifiers (OSV aliases other than CVEs, CSAF `ids`).
    pub aliases: Vec<String>,
    /// When the advisory was first released.
    pub initial_release: Option<DateTime<Utc>>,
    /// When the current revision was released (CVE 5: `dateUpdated`; OSV: `modified`).
    pub current_release: Option<DateTime<Utc>>,
    /// The revision number of this document (CSAF `tracking.version`).
    pub revision: Option<String>,
    /// The revision history as the document tells it, oldest first.
    pub revision_history: Vec<Revision>,
    /// The vulnerabilities, with their scores, products and remediations.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Links the document gives at its top level.
    pub references: Vec<Reference>,
}

impl Advisory {
    /// The highest score of any vulnerability (the most specific score of each vector).
    pub fn highest_score(&self) -> Option<&Score> {
        self.vulnerabilities
            .iter()
            .flat_map(|v| &v.scores)
            .filter(|s| s.computed.is_some() || s.stated_base_score.is_some())
            .max_by(|a, b| a.value().total_cmp(&b.value()))
    }
}

/// One entry of a revision history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// The revision number (`1`, `1.0.1`).
    pub number: String,
    /// When it was released; `None` where the date does not parse.
    pub date: Option<DateTime<Utc>>,
    /// What changed.
    pub summary: String,
}

/// One vulnerability of an advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Vulnerability {
    /// Its CVE id, where it has one.
    pub cve: Option<String>,
    /// Other identifiers (CSAF `ids[].text`, OSV id).
    pub ids: Vec<String>,
    /// Its title, where the document gives one.
    pub title: Option<String>,
    /// CVSS scores, each with its vector and the products it applies to.
    pub scores: Vec<Score>,
    /// Products affected (CSAF known_affected, first_affected, last_affected; CVE 5 and OSV
    /// affected versions).
    pub affected: Vec<Product>,
    /// Products fixed (CSAF fixed, first_fixed; OSV fixed events; CVE 5 `lessThan` bounds).
    pub fixed: Vec<Product>,
    /// Products known not to be affected (CSAF known_not_affected; CVE 5 `unaffected`).
    pub not_affected: Vec<Product>,
    /// Products still under investigation (CSAF under_investigation; CVE 5 `unknown`).
    pub under_investigation: Vec<Product>,
    /// What to do about it.
    pub remediations: Vec<Remediation>,
    /// Links about this vulnerability.
    pub references: Vec<Reference>,
}

/// A CVSS score as a document states it, and as baken computes it from the vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// The vector as the document writes it.
    pub vector: String,
    /// The version the document states (or the vector implies).
    pub version: Option<CvssVersion>,
    /// The base score the document states, where it states one.
    pub stated_base_score: Option<f64>,
    /// The scores computed from the vector; `None` when the vector cannot be scored
    /// (the reader then reports a problem).
    pub computed: Option<CvssScore>,
    /// Product ids the score applies to (CSAF); empty means the whole vulnerability.
    pub product_ids: Vec<String>,
    /// Who scored it, where the document says (CVE 5: CNA or ADP short name).
    pub source: Option<String>,
}

impl Score {
    /// The figure to rank by: the computed most specific score, else the stated base score.
    pub fn value(&self) -> f64 {
        self.computed
            .as_ref()
            .map(CvssScore::effective_score)
            .or(self.stated_base_score)
            .unwrap_or(0.0)
    }
}

/// A product named by an advisory, with what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Product {
    /// CSAF `product_id`; `None` for CVE 5 and OSV.
    pub id: Option<String>,
    /// A human-readable name (CSAF `full_product_name.name`; "vendor product" otherwise).
    pub name: String,
    /// The vendor, where known (CSAF vendor branch, CVE 5 `vendor`).
    pub vendor: Option<String>,
    /// The product name without vendor and version, where known.
    pub product: Option<String>,
    /// The package ecosystem (OSV `package.ecosystem`, CVE 5 `collectionURL`).
    pub ecosystem: Option<String>,
    /// CPE 2.3 names (or CPE 2.2 URIs, as the document gives them).
    pub cpes: Vec<String>,
    /// Package URLs.
    pub purls: Vec<String>,
    /// Which versions. Empty means the document names no version: all versions it
    /// does not exclude otherwise.
    pub versions: Vec<VersionSpec>,
    /// For a CSAF relationship: how this product is made of others, e.g. a component
    /// `default_component_of` a platform.
    pub relationship: Option<Relationship>,
}

/// A CSAF relationship behind a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relationship {
    /// `default_component_of`, `installed_on`, `installed_with`, `optional_component_of`,
    /// `external_component_of`.
    pub category: String,
    /// The product id of the component.
    pub product_reference: String,
    /// The product id of the product it relates to.
    pub relates_to: String,
}

/// A version or a set of versions, as the document gives it. Nothing is compared here:
/// matching interprets these by scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VersionSpec {
    /// One version.
    Exact {
        /// The version string.
        version: String,
    },
    /// An interval: `introduced` ≤ v, and v < `fixed` or v ≤ `last_affected`.
    Range {
        /// The version scheme (CVE 5 `versionType`, OSV range type: `SEMVER`,
        /// `ECOSYSTEM`, `GIT`, `semver`, `rpm`, …); `None` where unstated.
        scheme: Option<String>,
        /// Inclusive lower bound; `None` for "from the first version".
        introduced: Option<String>,
        /// Exclusive upper bound: the first fixed version.
        fixed: Option<String>,
        /// Inclusive upper bound: the last affected version.
        last_affected: Option<String>,
    },
    /// A `vers:` range (CSAF `product_version_range` in vers notation).
    Vers {
        /// The vers string: `vers:semver/>=1.0|<1.4`.
        vers: String,
    },
    /// A free-text range that cannot be interpreted (`<=1.14.0`, `all versions before 3`).
    Text {
        /// The text.
        text: String,
    },
}

/// What the publisher advises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Remediation {
    /// CSAF category (`vendor_fix`, `mitigation`, `workaround`, `none_available`,
    /// `no_fix_planned`); CVE 5 `solution` or `workaround`.
    pub category: String,
    /// What to do.
    pub details: String,
    /// Where to read more or download the fix.
    pub url: Option<String>,
    /// The products it applies to (CSAF product ids, groups expanded).
    pub product_ids: Vec<String>,
}

/// A link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// The URL.
    pub url: String,
    /// What it is (CSAF `summary`, CVE 5 `name`, OSV `type`).
    pub summary: Option<String>,
}

/// Something in a document that is wrong or could not be read, with its place.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Problem {
    /// JSON pointer to the offending value: `/vulnerabilities/0/scores/1/cvss_v3/baseScore`.
    pub path: String,
    /// The CSAF mandatory test that found it (`6.1.1`), `schema`, or `read`.
    pub test: String,
    /// What is wrong, and where it helps, what to do.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, test: &str, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            test: test.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: [{}] {}", self.test, self.message)
    }
}

/// An advisory and what was wrong in the document it was read from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parsed {
    /// What could be read.
    pub advisory: Advisory,
    /// Parts that could not be read (each skipped, the rest kept).
    pub problems: Vec<Problem>,
}

/// A document that cannot be read as an advisory at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON.
    #[error("not JSON: {0}; check that the file is a JSON advisory")]
    Json(#[from] serde_json::Error),
    /// JSON, but not one of the formats, or missing what every document of the format has.
    #[error("{format}: {message} at {path}")]
    Shape {
        /// The format tried.
        format: &'static str,
        /// JSON pointer to the missing or malformed value.
        path: String,
        /// What is missing.
        message: String,
    },
    /// JSON of none of the supported formats.
    #[error(
        "not a CSAF 2.0, CVE JSON 5 or OSV document: no document.csaf_version, cveMetadata or OSV id/affected"
    )]
    UnknownFormat,
}

/// Parses an RFC 3339 timestamp to UTC.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            // CVE 5 often omits the offset: "2020-01-15T00:00:00" / ".000"
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Scores a vector, recording a problem where it cannot be scored.
pub(crate) fn score(
    vector: &str,
    version: Option<CvssVersion>,
    stated_base_score: Option<f64>,
    product_ids: Vec<String>,
    source: Option<String>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> Score {
    let computed = match crate::cvss::compute(vector) {
        Ok(c) => Some(c),
        Err(e) => {
            problems.push(Problem::new(path, "read", e.to_string()));
            None
        }
    };
    Score {
        vector: vector.to_string(),
        version: version.or(computed.as_ref().map(|c| c.version)),
        stated_base_score,
        computed,
        product_ids,
        source,
    }
}
