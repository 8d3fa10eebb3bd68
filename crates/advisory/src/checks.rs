//! CSAF 2.0's tests (section 6 of the standard), each problem reported with the JSON pointer
//! of the offending value. Mandatory tests (6.1) are errors: a document that fails one is
//! not valid. Optional tests (6.2) are warnings: the document stays valid. [`report`] keeps
//! the two apart; [`run`] runs the mandatory tests alone.
//!
//! Mandatory tests, all of section 6.1 ([`mandatory`]):
//!
//! * 6.1.1–6.1.5 product and product group ids: missing, defined twice, circular
//! * 6.1.6 contradicting product status; 6.1.7 two scores of one CVSS version per product
//! * 6.1.8–6.1.10 CVSS: object valid, scores computed right, properties agree with the vector
//! * 6.1.11 CWE — the form only: the CWE catalogue is not shipped with baken (see
//!   [`mandatory::cwe`])
//! * 6.1.12 language — well-formed BCP 47, with a two-letter primary language subtag that
//!   ISO 639-1 defines; three-letter subtags and the other subtags are checked for form only
//!   (the IANA registry is not shipped)
//! * 6.1.13 purl; 6.1.14–6.1.22 and 6.1.30 document version and revision history;
//!   6.1.23 one CVE per vulnerability; 6.1.24 involvements; 6.1.25 hash algorithms
//! * 6.1.26 prohibited document category; 6.1.27.1–6.1.27.11 the profile tests;
//!   6.1.28 translation
//! * 6.1.29 remediations and 6.1.32 flags without products; 6.1.31 version ranges in
//!   `product_version` branches; 6.1.33 two VEX justifications for one product
//!
//! Optional tests of section 6.2 ([`optional`]): 6.2.1–6.2.12 and 6.2.14–6.2.19. Not run:
//! 6.2.13 (sorted keys: a parsed `serde_json::Value` does not keep the document's key
//! order) and 6.2.20 (additional properties: it needs a strict variant of the schema).
//!
//! ```
//! let doc = serde_json::json!({
//!     "product_tree": {"full_product_names": [{"name": "A", "product_id": "P1"}]},
//!     "vulnerabilities": [{"product_status": {"known_affected": ["P1", "P2"]},
//!         "scores": [{"products": ["P1"], "cvss_v3": {"version": "3.1", "baseScore": 10.0,
//!             "baseSeverity": "CRITICAL",
//!             "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]}]
//! });
//! let problems = baken_advisory::checks::run(&doc);
//! let found: Vec<(&str, &str)> =
//!     problems.iter().map(|p| (p.test.as_str(), p.path.as_str())).collect();
//! assert_eq!(found, [
//!     ("6.1.1", "/vulnerabilities/0/product_status/known_affected/1"),
//!     ("6.1.9", "/vulnerabilities/0/scores/0/cvss_v3/baseScore"),
//! ]);
//! // P1 is affected but no remediation covers it: a warning, not an error
//! let report = baken_advisory::checks::report(&doc);
//! assert_eq!(report.errors, problems);
//! assert!(report.warnings.iter().any(|w| w.test == "6.2.2"));
//! ```

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::csaf::{arr, str_of};
use crate::model::{Problem, parse_time};

pub mod mandatory;
pub mod optional;

pub use mandatory::{
    invalid_cvss, invalid_cvss_computation, missing_group_ids, missing_product_ids,
    multiple_group_ids, multiple_product_ids,
};

/// What the tests found in one document: errors (mandatory tests) and warnings (optional
/// tests), each in test order, then document order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Failed mandatory tests (6.1): the document is not a valid CSAF document.
    pub errors: Vec<Problem>,
    /// Failed optional tests (6.2): the document is valid but could be better.
    pub warnings: Vec<Problem>,
}

