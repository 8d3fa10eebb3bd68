//! A selection of CSAF 2.0's mandatory tests (section 6.1 of the standard), each problem
//! reported with the JSON pointer of the offending value:
//!
//! * 6.1.1 Missing Definition of Product ID
//! * 6.1.2 Multiple Definition of Product ID
//! * 6.1.4 Missing Definition of Product Group ID
//! * 6.1.5 Multiple Definition of Product Group ID
//! * 6.1.8 Invalid CVSS — the vector parses, its version matches `version`, and the
//!   required properties are there (standing in for FIRST's CVSS JSON schemas)
//! * 6.1.9 Invalid CVSS computation — stated scores and severities match the vector
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
//! ```

use std::collections::HashMap;

use serde_json::Value;

use crate::csaf::{arr, str_of};
use crate::cvss::{self, CvssVersion, Severity};
use crate::model::Problem;

/// Runs every test of this module; problems in test order, then document order.
pub fn run(doc: &Value) -> Vec<Problem> {
    let mut out = missing_product_ids(doc);
    out.extend(multiple_product_ids(doc));
    out.extend(missing_group_ids(doc));
    out.extend(multiple_group_ids(doc));
    out.extend(invalid_cvss(doc));
    out.extend(invalid_cvss_computation(doc));
    out
}

/// Where each product id is defined: `(id, path of the product_id value)`.
fn product_definitions(doc: &Value) -> Vec<(String, String)> {
    fn walk(b: &Value, path: &str, out: &mut Vec<(String, String)>) {
        if let Some(id) = b.pointer("/product/product_id").and_then(Value::as_str) {
            out.push((id.to_string(), format!("{path}/product/product_id")));
        }
        for (i, c) in arr(b, "branches").iter().enumerate() {
            walk(c, &format!("{path}/branches/{i}"), out);
        }
    }
    let tree = doc.get("product_tree").unwrap_or(&Value::Null);
    let mut out = Vec::new();
    for (i, b) in arr(tree, "branches").iter().enumerate() {
        walk(b, &format!("/product_tree/branches/{i}"), &mut out);
    }
    for (i, f) in arr(tree, "full_product_names").iter().enumerate() {
        if let Some(id) = str_of(f, "product_id") {
            out.push((
                id.to_string(),
                format!("/product_tree/full_product_names/{i}/product_id"),
            ));
        }
    }
    for (i, r) in arr(tree, "relationships").iter().enumerate() {
        if let Some(id) = r
            .pointer("/full_product_name/product_id")
            .and_then(Value::as_str)
        {
            out.push((
                id.to_string(),
                format!("/product_tree/relationships/{i}/full_product_name/product_id"),
            ));
        }
    }
    out
}

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
    let tree = doc.get("product_tree").unwrap_or(&Value::Null);
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
            for key in [
                "first_affected",
                "first_fixed",
                "fixed",
                "known_affected",
                "known_not_affected",
                "last_affected",
                "recommended",
                "under_investigation",
            ] {
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

/// 6.1.1: every product id referred to is defined in the product tree.
pub fn missing_product_ids(doc: &Value) -> Vec<Problem> {
    let defined: std::collections::HashSet<String> = product_definitions(doc)
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
    let defined: std::collections::HashSet<String> = group_definitions(doc)
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
