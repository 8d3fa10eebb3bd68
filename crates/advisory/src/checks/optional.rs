//! The optional tests of CSAF 2.0 (section 6.2): a document that fails one is still valid,
//! so their problems are warnings. Each function runs one test and returns its problems in
//! document order.
//!
//! Not run: 6.2.13 (keys sorted: a parsed `serde_json::Value` does not keep the document's
//! key order) and 6.2.20 (additional properties: it needs a strict variant of the schema).

use std::collections::HashSet;

use serde_json::Value;

use super::{
    STATUSES, category, covered, file_hash_lists, full_product_names, groups, language_tags,
    product_definitions, product_references, revisions, revisions_by_date, status_ids,
};
use crate::csaf::{arr, str_of};
use crate::model::{Problem, parse_time};

/// Runs every optional test; problems in test order, then document order.
pub fn run(doc: &Value) -> Vec<Problem> {
    let tests: [fn(&Value) -> Vec<Problem>; 18] = [
        unused_product_ids,
        missing_remediation,
        missing_score,
        build_metadata_in_revisions,
        older_initial_release_date,
        older_current_release_date,
        missing_involvement_date,
        md5_only,
        sha1_only,
        missing_tlp_label,
        missing_canonical_url,
        missing_language,
        private_language,
        default_language,
        missing_identification_helper,
        cve_in_ids,
        version_range_without_vers,
        cvss_for_fixed_products,
    ];
    tests.iter().flat_map(|t| t(doc)).collect()
}

/// 6.2.1: every product id defined is referred to (skipped for informational advisories).
pub fn unused_product_ids(doc: &Value) -> Vec<Problem> {
    if category(doc) == "csaf_informational_advisory" {
        return Vec::new();
    }
    let used: HashSet<String> = product_references(doc)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    product_definitions(doc)
        .into_iter()
        .filter(|(id, _)| !used.contains(id))
        .map(|(id, path)| {
            Problem::new(
                path,
                "6.2.1",
                format!("product id {id:?} is defined but nothing refers to it"),
            )
        })
        .collect()
}

