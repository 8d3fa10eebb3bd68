//! CVE JSON 5 records (CVE Record Format 5.x) read into an [`Advisory`].
//!
//! `containers.cna.affected` becomes products: each `versions` entry is one
//! [`VersionSpec`] — an exact version, or a range `version` ≤ v < `lessThan` (or
//! ≤ `lessThanOrEqual`) in its `versionType` — filed under affected, not affected
//! (`unaffected`) or under investigation (`unknown`) by its `status`. An entry without
//! versions takes its `defaultStatus` (affected when absent). Metrics of the CNA and of
//! every ADP container are read, each score with its source.
//!
//! ```
//! let record = serde_json::json!({
//!     "dataType": "CVE_RECORD", "dataVersion": "5.1",
//!     "cveMetadata": {"cveId": "CVE-2024-0001", "assignerShortName": "example", "state": "PUBLISHED"},
//!     "containers": {"cna": {
//!         "affected": [{"vendor": "Example", "product": "Widget", "versions": [
//!             {"version": "1.0", "lessThan": "1.4", "status": "affected", "versionType": "semver"}]}],
//!         "metrics": [{"cvssV3_1": {"version": "3.1", "baseScore": 9.8, "baseSeverity": "CRITICAL",
//!             "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]}}
//! });
//! let a = baken_advisory::cve5::read(&record).unwrap().advisory;
//! assert_eq!(a.id, "CVE-2024-0001");
//! let widget = &a.vulnerabilities[0].affected[0];
//! assert_eq!(widget.name, "Example Widget");
//! assert_eq!(widget.versions[0], baken_advisory::VersionSpec::Range {
//!     scheme: Some("semver".into()), introduced: Some("1.0".into()),
//!     fixed: Some("1.4".into()), last_affected: None });
//! ```

use serde_json::Value;

use crate::csaf::{arr, str_of, strings};
use crate::cvss::CvssVersion;
use crate::model::{
    Advisory, Format, Parsed, Problem, Product, ReadError, Reference, Remediation, VersionSpec,
    Vulnerability, parse_time, score,
};

/// Reads a CVE JSON 5 record.
pub fn read(doc: &Value) -> Result<Parsed, ReadError> {
    let meta = doc.get("cveMetadata").unwrap_or(&Value::Null);
    let id = str_of(meta, "cveId").ok_or_else(|| ReadError::Shape {
        format: "CVE JSON 5",
        path: "/cveMetadata/cveId".into(),
        message: "the record has no CVE id".into(),
    })?;
    let mut problems = Vec::new();
    let cna = doc.pointer("/containers/cna").unwrap_or(&Value::Null);
    let mut vuln = Vulnerability {
        cve: Some(id.to_string()),
        title: str_of(cna, "title").map(str::to_string),
        ..Vulnerability::default()
    };
    for a in arr(cna, "affected") {
        affected(a, &mut vuln);
    }
    metrics(
        cna,
        "/containers/cna",
        str_of(meta, "assignerShortName"),
        &mut vuln,
        &mut problems,
    );
    for (i, adp) in arr(doc.get("containers").unwrap_or(&Value::Null), "adp")
        .iter()
        .enumerate()
    {
        let source = adp
            .pointer("/providerMetadata/shortName")
            .and_then(Value::as_str);
        metrics(
            adp,
            &format!("/containers/adp/{i}"),
            source,
            &mut vuln,
            &mut problems,
        );
    }
    for (key, category) in [("solutions", "solution"), ("workarounds", "workaround")] {
        for s in arr(cna, key) {
            if let Some(text) = str_of(s, "value") {
                vuln.remediations.push(Remediation {
                    category: category.to_string(),
                    details: text.to_string(),
                    url: None,
                    product_ids: Vec::new(),
                });
            }
        }
    }
    vuln.references = arr(cna, "references")
        .iter()
        .filter_map(|r| {
            Some(Reference {
                url: str_of(r, "url")?.to_string(),
                summary: str_of(r, "name").map(str::to_string),
            })
        })
        .collect();
    let title = vuln.title.clone().or_else(|| {
        arr(cna, "descriptions")
            .iter()
            .find_map(|d| str_of(d, "value"))
            .map(str::to_string)
    });
    let time = |key: &str| str_of(meta, key).and_then(parse_time);
    let published = time("datePublished");
    Ok(Parsed {
        advisory: Advisory {
            format: Format::Cve5,
            id: id.to_string(),
            title,
            publisher: str_of(meta, "assignerShortName").map(str::to_string),
            tlp: None,
            cves: vec![id.to_string()],
            aliases: Vec::new(),
            initial_release: published,
            current_release: time("dateUpdated").or(published),
            revision: None,
            revision_history: Vec::new(),
            vulnerabilities: vec![vuln],
            references: Vec::new(),
        },
        problems,
    })
}

