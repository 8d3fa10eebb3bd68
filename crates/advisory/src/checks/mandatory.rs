//! The mandatory tests of CSAF 2.0 (section 6.1): a document that fails one is not valid.
//! Each function runs one test and returns its problems in document order.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{
    Revision, STATUSES, Version, branches, category, covered, document_version, file_hash_lists,
    full_product_names, groups, language_tags, product_definitions, product_references,
    product_tree, revisions, revisions_by_date, status_ids, tracking_status,
};
use crate::csaf::{arr, str_of};
use crate::cvss::{self, CvssVersion, Severity};
use crate::model::Problem;

/// Runs every mandatory test; problems in test order, then document order.
pub fn run(doc: &Value) -> Vec<Problem> {
    let tests: [fn(&Value) -> Vec<Problem>; 43] = [
        missing_product_ids,
        multiple_product_ids,
        circular_product_ids,
        missing_group_ids,
        multiple_group_ids,
        contradicting_product_status,
        multiple_scores_per_version,
        invalid_cvss,
        invalid_cvss_computation,
        inconsistent_cvss,
        cwe,
        language,
        purl,
        sorted_revision_history,
        translator,
        latest_document_version,
        document_status_draft,
        released_revision_history,
        pre_release_revisions,
        non_draft_document_version,
        missing_revision,
        multiple_revisions,
        multiple_use_of_cve,
        multiple_involvements,
        multiple_hash_algorithms,
        prohibited_category,
        profile_document_notes,
        profile_document_references,
        profile_no_vulnerabilities,
        profile_product_tree,
        profile_vulnerability_notes,
        profile_product_status,
        profile_vex_product_status,
        profile_vulnerability_id,
        profile_impact_statement,
        profile_action_statement,
        profile_vulnerabilities,
        translation,
        remediation_without_products,
        mixed_versioning,
        version_range_in_product_version,
        flag_without_products,
        multiple_vex_justifications,
    ];
    tests.iter().flat_map(|t| t(doc)).collect()
}

/// 6.1.1: every product id referred to is defined in the product tree.
pub fn missing_product_ids(doc: &Value) -> Vec<Problem> {
    let defined: HashSet<String> = product_definitions(doc)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    product_references(doc)
        .into_iter()
        .filter(|(id, _)| !defined.contains(id))
        .map(|(id, path)| {
            Problem::new(
                path,
                "6.1.1",
                format!("product id {id:?} is not defined in the product tree"),
            )
        })
        .collect()
}

/// 6.1.2: no product id is defined twice.
pub fn multiple_product_ids(doc: &Value) -> Vec<Problem> {
    duplicates(product_definitions(doc), "6.1.2", "product id")
}

fn group_definitions(doc: &Value) -> Vec<(String, String)> {
    let tree = doc.get("product_tree").unwrap_or(&Value::Null);
    arr(tree, "product_groups")
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            Some((
                str_of(g, "group_id")?.to_string(),
                format!("/product_tree/product_groups/{i}/group_id"),
            ))
        })
        .collect()
}

