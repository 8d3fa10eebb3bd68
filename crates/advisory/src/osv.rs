//! OSV records (Open Source Vulnerability format) read into an [`Advisory`].
//!
//! Each `affected[]` entry becomes one affected product (ecosystem, name, purl) whose
//! versions are the intervals of its `ranges` — the events in order, each `introduced`
//! opening an interval that the next `fixed` (exclusive) or `last_affected` (inclusive)
//! closes, in the range's type (`SEMVER`, `ECOSYSTEM`, `GIT`) — plus the enumerated
//! `versions`. Each `fixed` event also lists the package at that version as fixed.
//! CVE ids come from the id and the aliases.
//!
//! ```
//! let record = serde_json::json!({
//!     "schema_version": "1.6.0", "id": "GHSA-xxxx-yyyy-zzzz", "modified": "2024-01-02T00:00:00Z",
//!     "aliases": ["CVE-2024-0001"], "summary": "Widget overflow",
//!     "affected": [{"package": {"ecosystem": "npm", "name": "widget", "purl": "pkg:npm/widget"},
//!         "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.4.0"}]}]}]
//! });
//! let a = baken_advisory::osv::read(&record).unwrap().advisory;
//! assert_eq!(a.cves, ["CVE-2024-0001"]);
//! assert_eq!(a.vulnerabilities[0].affected[0].purls, ["pkg:npm/widget"]);
//! assert_eq!(a.vulnerabilities[0].fixed[0].name, "npm widget 1.4.0");
//! ```

use serde_json::Value;

use crate::csaf::{arr, str_of, strings};
use crate::model::{
    Advisory, Format, Parsed, Problem, Product, ReadError, Reference, VersionSpec, Vulnerability,
    parse_time, score,
};

/// Reads an OSV record.
pub fn read(doc: &Value) -> Result<Parsed, ReadError> {
    let id = str_of(doc, "id").ok_or_else(|| ReadError::Shape {
        format: "OSV",
        path: "/id".into(),
        message: "the record has no id".into(),
    })?;
    let mut problems = Vec::new();
    let aliases = strings(doc.get("aliases"));
    let mut cves: Vec<String> = std::iter::once(id.to_string())
        .chain(aliases.iter().cloned())
        .filter(|a| a.starts_with("CVE-"))
        .collect();
    cves.sort();
    cves.dedup();
    let mut vuln = Vulnerability {
        cve: cves.first().cloned(),
        ids: std::iter::once(id.to_string())
            .chain(aliases.iter().cloned())
            .filter(|a| !a.starts_with("CVE-"))
            .collect(),
        title: str_of(doc, "summary").map(str::to_string),
        ..Vulnerability::default()
    };
    severity(doc, "", &mut vuln, &mut problems);
    for (i, a) in arr(doc, "affected").iter().enumerate() {
        let path = format!("/affected/{i}");
        severity(a, &path, &mut vuln, &mut problems);
        affected(a, &path, &mut vuln, &mut problems);
    }
    let references: Vec<Reference> = arr(doc, "references")
        .iter()
        .filter_map(|r| {
            Some(Reference {
                url: str_of(r, "url")?.to_string(),
                summary: str_of(r, "type").map(str::to_string),
            })
        })
        .collect();
    let time = |key: &str| str_of(doc, key).and_then(parse_time);
    Ok(Parsed {
        advisory: Advisory {
            format: Format::Osv,
            id: id.to_string(),
            title: str_of(doc, "summary")
                .or_else(|| str_of(doc, "details"))
                .map(str::to_string),
            publisher: None,
            tlp: None,
            cves,
            aliases: aliases
                .into_iter()
                .filter(|a| !a.starts_with("CVE-"))
                .collect(),
            initial_release: time("published"),
            current_release: time("modified"),
            revision: None,
            revision_history: Vec::new(),
            vulnerabilities: vec![vuln],
            references,
        },
        problems,
    })
}

fn severity(v: &Value, path: &str, vuln: &mut Vulnerability, problems: &mut Vec<Problem>) {
    for (i, s) in arr(v, "severity").iter().enumerate() {
        let kind = str_of(s, "type").unwrap_or_default();
        if !kind.starts_with("CVSS_") {
            continue; // e.g. "Ubuntu" priorities: not a CVSS vector
        }
        let Some(vector) = str_of(s, "score") else {
            continue;
        };
        vuln.scores.push(score(
            vector,
            None,
            None,
            Vec::new(),
            None,
            &format!("{path}/severity/{i}/score"),
            problems,
        ));
    }
}

fn affected(a: &Value, path: &str, vuln: &mut Vulnerability, problems: &mut Vec<Problem>) {
    let package = a.get("package").unwrap_or(&Value::Null);
    let ecosystem = str_of(package, "ecosystem");
    let name = str_of(package, "name");
    let base = Product {
        id: None,
        name: [ecosystem, name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        vendor: None,
        product: name.map(str::to_string),
        ecosystem: ecosystem.map(str::to_string),
        cpes: Vec::new(),
        purls: str_of(package, "purl")
            .map(str::to_string)
            .into_iter()
            .collect(),
        versions: Vec::new(),
        relationship: None,
    };
    let mut versions = Vec::new();
    for (i, r) in arr(a, "ranges").iter().enumerate() {
        let scheme = str_of(r, "type").map(str::to_string);
        let mut open: Option<Option<String>> = None;
        for (j, e) in arr(r, "events").iter().enumerate() {
            let close =
                |open: &mut Option<Option<String>>, fixed: Option<String>, last: Option<String>| {
                    let introduced = open.take().unwrap_or(None);
                    VersionSpec::Range {
                        scheme: scheme.clone(),
                        introduced,
                        fixed,
                        last_affected: last,
                    }
                };
            if let Some(v) = str_of(e, "introduced") {
                if let Some(prev) = open.take() {
                    // two introduced in a row: the first stays open-ended
                    versions.push(VersionSpec::Range {
                        scheme: scheme.clone(),
                        introduced: prev,
                        fixed: None,
                        last_affected: None,
                    });
                }
                open = Some((v != "0").then(|| v.to_string()));
            } else if let Some(v) = str_of(e, "fixed") {
                versions.push(close(&mut open, Some(v.to_string()), None));
                vuln.fixed.push(Product {
                    name: format!("{} {v}", base.name),
                    versions: vec![VersionSpec::Exact {
                        version: v.to_string(),
                    }],
                    ..base.clone()
                });
            } else if let Some(v) = str_of(e, "last_affected") {
                versions.push(close(&mut open, None, Some(v.to_string())));
            } else if e.get("limit").is_none() {
                problems.push(Problem::new(
                    format!("{path}/ranges/{i}/events/{j}"),
                    "read",
                    "an event must be introduced, fixed, last_affected or limit",
                ));
            }
        }
        if let Some(introduced) = open {
            versions.push(VersionSpec::Range {
                scheme: scheme.clone(),
                introduced,
                fixed: None,
                last_affected: None,
            });
        }
    }
    versions.extend(
        strings(a.get("versions"))
            .into_iter()
            .map(|version| VersionSpec::Exact { version }),
    );
    vuln.affected.push(Product { versions, ..base });
}