fn affected(a: &Value, vuln: &mut Vulnerability) {
    let vendor = str_of(a, "vendor").filter(|v| !v.eq_ignore_ascii_case("n/a"));
    let product = str_of(a, "product")
        .or_else(|| str_of(a, "packageName"))
        .filter(|v| !v.eq_ignore_ascii_case("n/a"));
    let name = [vendor, product]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let base = Product {
        id: None,
        name,
        vendor: vendor.map(str::to_string),
        product: product.map(str::to_string),
        ecosystem: str_of(a, "collectionURL").map(str::to_string),
        cpes: strings(a.get("cpes")),
        purls: str_of(a, "packageURL")
            .map(str::to_string)
            .into_iter()
            .collect(),
        versions: Vec::new(),
        relationship: None,
    };
    let mut by_status: [(Vec<VersionSpec>, &str); 3] = [
        (Vec::new(), "affected"),
        (Vec::new(), "unaffected"),
        (Vec::new(), "unknown"),
    ];
    let versions = arr(a, "versions");
    for v in versions {
        let status = str_of(v, "status").unwrap_or("affected");
        let Some(slot) = by_status.iter_mut().find(|(_, s)| *s == status) else {
            continue;
        };
        slot.0.push(version_spec(v));
    }
    if versions.is_empty() {
        // no version list: every version has the default status
        let status = str_of(a, "defaultStatus").unwrap_or("affected");
        push(slot_list(vuln, status), &base, Vec::new());
        return;
    }
    for (specs, status) in by_status {
        if !specs.is_empty() {
            push(slot_list(vuln, status), &base, specs);
        }
    }
}

fn slot_list<'a>(vuln: &'a mut Vulnerability, status: &str) -> &'a mut Vec<Product> {
    match status {
        "unaffected" => &mut vuln.not_affected,
        "unknown" => &mut vuln.under_investigation,
        _ => &mut vuln.affected,
    }
}

fn push(list: &mut Vec<Product>, base: &Product, versions: Vec<VersionSpec>) {
    list.push(Product {
        versions,
        ..base.clone()
    });
}

fn version_spec(v: &Value) -> VersionSpec {
    let version = str_of(v, "version").unwrap_or("*");
    let bound = |key| str_of(v, key).filter(|b| *b != "*").map(str::to_string);
    let (less_than, less_equal) = (bound("lessThan"), bound("lessThanOrEqual"));
    let open_upper =
        str_of(v, "lessThan") == Some("*") || str_of(v, "lessThanOrEqual") == Some("*");
    if less_than.is_some() || less_equal.is_some() || open_upper {
        VersionSpec::Range {
            scheme: str_of(v, "versionType").map(str::to_string),
            introduced: (version != "*").then(|| version.to_string()),
            fixed: less_than,
            last_affected: less_equal,
        }
    } else {
        VersionSpec::Exact {
            version: version.to_string(),
        }
    }
}

fn metrics(
    container: &Value,
    path: &str,
    source: Option<&str>,
    vuln: &mut Vulnerability,
    problems: &mut Vec<Problem>,
) {
    for (i, m) in arr(container, "metrics").iter().enumerate() {
        for (key, version) in [
            ("cvssV4_0", CvssVersion::V4_0),
            ("cvssV3_1", CvssVersion::V3_1),
            ("cvssV3_0", CvssVersion::V3_0),
            ("cvssV2_0", CvssVersion::V2),
        ] {
            let Some(c) = m.get(key) else { continue };
            let mpath = format!("{path}/metrics/{i}/{key}/vectorString");
            let Some(vector) = str_of(c, "vectorString") else {
                problems.push(Problem::new(
                    mpath,
                    "read",
                    "the metric has no vectorString",
                ));
                continue;
            };
            vuln.scores.push(score(
                vector,
                Some(version),
                c.get("baseScore").and_then(Value::as_f64),
                Vec::new(),
                source.map(str::to_string),
                &mpath,
                problems,
            ));
        }
    }
}