/// 6.1.4: every product group id referred to is defined.
pub fn missing_group_ids(doc: &Value) -> Vec<Problem> {
    let defined: HashSet<String> = group_definitions(doc)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        for key in ["remediations", "threats", "flags"] {
            for (j, r) in arr(v, key).iter().enumerate() {
                for (k, g) in arr(r, "group_ids").iter().enumerate() {
                    let Some(g) = g.as_str() else { continue };
                    if !defined.contains(g) {
                        out.push(Problem::new(
                            format!("/vulnerabilities/{i}/{key}/{j}/group_ids/{k}"),
                            "6.1.4",
                            format!("product group id {g:?} is not defined in the product tree"),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// 6.1.5: no product group id is defined twice.
pub fn multiple_group_ids(doc: &Value) -> Vec<Problem> {
    duplicates(group_definitions(doc), "6.1.5", "product group id")
}

fn duplicates(defs: Vec<(String, String)>, test: &str, what: &str) -> Vec<Problem> {
    let mut first: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (id, path) in defs {
        match first.get(&id) {
            Some(at) => out.push(Problem::new(
                path,
                test,
                format!("{what} {id:?} is already defined at {at}"),
            )),
            None => {
                first.insert(id, path);
            }
        }
    }
    out
}

/// Every CVSS object of the document: `(path, "cvss_v2" | "cvss_v3", object)`.
fn cvss_objects(doc: &Value) -> Vec<(String, &'static str, &Value)> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        for (j, s) in arr(v, "scores").iter().enumerate() {
            for key in ["cvss_v2", "cvss_v3"] {
                if let Some(c) = s.get(key) {
                    out.push((format!("/vulnerabilities/{i}/scores/{j}/{key}"), key, c));
                }
            }
        }
    }
    out
}

/// 6.1.8: each CVSS object has a vector that parses, a version that matches it, and the
/// properties FIRST's CVSS JSON schemas require.
pub fn invalid_cvss(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (path, key, c) in cvss_objects(doc) {
        let required: &[&str] = if key == "cvss_v2" {
            &["version", "vectorString", "baseScore"]
        } else {
            &["version", "vectorString", "baseScore", "baseSeverity"]
        };
        for r in required {
            if c.get(*r).is_none() {
                out.push(Problem::new(
                    format!("{path}/{r}"),
                    "6.1.8",
                    format!("{r} is required in a CVSS object"),
                ));
            }
        }
        let Some(vector) = str_of(c, "vectorString") else {
            continue;
        };
        match cvss::compute(vector) {
            Err(e) => out.push(Problem::new(
                format!("{path}/vectorString"),
                "6.1.8",
                e.to_string(),
            )),
            Ok(s) => {
                let allowed = if key == "cvss_v2" {
                    s.version == CvssVersion::V2
                } else {
                    matches!(s.version, CvssVersion::V3_0 | CvssVersion::V3_1)
                };
                if !allowed {
                    out.push(Problem::new(
                        format!("{path}/vectorString"),
                        "6.1.8",
                        format!("a {} vector does not belong in {key}", s.version),
                    ));
                }
                if let Some(version) = str_of(c, "version")
                    && version != s.version.as_str()
                {
                    out.push(Problem::new(
                        format!("{path}/version"),
                        "6.1.8",
                        format!(
                            "version {version:?} does not match the vector's {}",
                            s.version.as_str()
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// 6.1.9: the stated scores and severities are those the vector computes to (metrics not
/// in the vector take their default, so a temporal or environmental score without its
/// metrics equals the base score).
pub fn invalid_cvss_computation(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (path, _, c) in cvss_objects(doc) {
        let Some(s) = str_of(c, "vectorString").and_then(|v| cvss::compute(v).ok()) else {
            continue; // reported by 6.1.8
        };
        let temporal = s.temporal_score.unwrap_or(s.base_score);
        let environmental = s.environmental_score.unwrap_or(temporal);
        for (score_key, severity_key, expected) in [
            ("baseScore", "baseSeverity", s.base_score),
            ("temporalScore", "temporalSeverity", temporal),
            ("environmentalScore", "environmentalSeverity", environmental),
        ] {
            if let Some(stated) = c.get(score_key).and_then(Value::as_f64)
                && (stated - expected).abs() > 1e-6
            {
                out.push(Problem::new(
                    format!("{path}/{score_key}"),
                    "6.1.9",
                    format!(
                        "{score_key} is {stated} but the vector {} computes to {expected}",
                        s.vector
                    ),
                ));
            }
            if s.version == CvssVersion::V2 {
                continue; // v2 objects carry no severities
            }
            if let Some(stated) = str_of(c, severity_key) {
                let rating = Severity::from_score(expected);
                if stated != rating.as_str() {
                    out.push(Problem::new(
                        format!("{path}/{severity_key}"),
                        "6.1.9",
                        format!(
                            "{severity_key} is {stated} but a score of {expected} rates {rating}"
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// 6.1.3: no product id defined by a relationship refers back to itself through the
/// relationships' product references.
pub fn circular_product_ids(doc: &Value) -> Vec<Problem> {
    let relationships = arr(product_tree(doc), "relationships");
    let mut refers: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in relationships {
        if let Some(id) = r
            .pointer("/full_product_name/product_id")
            .and_then(Value::as_str)
        {
            let to = refers.entry(id).or_default();
            for key in ["product_reference", "relates_to_product_reference"] {
                to.extend(str_of(r, key));
            }
        }
    }
    let mut out = Vec::new();
    for (i, r) in relationships.iter().enumerate() {
        let Some(id) = r
            .pointer("/full_product_name/product_id")
            .and_then(Value::as_str)
        else {
            continue;
        };
        // depth-first search from the ids this relationship is built of
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = refers.get(id).cloned().unwrap_or_default();
        while let Some(next) = stack.pop() {
            if next == id {
                out.push(Problem::new(
                    format!("/product_tree/relationships/{i}/full_product_name/product_id"),
                    "6.1.3",
                    format!(
                        "product id {id:?} is defined by a relationship that refers back to it; \
                         build it from products defined elsewhere"
                    ),
                ));
                break;
            }
            if seen.insert(next) {
                stack.extend(refers.get(next).into_iter().flatten().copied());
            }
        }
    }
    out
}

/// 6.1.6: within one vulnerability, no product is in two contradicting status groups
/// (affected, not affected, fixed, under investigation; `recommended` contradicts none).
pub fn contradicting_product_status(doc: &Value) -> Vec<Problem> {
    let group = |key: &str| match key {
        "first_affected" | "known_affected" | "last_affected" => Some("affected"),
        "known_not_affected" => Some("not affected"),
        "first_fixed" | "fixed" => Some("fixed"),
        "under_investigation" => Some("under investigation"),
        _ => None,
    };
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let mut first: HashMap<&str, (&str, String)> = HashMap::new();
        for key in STATUSES {
            let Some(g) = group(key) else { continue };
            for (id, path) in status_ids(v, i, key) {
                match first.get(id) {
                    Some((other, at)) if *other != g => out.push(Problem::new(
                        path,
                        "6.1.6",
                        format!("product {id:?} is {g} here but {other} at {at}"),
                    )),
                    Some(_) => {}
                    None => {
                        first.insert(id, (g, path));
                    }
                }
            }
        }
    }
    out
}

/// 6.1.7: within one vulnerability, no product has two scores of the same CVSS version.
pub fn multiple_scores_per_version(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let mut first: HashMap<(&str, String), String> = HashMap::new();
        for (j, s) in arr(v, "scores").iter().enumerate() {
            let versions: Vec<String> = ["cvss_v2", "cvss_v3"]
                .into_iter()
                .filter_map(|key| {
                    let c = s.get(key)?;
                    str_of(c, "version").map(str::to_string).or_else(|| {
                        let vector = str_of(c, "vectorString")?;
                        Some(cvss::compute(vector).ok()?.version.as_str().to_string())
                    })
                })
                .collect();
            for (k, id) in arr(s, "products").iter().enumerate() {
                let Some(id) = id.as_str() else { continue };
                for version in &versions {
                    let path = format!("/vulnerabilities/{i}/scores/{j}/products/{k}");
                    match first.get(&(id, version.clone())) {
                        Some(at) => out.push(Problem::new(
                            path,
                            "6.1.7",
                            format!(
                                "product {id:?} already has a CVSS v{version} score at {at}; \
                                 give each product one score per CVSS version"
                            ),
                        )),
                        None => {
                            first.insert((id, version.clone()), path);
                        }
                    }
                }
            }
        }
    }
    out
}

/// The metrics of FIRST's CVSS JSON schemas: `(property, metric, [(value in the vector,
/// value in JSON)])`. A metric missing from a vector is "not defined".
type MetricTable = [(
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
)];

const V3_LEVELS: &[(&str, &str)] = &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH")];
const V3_MODIFIED_LEVELS: &[(&str, &str)] = &[
    ("N", "NONE"),
    ("L", "LOW"),
    ("H", "HIGH"),
    ("X", "NOT_DEFINED"),
];
const V3_REQUIREMENTS: &[(&str, &str)] = &[
    ("L", "LOW"),
    ("M", "MEDIUM"),
    ("H", "HIGH"),
    ("X", "NOT_DEFINED"),
];
const V3_VECTORS: &[(&str, &str)] = &[
    ("N", "NETWORK"),
    ("A", "ADJACENT_NETWORK"),
    ("L", "LOCAL"),
    ("P", "PHYSICAL"),
];
const V3_MODIFIED_VECTORS: &[(&str, &str)] = &[
    ("N", "NETWORK"),
    ("A", "ADJACENT_NETWORK"),
    ("L", "LOCAL"),
    ("P", "PHYSICAL"),
    ("X", "NOT_DEFINED"),
];

const V3_METRICS: &MetricTable = &[
    ("attackVector", "AV", V3_VECTORS),
    ("attackComplexity", "AC", &[("L", "LOW"), ("H", "HIGH")]),
    ("privilegesRequired", "PR", V3_LEVELS),
    ("userInteraction", "UI", &[("N", "NONE"), ("R", "REQUIRED")]),
    ("scope", "S", &[("U", "UNCHANGED"), ("C", "CHANGED")]),
    ("confidentialityImpact", "C", V3_LEVELS),
    ("integrityImpact", "I", V3_LEVELS),
    ("availabilityImpact", "A", V3_LEVELS),
    (
        "exploitCodeMaturity",
        "E",
        &[
            ("U", "UNPROVEN"),
            ("P", "PROOF_OF_CONCEPT"),
            ("F", "FUNCTIONAL"),
            ("H", "HIGH"),
            ("X", "NOT_DEFINED"),
        ],
    ),
    (
        "remediationLevel",
        "RL",
        &[
            ("O", "OFFICIAL_FIX"),
            ("T", "TEMPORARY_FIX"),
            ("W", "WORKAROUND"),
            ("U", "UNAVAILABLE"),
            ("X", "NOT_DEFINED"),
        ],
    ),
    (
        "reportConfidence",
        "RC",
        &[
            ("U", "UNKNOWN"),
            ("R", "REASONABLE"),
            ("C", "CONFIRMED"),
            ("X", "NOT_DEFINED"),
        ],
    ),
    ("confidentialityRequirement", "CR", V3_REQUIREMENTS),
    ("integrityRequirement", "IR", V3_REQUIREMENTS),
    ("availabilityRequirement", "AR", V3_REQUIREMENTS),
    ("modifiedAttackVector", "MAV", V3_MODIFIED_VECTORS),
    (
        "modifiedAttackComplexity",
        "MAC",
        &[("L", "LOW"), ("H", "HIGH"), ("X", "NOT_DEFINED")],
    ),
    ("modifiedPrivilegesRequired", "MPR", V3_MODIFIED_LEVELS),
    (
        "modifiedUserInteraction",
        "MUI",
        &[("N", "NONE"), ("R", "REQUIRED"), ("X", "NOT_DEFINED")],
    ),
    (
        "modifiedScope",
        "MS",
        &[("U", "UNCHANGED"), ("C", "CHANGED"), ("X", "NOT_DEFINED")],
    ),
    ("modifiedConfidentialityImpact", "MC", V3_MODIFIED_LEVELS),
    ("modifiedIntegrityImpact", "MI", V3_MODIFIED_LEVELS),
    ("modifiedAvailabilityImpact", "MA", V3_MODIFIED_LEVELS),
];

const V2_IMPACTS: &[(&str, &str)] = &[("N", "NONE"), ("P", "PARTIAL"), ("C", "COMPLETE")];
const V2_REQUIREMENTS: &[(&str, &str)] = &[
    ("L", "LOW"),
    ("M", "MEDIUM"),
    ("H", "HIGH"),
    ("ND", "NOT_DEFINED"),
];

const V2_METRICS: &MetricTable = &[
    (
        "accessVector",
        "AV",
        &[("N", "NETWORK"), ("A", "ADJACENT_NETWORK"), ("L", "LOCAL")],
    ),
    (
        "accessComplexity",
        "AC",
        &[("H", "HIGH"), ("M", "MEDIUM"), ("L", "LOW")],
    ),
    (
        "authentication",
        "Au",
        &[("M", "MULTIPLE"), ("S", "SINGLE"), ("N", "NONE")],
    ),
    ("confidentialityImpact", "C", V2_IMPACTS),
    ("integrityImpact", "I", V2_IMPACTS),
    ("availabilityImpact", "A", V2_IMPACTS),
    (
        "exploitability",
        "E",
        &[
            ("U", "UNPROVEN"),
            ("POC", "PROOF_OF_CONCEPT"),
            ("F", "FUNCTIONAL"),
            ("H", "HIGH"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "remediationLevel",
        "RL",
        &[
            ("OF", "OFFICIAL_FIX"),
            ("TF", "TEMPORARY_FIX"),
            ("W", "WORKAROUND"),
            ("U", "UNAVAILABLE"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "reportConfidence",
        "RC",
        &[
            ("UC", "UNCONFIRMED"),
            ("UR", "UNCORROBORATED"),
            ("C", "CONFIRMED"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "collateralDamagePotential",
        "CDP",
        &[
            ("N", "NONE"),
            ("L", "LOW"),
            ("LM", "LOW_MEDIUM"),
            ("MH", "MEDIUM_HIGH"),
            ("H", "HIGH"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    (
        "targetDistribution",
        "TD",
        &[
            ("N", "NONE"),
            ("L", "LOW"),
            ("M", "MEDIUM"),
            ("H", "HIGH"),
            ("ND", "NOT_DEFINED"),
        ],
    ),
    ("confidentialityRequirement", "CR", V2_REQUIREMENTS),
    ("integrityRequirement", "IR", V2_REQUIREMENTS),
    ("availabilityRequirement", "AR", V2_REQUIREMENTS),
];

/// A CVSS object's vector read against its metric table.
struct Metrics {
    table: &'static MetricTable,
    score: cvss::CvssScore,
    /// The vector's `(metric, value)` pairs.
    pairs: Vec<(String, String)>,
}

/// The metrics of a CVSS object; `None` where its vector does not parse or belongs to
/// another kind of object (both reported by 6.1.8).
fn metrics_of(key: &str, c: &Value) -> Option<Metrics> {
    let score = str_of(c, "vectorString").and_then(|v| cvss::compute(v).ok())?;
    let table: &MetricTable = match score.version {
        CvssVersion::V2 if key == "cvss_v2" => V2_METRICS,
        CvssVersion::V3_0 | CvssVersion::V3_1 if key == "cvss_v3" => V3_METRICS,
        _ => return None,
    };
    let pairs = score
        .vector
        .split('/')
        .filter_map(|c| c.split_once(':'))
        .filter(|(k, _)| *k != "CVSS")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Some(Metrics {
        table,
        score,
        pairs,
    })
}

/// 6.1.10: the metric properties of a CVSS object (`attackVector`, …) say what its vector
/// says. Only metrics the vector sets are compared: where the vector is silent, a property
/// adds to it rather than contradicts it (as in the standard's test documents for 6.2.19).
pub fn inconsistent_cvss(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (path, key, c) in cvss_objects(doc) {
        let Some(Metrics {
            table,
            score: s,
            pairs,
        }) = metrics_of(key, c)
        else {
            continue; // reported by 6.1.8
        };
        for (property, metric, values) in table {
            let (Some(stated), Some((_, value))) =
                (str_of(c, property), pairs.iter().find(|(k, _)| k == metric))
            else {
                continue;
            };
            let expected = values
                .iter()
                .find(|(v, _)| v == value)
                .map(|(_, json)| *json);
            if expected.is_some_and(|e| e != stated) {
                out.push(Problem::new(
                    format!("{path}/{property}"),
                    "6.1.10",
                    format!(
                        "{property} is {stated} but the vector {} says {metric}:{value} ({})",
                        s.vector,
                        expected.unwrap_or_default()
                    ),
                ));
            }
        }
    }
    out
}

/// The scores of a CVSS object with the metric properties the vector leaves out added to
/// it (`modifiedConfidentialityImpact: NONE` read as `MC:N`).
pub(super) fn score_with_properties(key: &str, c: &Value) -> Option<cvss::CvssScore> {
    let Metrics {
        table,
        score: s,
        pairs,
    } = metrics_of(key, c)?;
    let prefix = s
        .vector
        .split('/')
        .next()
        .filter(|p| p.starts_with("CVSS:"));
    let mut parts: Vec<String> = prefix.into_iter().map(str::to_string).collect();
    for (property, metric, values) in table {
        let value = pairs
            .iter()
            .find(|(k, _)| k == metric)
            .map(|(_, v)| v.as_str())
            .or_else(|| {
                let stated = str_of(c, property)?;
                values.iter().find(|(_, j)| *j == stated).map(|(v, _)| *v)
            });
        if let Some(value) = value {
            parts.push(format!("{metric}:{value}"));
        }
    }
    cvss::compute(&parts.join("/")).ok()
}

/// 6.1.11: the CWE of each vulnerability exists and its name is the catalogue's.
///
/// baken ships no copy of MITRE's CWE catalogue (some 900 weaknesses, revised several times
/// a year), so this test checks what can be checked without it: that the id is written
/// `CWE-` and a number without leading zeros, and that a name is given. Whether the id
/// exists and the name is its name is left to a validator that carries the catalogue.
pub fn cwe(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let Some(c) = v.get("cwe") else { continue };
        let id = str_of(c, "id").unwrap_or("");
        let well_formed = id.strip_prefix("CWE-").is_some_and(|n| {
            !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_formed {
            out.push(Problem::new(
                format!("/vulnerabilities/{i}/cwe/id"),
                "6.1.11",
                format!("{id:?} is not a CWE id; write it as CWE-79"),
            ));
        }
        if str_of(c, "name").is_none_or(|n| n.trim().is_empty()) {
            out.push(Problem::new(
                format!("/vulnerabilities/{i}/cwe/name"),
                "6.1.11",
                "a CWE needs the name the CWE catalogue gives it",
            ));
        }
    }
    out
}

/// 6.1.12: `/document/lang` and `/document/source_lang` are valid language tags.
///
/// Checked: the tag is well-formed BCP 47 (RFC 5646, section 2.1), and a two-letter
/// primary language subtag is one of ISO 639-1 (as the IANA registry lists them), which
/// catches a region written as a language (`EZ`). Three-letter language subtags and the
/// script, region and variant subtags are checked for their form only: baken does not ship
/// the IANA language subtag registry.
pub fn language(doc: &Value) -> Vec<Problem> {
    language_tags(doc)
        .into_iter()
        .filter_map(|(path, tag)| {
            let reason = language_problem(tag)?;
            Some(Problem::new(
                path,
                "6.1.12",
                format!("{tag:?} is not a valid language tag: {reason}; write it as en or en-US"),
            ))
        })
        .collect()
}

/// Two-letter language subtags of ISO 639-1 in the IANA registry (including the deprecated
/// `in`, `iw`, `ji`, `jw`, `mo`, and `sh`).
const ISO_639_1: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh",
    "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da",
    "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr",
    "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz",
    "ia", "id", "ie", "ig", "ii", "ik", "in", "io", "is", "it", "iu", "iw", "ja", "ji", "jv", "jw",
    "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la",
    "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mo", "mr",
    "ms", "mt", "my", "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj",
    "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc",
    "sd", "se", "sg", "sh", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv",
    "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug",
    "uk", "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// Tags RFC 5646 keeps for compatibility ("grandfathered"), lower case.
const GRANDFATHERED: &[&str] = &[
    "en-gb-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-be-fr",
    "sgn-be-nl",
    "sgn-ch-de",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

/// Why a language tag is not valid, or `None` when it is (as far as checked).
fn language_problem(tag: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    if GRANDFATHERED.contains(&lower.as_str()) {
        return None;
    }
    let alpha = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let subtags: Vec<&str> = lower.split('-').collect();
    if subtags
        .iter()
        .any(|s| s.is_empty() || s.len() > 8 || !alnum(s))
    {
        return Some("subtags are 1 to 8 letters or digits, separated by -".into());
    }
    if subtags[0] == "x" {
        return (subtags.len() < 2).then(|| "x- needs a private-use subtag".into());
    }
    let language = subtags[0];
    if !alpha(language) || language.len() < 2 {
        return Some(format!("{language:?} is not a language subtag"));
    }
    match language.len() {
        2 if !ISO_639_1.contains(&language) => {
            return Some(format!(
                "{language:?} is not an ISO 639-1 language (is it a region?)"
            ));
        }
        4..=8 => return Some(format!("{language:?} is not a registered language subtag")),
        _ => {}
    }
    // after the language: extlang*, script?, region?, variant*, extension*, private use?
    let region = |s: &str| {
        (s.len() == 2 && alpha(s)) || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
    };
    let variant = |s: &str| s.len() >= 5 || (s.len() == 4 && s.as_bytes()[0].is_ascii_digit());
    let mut stage = 0; // 0 extlang, 1 script, 2 region, 3 variant, 4 extension
    let mut rest = subtags[1..].iter().peekable();
    let mut extlangs = 0;
    while let Some(s) = rest.next() {
        let fits = |min_stage: usize| stage <= min_stage;
        if s.len() == 1 {
            if *s == "x" {
                return rest
                    .peek()
                    .is_none()
                    .then(|| "x- needs a private-use subtag".into());
            }
            // an extension: a singleton and one or more subtags of 2 to 8 characters
            let mut any = false;
            while rest.peek().is_some_and(|n| n.len() >= 2) {
                rest.next();
                any = true;
            }
            if !any {
                return Some(format!("the extension {s:?} has no subtag"));
            }
            stage = 4;
        } else if s.len() == 3 && alpha(s) && fits(0) && language.len() <= 3 && extlangs < 3 {
            extlangs += 1;
        } else if s.len() == 4 && alpha(s) && fits(1) {
            stage = 2;
        } else if (region(s) && fits(2)) || (variant(s) && fits(3)) {
            // a region, then variants
            stage = 3;
        } else {
            return Some(format!("{s:?} is out of place or malformed"));
        }
    }
    None
}

/// 6.1.13: each purl of the product tree is a valid package URL (purl-spec: scheme `pkg`,
/// a type, a name, and well-formed version, qualifiers and subpath).
pub fn purl(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (path, f) in full_product_names(doc) {
        let Some(p) = f
            .pointer("/product_identification_helper/purl")
            .and_then(Value::as_str)
        else {
            continue;
        };
        if let Some(reason) = purl_problem(p) {
            out.push(Problem::new(
                format!("{path}/product_identification_helper/purl"),
                "6.1.13",
                format!(
                    "{p:?} is not a valid purl: {reason}; write it as pkg:type/namespace/name@version"
                ),
            ));
        }
    }
    out
}

fn purl_problem(p: &str) -> Option<String> {
    let percent_ok = |s: &str| {
        let b = s.as_bytes();
        (0..b.len()).all(|i| {
            b[i] != b'%'
                || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        })
    };
    if !percent_ok(p) {
        return Some("a % is not followed by two hex digits".into());
    }
    let Some(rest) = p
        .get(..4)
        .filter(|s| s.eq_ignore_ascii_case("pkg:"))
        .map(|_| &p[4..])
    else {
        return Some("it does not start with pkg:".into());
    };
    let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let rest = rest.trim_matches('/');
    let (ty, rest) = rest.split_once('/').unwrap_or((rest, ""));
    let type_ok = !ty.is_empty()
        && !ty.as_bytes()[0].is_ascii_digit()
        && ty
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    if !type_ok {
        return Some(format!("{ty:?} is not a package type"));
    }
    let (rest, version) = match rest.rsplit_once('@') {
        Some((r, v)) => (r, Some(v)),
        None => (rest, None),
    };
    if version.is_some_and(str::is_empty) {
        return Some("the version after @ is empty".into());
    }
    let name = rest.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        return Some("it has no name".into());
    }
    if let Some(q) = qualifiers {
        let mut keys = HashSet::new();
        for pair in q.split('&').filter(|s| !s.is_empty()) {
            let Some((k, v)) = pair.split_once('=') else {
                return Some(format!("the qualifier {pair:?} has no value"));
            };
            let key_ok = !k.is_empty()
                && !k.as_bytes()[0].is_ascii_digit()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !key_ok || v.is_empty() {
                return Some(format!("the qualifier {pair:?} is malformed"));
            }
            if !keys.insert(k.to_ascii_lowercase()) {
                return Some(format!("the qualifier {k:?} is given twice"));
            }
        }
    }
    None
}

/// 6.1.14: sorted by date, the revision history's numbers ascend.
pub fn sorted_revision_history(doc: &Value) -> Vec<Problem> {
    revisions_by_date(doc)
        .windows(2)
        .filter(|w| w[1].version.precedence(&w[0].version).is_lt())
        .map(|w| {
            Problem::new(
                w[1].path(),
                "6.1.14",
                format!(
                    "revision {} is dated after revision {} but numbered below it",
                    w[1].number, w[0].number
                ),
            )
        })
        .collect()
}

/// 6.1.15: a document published by a translator names its source language.
pub fn translator(doc: &Value) -> Vec<Problem> {
    let by_translator = doc
        .pointer("/document/publisher/category")
        .and_then(Value::as_str)
        == Some("translator");
    let has_source = doc
        .pointer("/document/source_lang")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty());
    if by_translator && !has_source {
        vec![Problem::new(
            "/document/source_lang",
            "6.1.15",
            "the publisher is a translator but the document does not say which language it \
             was translated from; set source_lang",
        )]
    } else {
        Vec::new()
    }
}

/// 6.1.16: the document version is the number of the latest revision (build metadata
/// ignored, and the pre-release part too while the document is a draft).
pub fn latest_document_version(doc: &Value) -> Vec<Problem> {
    let (Some((text, version)), Some(last)) = (document_version(doc), revisions_by_date(doc).pop())
    else {
        return Vec::new();
    };
    let draft = tracking_status(doc) == "draft";
    if version.without(draft) == last.version.without(draft) {
        return Vec::new();
    }
    vec![Problem::new(
        "/document/tracking/version",
        "6.1.16",
        format!(
            "the document version is {text} but the latest revision ({}) is {}",
            last.path(),
            last.number
        ),
    )]
}

/// 6.1.17: a document whose version is `0`, `0.y.z` or a pre-release is a draft.
pub fn document_status_draft(doc: &Value) -> Vec<Problem> {
    let Some((text, version)) = document_version(doc) else {
        return Vec::new();
    };
    let status = tracking_status(doc);
    if (version.is_zero() || version.pre().is_some()) && !status.is_empty() && status != "draft" {
        vec![Problem::new(
            "/document/tracking/status",
            "6.1.17",
            format!("the status is {status} but version {text} is a draft's; set it to draft"),
        )]
    } else {
        Vec::new()
    }
}

/// 6.1.18: a final or interim document has no revision numbered `0` or `0.y.z`.
pub fn released_revision_history(doc: &Value) -> Vec<Problem> {
    let status = tracking_status(doc);
    if !matches!(status, "final" | "interim") {
        return Vec::new();
    }
    revisions(doc)
        .into_iter()
        .filter(|r| r.version.is_zero())
        .map(|r| {
            Problem::new(
                format!("{}/number", r.path()),
                "6.1.18",
                format!(
                    "the status is {status} but the revision history has draft revision {}",
                    r.number
                ),
            )
        })
        .collect()
}

/// 6.1.19: no revision number has a pre-release part.
pub fn pre_release_revisions(doc: &Value) -> Vec<Problem> {
    revisions(doc)
        .into_iter()
        .filter(|r| r.version.pre().is_some())
        .map(|r| {
            Problem::new(
                format!("{}/number", r.path()),
                "6.1.19",
                format!(
                    "revision {} is a pre-release; pre-releases have no revision history entry",
                    r.number
                ),
            )
        })
        .collect()
}

/// 6.1.20: a final or interim document's version has no pre-release part.
pub fn non_draft_document_version(doc: &Value) -> Vec<Problem> {
    let status = tracking_status(doc);
    match document_version(doc) {
        Some((text, v)) if matches!(status, "final" | "interim") && v.pre().is_some() => {
            vec![Problem::new(
                "/document/tracking/version",
                "6.1.20",
                format!("the status is {status} but version {text} is a pre-release"),
            )]
        }
        _ => Vec::new(),
    }
}

/// 6.1.21: sorted by date, the revision history starts at (major) version 0 or 1 and
/// skips no (major) version.
pub fn missing_revision(doc: &Value) -> Vec<Problem> {
    let sorted = revisions_by_date(doc);
    let mut out = Vec::new();
    if let Some(first) = sorted.first()
        && first.version.major() > 1
    {
        out.push(Problem::new(
            format!("{}/number", first.path()),
            "6.1.21",
            format!(
                "the earliest revision is {}; a revision history starts at 0 or 1",
                first.number
            ),
        ));
    }
    for w in sorted.windows(2) {
        let (a, b) = (w[0].version.major(), w[1].version.major());
        if b > a + 1 {
            out.push(Problem::new(
                format!("{}/number", w[1].path()),
                "6.1.21",
                format!(
                    "revision {} follows {}: the revision history misses {}",
                    w[1].number,
                    w[0].number,
                    if w[0].version.is_integer() {
                        format!("version {}", a + 1)
                    } else {
                        format!("major version {}", a + 1)
                    }
                ),
            ));
        }
    }
    out
}

/// 6.1.22: no version number appears twice in the revision history.
pub fn multiple_revisions(doc: &Value) -> Vec<Problem> {
    let history = doc
        .pointer("/document/tracking/revision_history")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    duplicates(
        history
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                Some((
                    str_of(r, "number")?.to_string(),
                    format!("/document/tracking/revision_history/{i}/number"),
                ))
            })
            .collect(),
        "6.1.22",
        "revision number",
    )
}

/// 6.1.23: no CVE id is used by two vulnerabilities.
pub fn multiple_use_of_cve(doc: &Value) -> Vec<Problem> {
    duplicates(
        arr(doc, "vulnerabilities")
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                Some((
                    str_of(v, "cve")?.to_string(),
                    format!("/vulnerabilities/{i}/cve"),
                ))
            })
            .collect(),
        "6.1.23",
        "CVE",
    )
}

/// 6.1.24: within one vulnerability, no party has two involvements at the same date.
pub fn multiple_involvements(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let mut first: HashMap<(&str, String), usize> = HashMap::new();
        for (j, inv) in arr(v, "involvements").iter().enumerate() {
            let (Some(party), Some(date)) = (str_of(inv, "party"), str_of(inv, "date")) else {
                continue;
            };
            // the same instant however it is written
            let when = crate::model::parse_time(date)
                .map(|d| d.to_rfc3339())
                .unwrap_or_else(|| date.to_string());
            match first.get(&(party, when.clone())) {
                Some(k) => out.push(Problem::new(
                    format!("/vulnerabilities/{i}/involvements/{j}"),
                    "6.1.24",
                    format!(
                        "party {party} already has an involvement dated {date} at \
                         /vulnerabilities/{i}/involvements/{k}"
                    ),
                )),
                None => {
                    first.insert((party, when), j);
                }
            }
        }
    }
    out
}

/// 6.1.25: no hash algorithm is used twice for one file.
pub fn multiple_hash_algorithms(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (path, list) in file_hash_lists(doc) {
        let mut seen = HashSet::new();
        for (k, h) in list.iter().enumerate() {
            if let Some(a) = str_of(h, "algorithm")
                && !seen.insert(a.to_ascii_lowercase())
            {
                out.push(Problem::new(
                    format!("{path}/{k}/algorithm"),
                    "6.1.25",
                    format!("the hash algorithm {a} is used twice for this file"),
                ));
            }
        }
    }
    out
}

/// The document categories of the profiles of CSAF 2.0 other than "CSAF Base", with the
/// profiles' names.
const PROFILES: [(&str, &str); 4] = [
    (
        "csaf_security_incident_response",
        "Security incident response",
    ),
    ("csaf_informational_advisory", "Informational Advisory"),
    ("csaf_security_advisory", "Security Advisory"),
    ("csaf_vex", "VEX"),
];

/// 6.1.26: a "CSAF Base" document's category is not another profile's name or value (case,
/// dashes, spaces and underscores aside) and does not start with the reserved `csaf_`.
pub fn prohibited_category(doc: &Value) -> Vec<Problem> {
    let value = category(doc);
    if value == "csaf_base" || PROFILES.iter().any(|(c, _)| *c == value) {
        return Vec::new();
    }
    let squash = |s: &str| {
        s.chars()
            .filter(|c| !(c.is_whitespace() || *c == '-' || *c == '_'))
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let squashed = squash(value);
    let clash = PROFILES.iter().find(|(c, name)| {
        squashed == squash(c)
            || squashed == squash(c.trim_start_matches("csaf_"))
            || squashed == squash(name)
    });
    let problem = match clash {
        Some((c, name)) => {
            format!("the category {value:?} is the profile {name:?}; write {c} to use that profile")
        }
        None if value.to_ascii_lowercase().starts_with("csaf_") => {
            format!("the category {value:?} uses the prefix csaf_, which the standard reserves")
        }
        None => return Vec::new(),
    };
    vec![Problem::new("/document/category", "6.1.26", problem)]
}

/// A profile test: `test` applies when the document's category is one of `categories`.
fn profile(doc: &Value, categories: &[&str]) -> bool {
    categories.contains(&category(doc))
}

/// 6.1.27.1: informational advisories and security incident responses have a note of
/// category description, details, general or summary.
pub fn profile_document_notes(doc: &Value) -> Vec<Problem> {
    if !profile(
        doc,
        &[
            "csaf_informational_advisory",
            "csaf_security_incident_response",
        ],
    ) {
        return Vec::new();
    }
    let notes = doc.pointer("/document/notes").unwrap_or(&Value::Null);
    let found = notes.as_array().into_iter().flatten().any(|n| {
        matches!(
            str_of(n, "category"),
            Some("description" | "details" | "general" | "summary")
        )
    });
    if found {
        return Vec::new();
    }
    vec![Problem::new(
        "/document/notes",
        "6.1.27.1",
        format!(
            "a {} document needs a note of category description, details, general or summary",
            category(doc)
        ),
    )]
}

/// 6.1.27.2: informational advisories and security incident responses have an external
/// reference.
pub fn profile_document_references(doc: &Value) -> Vec<Problem> {
    if !profile(
        doc,
        &[
            "csaf_informational_advisory",
            "csaf_security_incident_response",
        ],
    ) {
        return Vec::new();
    }
    let refs = doc.pointer("/document/references").unwrap_or(&Value::Null);
    if refs
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| str_of(r, "category") == Some("external"))
    {
        return Vec::new();
    }
    vec![Problem::new(
        "/document/references",
        "6.1.27.2",
        format!(
            "a {} document needs a reference of category external",
            category(doc)
        ),
    )]
}

/// 6.1.27.3: an informational advisory has no vulnerabilities.
pub fn profile_no_vulnerabilities(doc: &Value) -> Vec<Problem> {
    if profile(doc, &["csaf_informational_advisory"]) && doc.get("vulnerabilities").is_some() {
        vec![Problem::new(
            "/vulnerabilities",
            "6.1.27.3",
            "an informational advisory has no vulnerabilities; use csaf_security_advisory \
             (or csaf_base) to publish them",
        )]
    } else {
        Vec::new()
    }
}

/// 6.1.27.4: security advisories and VEX documents have a product tree.
pub fn profile_product_tree(doc: &Value) -> Vec<Problem> {
    if profile(doc, &["csaf_security_advisory", "csaf_vex"]) && doc.get("product_tree").is_none() {
        vec![Problem::new(
            "/product_tree",
            "6.1.27.4",
            format!("a {} document needs a product tree", category(doc)),
        )]
    } else {
        Vec::new()
    }
}

/// Each vulnerability of a document of the given categories lacking what `has` asks.
fn each_vulnerability(
    doc: &Value,
    categories: &[&str],
    test: &str,
    has: impl Fn(&Value) -> bool,
    missing: &str,
    message: &str,
) -> Vec<Problem> {
    if !profile(doc, categories) {
        return Vec::new();
    }
    arr(doc, "vulnerabilities")
        .iter()
        .enumerate()
        .filter(|(_, v)| !has(v))
        .map(|(i, _)| {
            Problem::new(
                format!("/vulnerabilities/{i}{missing}"),
                test,
                format!("{message} in a {} document", category(doc)),
            )
        })
        .collect()
}

/// 6.1.27.5: in security advisories and VEX documents each vulnerability has notes.
pub fn profile_vulnerability_notes(doc: &Value) -> Vec<Problem> {
    each_vulnerability(
        doc,
        &["csaf_security_advisory", "csaf_vex"],
        "6.1.27.5",
        |v| v.get("notes").is_some(),
        "/notes",
        "a vulnerability needs notes",
    )
}

/// 6.1.27.6: in security advisories each vulnerability has a product status.
pub fn profile_product_status(doc: &Value) -> Vec<Problem> {
    each_vulnerability(
        doc,
        &["csaf_security_advisory"],
        "6.1.27.6",
        |v| v.get("product_status").is_some(),
        "/product_status",
        "a vulnerability needs a product status",
    )
}

/// 6.1.27.7: in VEX documents each vulnerability's product status lists fixed, known
/// affected, known not affected or under investigation products.
pub fn profile_vex_product_status(doc: &Value) -> Vec<Problem> {
    each_vulnerability(
        doc,
        &["csaf_vex"],
        "6.1.27.7",
        |v| {
            [
                "fixed",
                "known_affected",
                "known_not_affected",
                "under_investigation",
            ]
            .iter()
            .any(|k| v.get("product_status").and_then(|s| s.get(*k)).is_some())
        },
        "/product_status",
        "a vulnerability needs fixed, known_affected, known_not_affected or \
         under_investigation products",
    )
}

/// 6.1.27.8: in VEX documents each vulnerability has a CVE or another id.
pub fn profile_vulnerability_id(doc: &Value) -> Vec<Problem> {
    each_vulnerability(
        doc,
        &["csaf_vex"],
        "6.1.27.8",
        |v| v.get("cve").is_some() || v.get("ids").is_some(),
        "",
        "a vulnerability needs a cve or ids",
    )
}

/// Products of a VEX vulnerability's status `key` that no item of `lists` (with a category
/// `category`, where given) covers, directly or through a group.
fn uncovered(
    doc: &Value,
    key: &str,
    lists: &[(&str, Option<&str>)],
    test: &str,
    what: &str,
) -> Vec<Problem> {
    if !profile(doc, &["csaf_vex"]) {
        return Vec::new();
    }
    let groups = groups(doc);
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let mut covers: HashSet<&str> = HashSet::new();
        for (list, wanted) in lists {
            for item in arr(v, list) {
                if wanted.is_none_or(|c| str_of(item, "category") == Some(c)) {
                    covers.extend(covered(item, &groups));
                }
            }
        }
        for (id, path) in status_ids(v, i, key) {
            if !covers.contains(id) {
                out.push(Problem::new(
                    path,
                    test,
                    format!(
                        "product {id:?} is {} but has no {what}",
                        key.replace('_', " ")
                    ),
                ));
            }
        }
    }
    out
}

/// 6.1.27.9: in VEX documents each known-not-affected product has an impact statement: a
/// flag, or a threat of category impact.
pub fn profile_impact_statement(doc: &Value) -> Vec<Problem> {
    uncovered(
        doc,
        "known_not_affected",
        &[("flags", None), ("threats", Some("impact"))],
        "6.1.27.9",
        "impact statement (a flag or a threat of category impact)",
    )
}

/// 6.1.27.10: in VEX documents each known-affected product has an action statement (a
/// remediation).
pub fn profile_action_statement(doc: &Value) -> Vec<Problem> {
    uncovered(
        doc,
        "known_affected",
        &[("remediations", None)],
        "6.1.27.10",
        "action statement (a remediation)",
    )
}

/// 6.1.27.11: security advisories and VEX documents have vulnerabilities.
pub fn profile_vulnerabilities(doc: &Value) -> Vec<Problem> {
    if profile(doc, &["csaf_security_advisory", "csaf_vex"]) && doc.get("vulnerabilities").is_none()
    {
        vec![Problem::new(
            "/vulnerabilities",
            "6.1.27.11",
            format!("a {} document needs vulnerabilities", category(doc)),
        )]
    } else {
        Vec::new()
    }
}

/// 6.1.28: a translation's language differs from its source language.
pub fn translation(doc: &Value) -> Vec<Problem> {
    let tags = language_tags(doc);
    match tags.as_slice() {
        [(_, lang), (path, source)] if lang.eq_ignore_ascii_case(source) => {
            vec![Problem::new(
                *path,
                "6.1.28",
                format!(
                    "the document language and its source language are both {lang}; remove \
                     source_lang unless the document is a translation"
                ),
            )]
        }
        _ => Vec::new(),
    }
}

/// Items of a vulnerability list (`remediations`, `flags`) that name no product or group.
fn without_products(doc: &Value, key: &str, test: &str, what: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        for (j, item) in arr(v, key).iter().enumerate() {
            if arr(item, "product_ids").is_empty() && arr(item, "group_ids").is_empty() {
                out.push(Problem::new(
                    format!("/vulnerabilities/{i}/{key}/{j}"),
                    test,
                    format!("the {what} applies to no product; give product_ids or group_ids"),
                ));
            }
        }
    }
    out
}

/// 6.1.29: each remediation names the products or groups it applies to.
pub fn remediation_without_products(doc: &Value) -> Vec<Problem> {
    without_products(doc, "remediations", "6.1.29", "remediation")
}

/// 6.1.30: the document version and the revision numbers use one kind of versioning,
/// integer or semantic, throughout (the kind of the earliest revision, or of the
/// document version without a revision history).
pub fn mixed_versioning(doc: &Value) -> Vec<Problem> {
    let mut numbers: Vec<(String, &str, Version)> = revisions_by_date(doc)
        .into_iter()
        .map(|r: Revision<'_>| (format!("{}/number", r.path()), r.number, r.version))
        .collect();
    if let Some((text, v)) = document_version(doc) {
        numbers.push(("/document/tracking/version".into(), text, v));
    }
    let Some(integer) = numbers.first().map(|(_, _, v)| v.is_integer()) else {
        return Vec::new();
    };
    let kind = |i: bool| if i { "integer" } else { "semantic" };
    numbers
        .into_iter()
        .filter(|(_, _, v)| v.is_integer() != integer)
        .map(|(path, text, v)| {
            Problem::new(
                path,
                "6.1.30",
                format!(
                    "{text} uses {} versioning where the document started with {}",
                    kind(v.is_integer()),
                    kind(integer)
                ),
            )
        })
        .collect()
}

/// 6.1.31: the name of a `product_version` branch is one version, not a range: it has no
/// `<` or `>` and none of the standard's words (after, all, before, earlier, later, prior,
/// versions) as a word of its own, so that a product called "after-eight" is no range.
pub fn version_range_in_product_version(doc: &Value) -> Vec<Problem> {
    const WORDS: [&str; 7] = [
        "after", "all", "before", "earlier", "later", "prior", "versions",
    ];
    branches(doc)
        .into_iter()
        .filter(|(_, b)| str_of(b, "category") == Some("product_version"))
        .filter_map(|(path, b)| {
            let name = str_of(b, "name")?;
            let lower = name.to_lowercase();
            let word = ["<", ">"]
                .into_iter()
                .find(|s| lower.contains(s))
                .or_else(|| lower.split_whitespace().find(|w| WORDS.contains(w)))?;
            Some(Problem::new(
                format!("{path}/name"),
                "6.1.31",
                format!(
                    "the product_version {name:?} reads as a version range ({word:?}); use a \
                     product_version_range branch"
                ),
            ))
        })
        .collect()
}

/// 6.1.32: each flag names the products or groups it applies to.
pub fn flag_without_products(doc: &Value) -> Vec<Problem> {
    without_products(doc, "flags", "6.1.32", "flag")
}

/// 6.1.33: within one vulnerability, no product has two flags with a VEX justification
/// (every flag label of CSAF 2.0 is one), counting products reached through groups.
pub fn multiple_vex_justifications(doc: &Value) -> Vec<Problem> {
    const JUSTIFICATIONS: [&str; 5] = [
        "component_not_present",
        "inline_mitigations_already_exist",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_not_present",
    ];
    let groups = groups(doc);
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (j, flag) in arr(v, "flags").iter().enumerate() {
            if !str_of(flag, "label").is_some_and(|l| JUSTIFICATIONS.contains(&l)) {
                continue;
            }
            let mut ids: Vec<&str> = covered(flag, &groups).into_iter().collect();
            ids.sort_unstable();
            for id in ids {
                match first.get(id) {
                    Some(k) if *k != j => out.push(Problem::new(
                        format!("/vulnerabilities/{i}/flags/{j}"),
                        "6.1.33",
                        format!(
                            "product {id:?} already has a VEX justification at \
                             /vulnerabilities/{i}/flags/{k}; give each product one"
                        ),
                    )),
                    Some(_) => {}
                    None => {
                        first.insert(id, j);
                    }
                }
            }
        }
    }
    out
}