impl Report {
    /// True when no mandatory test failed (warnings do not count).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Runs every mandatory test; problems in test order, then document order.
pub fn run(doc: &Value) -> Vec<Problem> {
    mandatory::run(doc)
}

/// Runs the mandatory tests as errors and the optional tests as warnings.
pub fn report(doc: &Value) -> Report {
    Report {
        errors: mandatory::run(doc),
        warnings: optional::run(doc),
    }
}

/// The profile a document claims by `/document/category`.
fn category(doc: &Value) -> &str {
    doc.pointer("/document/category")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn product_tree(doc: &Value) -> &Value {
    doc.get("product_tree").unwrap_or(&Value::Null)
}

/// Every branch of the product tree, depth first: `(path, branch)`.
fn branches(doc: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(b: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
        out.push((path.clone(), b));
        for (i, c) in arr(b, "branches").iter().enumerate() {
            walk(c, format!("{path}/branches/{i}"), out);
        }
    }
    let mut out = Vec::new();
    for (i, b) in arr(product_tree(doc), "branches").iter().enumerate() {
        walk(b, format!("/product_tree/branches/{i}"), &mut out);
    }
    out
}

/// Every full product name (`full_product_name_t`): in branches, in `full_product_names`
/// and in relationships: `(path, object)`.
fn full_product_names(doc: &Value) -> Vec<(String, &Value)> {
    let tree = product_tree(doc);
    let mut out: Vec<(String, &Value)> = branches(doc)
        .into_iter()
        .filter_map(|(path, b)| Some((format!("{path}/product"), b.get("product")?)))
        .collect();
    for (i, f) in arr(tree, "full_product_names").iter().enumerate() {
        out.push((format!("/product_tree/full_product_names/{i}"), f));
    }
    for (i, r) in arr(tree, "relationships").iter().enumerate() {
        if let Some(f) = r.get("full_product_name") {
            out.push((
                format!("/product_tree/relationships/{i}/full_product_name"),
                f,
            ));
        }
    }
    out
}

/// Where each product id is defined: `(id, path of the product_id value)`.
fn product_definitions(doc: &Value) -> Vec<(String, String)> {
    full_product_names(doc)
        .into_iter()
        .filter_map(|(path, f)| {
            Some((
                str_of(f, "product_id")?.to_string(),
                format!("{path}/product_id"),
            ))
        })
        .collect()
}

/// The product status lists of CSAF 2.0.
const STATUSES: [&str; 8] = [
    "first_affected",
    "first_fixed",
    "fixed",
    "known_affected",
    "known_not_affected",
    "last_affected",
    "recommended",
    "under_investigation",
];

/// Where each product id is referred to: `(id, path)`.
fn product_references(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut list = |v: &Value, key: &str, path: String| {
        for (k, id) in arr(v, key).iter().enumerate() {
            if let Some(id) = id.as_str() {
                out.push((id.to_string(), format!("{path}/{key}/{k}")));
            }
        }
    };
    let tree = product_tree(doc);
    for (i, g) in arr(tree, "product_groups").iter().enumerate() {
        list(
            g,
            "product_ids",
            format!("/product_tree/product_groups/{i}"),
        );
    }
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let path = format!("/vulnerabilities/{i}");
        if let Some(status) = v.get("product_status") {
            for key in STATUSES {
                list(status, key, format!("{path}/product_status"));
            }
        }
        for (j, s) in arr(v, "scores").iter().enumerate() {
            list(s, "products", format!("{path}/scores/{j}"));
        }
        for key in ["remediations", "threats", "flags"] {
            for (j, r) in arr(v, key).iter().enumerate() {
                list(r, "product_ids", format!("{path}/{key}/{j}"));
            }
        }
    }
    for (i, r) in arr(tree, "relationships").iter().enumerate() {
        for key in ["product_reference", "relates_to_product_reference"] {
            if let Some(id) = str_of(r, key) {
                out.push((
                    id.to_string(),
                    format!("/product_tree/relationships/{i}/{key}"),
                ));
            }
        }
    }
    out
}

/// The product ids of each product group.
fn groups(doc: &Value) -> HashMap<&str, Vec<&str>> {
    let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
    for g in arr(product_tree(doc), "product_groups") {
        if let Some(id) = str_of(g, "group_id") {
            out.entry(id)
                .or_default()
                .extend(arr(g, "product_ids").iter().filter_map(Value::as_str));
        }
    }
    out
}

/// The products an item (remediation, threat, flag) applies to: its `product_ids` and the
/// members of its `group_ids`.
fn covered<'a>(item: &'a Value, groups: &HashMap<&'a str, Vec<&'a str>>) -> HashSet<&'a str> {
    let mut out: HashSet<&str> = arr(item, "product_ids")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for g in arr(item, "group_ids").iter().filter_map(Value::as_str) {
        out.extend(groups.get(g).into_iter().flatten().copied());
    }
    out
}

/// The ids listed under one product status of a vulnerability: `(id, path)`.
fn status_ids<'a>(v: &'a Value, i: usize, key: &str) -> Vec<(&'a str, String)> {
    let list = v.get("product_status").unwrap_or(&Value::Null);
    arr(list, key)
        .iter()
        .enumerate()
        .filter_map(|(k, id)| {
            Some((
                id.as_str()?,
                format!("/vulnerabilities/{i}/product_status/{key}/{k}"),
            ))
        })
        .collect()
}