/// Products of the affected (and, for `with_investigation`, under investigation) status
/// groups that no item of the vulnerability's `key` list covers.
fn affected_without(
    doc: &Value,
    key: &str,
    with_investigation: bool,
    test: &str,
    what: &str,
) -> Vec<Problem> {
    let groups = groups(doc);
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        let covers: HashSet<&str> = arr(v, key)
            .iter()
            .flat_map(|item| {
                let mut ids = covered(item, &groups);
                ids.extend(arr(item, "products").iter().filter_map(Value::as_str));
                ids
            })
            .collect();
        for status in STATUSES {
            let relevant = matches!(
                status,
                "first_affected" | "known_affected" | "last_affected"
            ) || (with_investigation && status == "under_investigation");
            if !relevant {
                continue;
            }
            for (id, path) in status_ids(v, i, status) {
                if !covers.contains(id) {
                    out.push(Problem::new(
                        path,
                        test,
                        format!(
                            "product {id:?} is {} but no {what} covers it",
                            status.replace('_', " ")
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// 6.2.2: each affected or under-investigation product has a remediation (which may say
/// none is available).
pub fn missing_remediation(doc: &Value) -> Vec<Problem> {
    affected_without(doc, "remediations", true, "6.2.2", "remediation")
}

/// 6.2.3: each affected product has a score.
pub fn missing_score(doc: &Value) -> Vec<Problem> {
    affected_without(doc, "scores", false, "6.2.3", "score")
}

/// 6.2.4: no revision number carries build metadata.
pub fn build_metadata_in_revisions(doc: &Value) -> Vec<Problem> {
    revisions(doc)
        .into_iter()
        .filter_map(|r| {
            let build = r.version.build()?;
            Some(Problem::new(
                format!("{}/number", r.path()),
                "6.2.4",
                format!("revision {} carries the build metadata +{build}", r.number),
            ))
        })
        .collect()
}

/// A release date of `/document/tracking` set against the revision history's dates.
fn release_date(doc: &Value, key: &str, test: &str, newest: bool) -> Vec<Problem> {
    let sorted = revisions_by_date(doc);
    let edge = if newest {
        sorted.iter().map(|r| r.date).max()
    } else {
        sorted.iter().map(|r| r.date).min()
    };
    let Some(text) = doc
        .pointer(&format!("/document/tracking/{key}"))
        .and_then(Value::as_str)
    else {
        return Vec::new();
    };
    match (parse_time(text), edge) {
        (Some(date), Some(edge)) if date < edge => vec![Problem::new(
            format!("/document/tracking/{key}"),
            test,
            format!(
                "{key} {text} is older than the {} revision ({})",
                if newest { "newest" } else { "oldest" },
                edge.to_rfc3339()
            ),
        )],
        _ => Vec::new(),
    }
}

/// 6.2.5: the initial release date is not older than the oldest revision.
pub fn older_initial_release_date(doc: &Value) -> Vec<Problem> {
    release_date(doc, "initial_release_date", "6.2.5", false)
}

/// 6.2.6: the current release date is not older than the newest revision.
pub fn older_current_release_date(doc: &Value) -> Vec<Problem> {
    release_date(doc, "current_release_date", "6.2.6", true)
}

/// 6.2.7: each involvement has a date.
pub fn missing_involvement_date(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        for (j, inv) in arr(v, "involvements").iter().enumerate() {
            if inv.get("date").is_none() {
                out.push(Problem::new(
                    format!("/vulnerabilities/{i}/involvements/{j}"),
                    "6.2.7",
                    "the involvement has no date",
                ));
            }
        }
    }
    out
}

/// File hashes that use `algorithm` and nothing else.
fn only_hash(doc: &Value, algorithm: &str, test: &str) -> Vec<Problem> {
    file_hash_lists(doc)
        .into_iter()
        .filter(|(_, list)| {
            !list.is_empty()
                && list.iter().all(|h| {
                    str_of(h, "algorithm").is_some_and(|a| a.eq_ignore_ascii_case(algorithm))
                })
        })
        .map(|(path, _)| {
            Problem::new(
                path,
                test,
                format!("{algorithm} is the only hash of this file; add a stronger one (sha256)"),
            )
        })
        .collect()
}

/// 6.2.8: MD5 is not the only hash of a file.
pub fn md5_only(doc: &Value) -> Vec<Problem> {
    only_hash(doc, "md5", "6.2.8")
}

/// 6.2.9: SHA-1 is not the only hash of a file.
pub fn sha1_only(doc: &Value) -> Vec<Problem> {
    only_hash(doc, "sha1", "6.2.9")
}

/// 6.2.10: the document has a TLP label.
pub fn missing_tlp_label(doc: &Value) -> Vec<Problem> {
    if doc.pointer("/document/distribution/tlp/label").is_some() {
        return Vec::new();
    }
    vec![Problem::new(
        "/document/distribution/tlp/label",
        "6.2.10",
        "the document has no TLP label; recipients cannot tell how far they may share it",
    )]
}

/// The file name section 5.1 of CSAF 2.0 gives a document: its tracking id in lower case,
/// every character other than `+`, `-`, a–z and 0–9 replaced by `_`, then `.json`.
pub fn file_name(tracking_id: &str) -> String {
    let stem: String = tracking_id
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '+' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{stem}.json")
}

/// 6.2.11: a reference of category `self` gives the document's canonical URL: `https://`
/// and ending in the file name of section 5.1.
pub fn missing_canonical_url(doc: &Value) -> Vec<Problem> {
    let Some(id) = doc.pointer("/document/tracking/id").and_then(Value::as_str) else {
        return Vec::new();
    };
    let name = file_name(id);
    let refs = doc.pointer("/document/references").unwrap_or(&Value::Null);
    let found = refs.as_array().into_iter().flatten().any(|r| {
        str_of(r, "category") == Some("self")
            && str_of(r, "url")
                .is_some_and(|u| u.starts_with("https://") && u.ends_with(&format!("/{name}")))
    });
    if found {
        return Vec::new();
    }
    vec![Problem::new(
        "/document/references",
        "6.2.11",
        format!("no reference of category self gives an https:// URL ending in /{name}"),
    )]
}

/// 6.2.12: the document language is set.
pub fn missing_language(doc: &Value) -> Vec<Problem> {
    if doc
        .pointer("/document/lang")
        .and_then(Value::as_str)
        .is_some_and(|l| !l.is_empty())
    {
        return Vec::new();
    }
    vec![Problem::new(
        "/document/lang",
        "6.2.12",
        "the document does not say its language; set lang (e.g. en)",
    )]
}

/// 6.2.14: no language tag uses subtags reserved for private use (`x-…`, languages
/// `qaa`–`qtz`, scripts `Qaaa`–`Qabx`, regions `AA`, `QM`–`QZ`, `XA`–`XZ`, `ZZ`).
pub fn private_language(doc: &Value) -> Vec<Problem> {
    language_tags(doc)
        .into_iter()
        .filter(|(_, tag)| is_private(tag))
        .map(|(path, tag)| {
            Problem::new(
                path,
                "6.2.14",
                format!("{tag:?} uses a subtag reserved for private use"),
            )
        })
        .collect()
}

fn is_private(tag: &str) -> bool {
    let lower = tag.to_ascii_lowercase();
    let subtags: Vec<&str> = lower.split('-').collect();
    let in_range = |s: &str, from: &str, to: &str| s.len() == from.len() && s >= from && s <= to;
    subtags.contains(&"x")
        || in_range(subtags[0], "qaa", "qtz")
        || subtags.iter().skip(1).any(|s| {
            let alpha = s.bytes().all(|b| b.is_ascii_alphabetic());
            alpha
                && (in_range(s, "qaaa", "qabx")
                    || *s == "aa"
                    || *s == "zz"
                    || in_range(s, "qm", "qz")
                    || in_range(s, "xa", "xz"))
        })
}

/// 6.2.15: no language tag is `i-default`.
pub fn default_language(doc: &Value) -> Vec<Problem> {
    language_tags(doc)
        .into_iter()
        .filter(|(_, tag)| tag.eq_ignore_ascii_case("i-default"))
        .map(|(path, tag)| {
            Problem::new(
                path,
                "6.2.15",
                format!("{tag:?} names no language; give the document's language"),
            )
        })
        .collect()
}

/// 6.2.16: each full product name has a product identification helper (CPE, purl, hashes,
/// …), which is what lets baken match it against inventories.
pub fn missing_identification_helper(doc: &Value) -> Vec<Problem> {
    full_product_names(doc)
        .into_iter()
        .filter(|(_, f)| f.get("product_identification_helper").is_none())
        .map(|(path, f)| {
            Problem::new(
                path,
                "6.2.16",
                format!(
                    "product {:?} has no product identification helper (CPE, purl, …)",
                    str_of(f, "product_id").unwrap_or("")
                ),
            )
        })
        .collect()
}

/// 6.2.17: no item of a vulnerability's `ids` is a CVE id (those belong in `cve`).
pub fn cve_in_ids(doc: &Value) -> Vec<Problem> {
    let is_cve = |s: &str| {
        let mut parts = s.splitn(3, '-');
        parts.next() == Some("CVE")
            && parts
                .next()
                .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            && parts
                .next()
                .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        for (j, id) in arr(v, "ids").iter().enumerate() {
            if let Some(text) = str_of(id, "text")
                && is_cve(text)
            {
                out.push(Problem::new(
                    format!("/vulnerabilities/{i}/ids/{j}"),
                    "6.2.17",
                    format!("{text} is a CVE id; give it as the vulnerability's cve"),
                ));
            }
        }
    }
    out
}

/// 6.2.18: a `product_version_range` branch is written in `vers` (matches
/// `^vers:[a-z\.\-\+][a-z0-9\.\-\+]*/.+`).
pub fn version_range_without_vers(doc: &Value) -> Vec<Problem> {
    let is_vers = |name: &str| {
        let Some(rest) = name.strip_prefix("vers:") else {
            return false;
        };
        let Some((scheme, range)) = rest.split_once('/') else {
            return false;
        };
        let allowed = |b: u8| b.is_ascii_lowercase() || matches!(b, b'.' | b'-' | b'+');
        !range.is_empty()
            && scheme.bytes().next().is_some_and(allowed)
            && scheme.bytes().all(|b| allowed(b) || b.is_ascii_digit())
    };
    super::branches(doc)
        .into_iter()
        .filter(|(_, b)| str_of(b, "category") == Some("product_version_range"))
        .filter_map(|(path, b)| {
            let name = str_of(b, "name")?;
            (!is_vers(name)).then(|| {
                Problem::new(
                    format!("{path}/name"),
                    "6.2.18",
                    format!(
                        "the version range {name:?} is not written in vers (vers:semver/<2.0.0)"
                    ),
                )
            })
        })
        .collect()
}

/// 6.2.19: a score that covers a fixed product has an environmental score of 0, computed
/// from the vector and the metric properties it leaves out (the vector takes precedence
/// over stated scores).
pub fn cvss_for_fixed_products(doc: &Value) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        for status in ["first_fixed", "fixed"] {
            for (id, path) in status_ids(v, i, status) {
                for (j, s) in arr(v, "scores").iter().enumerate() {
                    if !arr(s, "products").iter().any(|p| p.as_str() == Some(id)) {
                        continue;
                    }
                    for key in ["cvss_v3", "cvss_v2"] {
                        let Some(score) = s
                            .get(key)
                            .and_then(|c| super::mandatory::score_with_properties(key, c))
                        else {
                            continue;
                        };
                        let environmental = score.effective_score();
                        if environmental != 0.0 {
                            out.push(Problem::new(
                                path.clone(),
                                "6.2.19",
                                format!(
                                    "product {id:?} is {} but the score at \
                                     /vulnerabilities/{i}/scores/{j}/{key} rates it {environmental}; \
                                     set its modified impacts to none",
                                    status.replace('_', " ")
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    out
}