/// A `version_t` value: integer or semantic versioning (section 3.1.11 of CSAF 2.0).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Version {
    Integer(u64),
    Semantic {
        major: u64,
        minor: u64,
        patch: u64,
        /// The pre-release part after `-`, if any.
        pre: Option<String>,
        /// The build metadata after `+`, if any.
        build: Option<String>,
    },
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
        let number = |n: &str| -> Option<u64> {
            let plain = !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && (n == "0" || !n.starts_with('0'));
            if plain { n.parse().ok() } else { None }
        };
        if let Some(n) = number(s) {
            return Some(Version::Integer(n));
        }
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b.to_string())),
            None => (s, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p.to_string())),
            None => (rest, None),
        };
        let valid = |part: &Option<String>| {
            part.as_ref().is_none_or(|p| {
                p.split('.').all(|id| {
                    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
            })
        };
        if !valid(&pre) || !valid(&build) {
            return None;
        }
        let mut parts = core.split('.');
        let (major, minor, patch) = (
            number(parts.next()?)?,
            number(parts.next()?)?,
            number(parts.next()?)?,
        );
        if parts.next().is_some() {
            return None;
        }
        Some(Version::Semantic {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    fn major(&self) -> u64 {
        match self {
            Version::Integer(n) => *n,
            Version::Semantic { major, .. } => *major,
        }
    }

    fn pre(&self) -> Option<&str> {
        match self {
            Version::Semantic { pre, .. } => pre.as_deref(),
            Version::Integer(_) => None,
        }
    }

    fn build(&self) -> Option<&str> {
        match self {
            Version::Semantic { build, .. } => build.as_deref(),
            Version::Integer(_) => None,
        }
    }

    fn is_integer(&self) -> bool {
        matches!(self, Version::Integer(_))
    }

    /// `0` or `0.y.z`.
    fn is_zero(&self) -> bool {
        self.major() == 0
    }

    /// Precedence as semantic versioning defines it (build metadata ignored); an integer
    /// version `n` ranks as `n.0.0`.
    fn precedence(&self, other: &Version) -> Ordering {
        let key = |v: &Version| match v {
            Version::Integer(n) => (*n, 0, 0),
            Version::Semantic {
                major,
                minor,
                patch,
                ..
            } => (*major, *minor, *patch),
        };
        key(self)
            .cmp(&key(other))
            .then_with(|| match (self.pre(), other.pre()) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => pre_release_order(a, b),
            })
    }

    /// The version without build metadata, and without its pre-release part too if
    /// `drop_pre`.
    fn without(&self, drop_pre: bool) -> Version {
        match self {
            Version::Integer(n) => Version::Integer(*n),
            Version::Semantic {
                major,
                minor,
                patch,
                pre,
                ..
            } => Version::Semantic {
                major: *major,
                minor: *minor,
                patch: *patch,
                pre: if drop_pre { None } else { pre.clone() },
                build: None,
            },
        }
    }
}

/// Semantic versioning 2.0.0, rule 11: dot-separated identifiers, numeric ones compared as
/// numbers and below alphanumeric ones; a shorter list ranks lower when all else is equal.
fn pre_release_order(a: &str, b: &str) -> Ordering {
    let mut x = a.split('.');
    let mut y = b.split('.');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let o = match (p.parse::<u64>(), q.parse::<u64>()) {
                    (Ok(m), Ok(n)) => m.cmp(&n),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => p.cmp(q),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// One item of `/document/tracking/revision_history` whose number and date parse.
struct Revision<'a> {
    /// Its index in the document.
    index: usize,
    number: &'a str,
    version: Version,
    date: DateTime<Utc>,
}

impl Revision<'_> {
    fn path(&self) -> String {
        format!("/document/tracking/revision_history/{}", self.index)
    }
}

/// The revision history in document order (items whose number or date do not parse are
/// left to the schema).
fn revisions(doc: &Value) -> Vec<Revision<'_>> {
    let history = doc
        .pointer("/document/tracking/revision_history")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    history
        .iter()
        .enumerate()
        .filter_map(|(index, r)| {
            let number = str_of(r, "number")?;
            Some(Revision {
                index,
                number,
                version: Version::parse(number)?,
                date: parse_time(str_of(r, "date")?)?,
            })
        })
        .collect()
}

/// The revision history sorted ascending by date, equal dates by version: the order the
/// standard's revision tests speak of.
fn revisions_by_date(doc: &Value) -> Vec<Revision<'_>> {
    let mut r = revisions(doc);
    r.sort_by(|a, b| {
        a.date
            .cmp(&b.date)
            .then_with(|| a.version.precedence(&b.version))
    });
    r
}

/// `/document/tracking/version`, parsed, with its text.
fn document_version(doc: &Value) -> Option<(&str, Version)> {
    let v = doc
        .pointer("/document/tracking/version")
        .and_then(Value::as_str)?;
    Some((v, Version::parse(v)?))
}

fn tracking_status(doc: &Value) -> &str {
    doc.pointer("/document/tracking/status")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The language tags of the document: `(path, tag)`.
fn language_tags(doc: &Value) -> Vec<(&'static str, &str)> {
    ["lang", "source_lang"]
        .into_iter()
        .zip(["/document/lang", "/document/source_lang"])
        .filter_map(|(key, path)| Some((path, doc.get("document")?.get(key)?.as_str()?)))
        .collect()
}

/// Every `file_hashes` list of the product tree: `(path, list)`.
fn file_hash_lists(doc: &Value) -> Vec<(String, &[Value])> {
    let mut out = Vec::new();
    for (path, f) in full_product_names(doc) {
        let helper = f
            .get("product_identification_helper")
            .unwrap_or(&Value::Null);
        for (h, hashes) in arr(helper, "hashes").iter().enumerate() {
            if let Some(list) = hashes.get("file_hashes").and_then(Value::as_array) {
                out.push((
                    format!("{path}/product_identification_helper/hashes/{h}/file_hashes"),
                    list.as_slice(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
