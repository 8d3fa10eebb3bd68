//! NVD CVE API 2.0 records read into [`Advisory`]s: a response page (`{"format": "NVD_CVE",
//! "version": "2.0", "vulnerabilities": [{"cve": {…}}, …]}`), one of its entries
//! (`{"cve": {…}}`), or a bare `cve` object.
//!
//! | NVD (`cve.…`)                          | advisory                                         |
//! |----------------------------------------|--------------------------------------------------|
//! | `id`                                   | `id`, the one CVE                                |
//! | `descriptions[lang=en].value`          | `title`                                          |
//! | `published`, `lastModified`            | `initial_release`, `current_release`; `lastModified` is also the revision |
//! | `metrics.cvssMetricV40/V31/V30/V2[].cvssData` | scores (vector, stated base score), each with its `source` |
//! | `configurations[].nodes[].cpeMatch[]` with `vulnerable: true` | affected products: the CPE 2.3 name, its vendor and product, and the versions (`versionStartIncluding` ≤ v < `versionEndExcluding` / ≤ `versionEndIncluding`, or the CPE's own version) |
//! | `references[].url`                     | references                                       |
//! | `cisaExploitAdd`                       | [`Record::exploited`]: the day CISA listed it as exploited |
//!
//! **Each entry of a page is read or rejected on its own**: an entry without a `cve`
//! object, whose `cve.id` is not a CVE id, or whose `vulnStatus` is `Rejected` (the CVE was
//! withdrawn) is a [`Problem`] naming its JSON path and field; [`Page::records`] and
//! [`Page::rejected`] add up to the entries of the page. A part of a record that cannot be
//! read (a vector that does not score) is a problem of that record, which is kept.
//!
//! ```
//! let page = serde_json::json!({"format": "NVD_CVE", "version": "2.0", "vulnerabilities": [
//!   {"cve": {"id": "CVE-2019-19781", "sourceIdentifier": "cve@mitre.org",
//!     "published": "2019-12-27T14:15:10.877", "lastModified": "2024-06-27T18:26:56.177",
//!     "vulnStatus": "Analyzed", "cisaExploitAdd": "2022-01-10",
//!     "descriptions": [{"lang": "en", "value": "An issue was discovered in Citrix ADC"}],
//!     "metrics": {"cvssMetricV31": [{"source": "nvd@nist.gov", "type": "Primary",
//!       "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}}]}}}]});
//! assert!(baken_advisory::nvd::is_nvd(&page));
//! let page = baken_advisory::nvd::read_page(&page);
//! let record = &page.records[0];
//! assert_eq!(record.parsed.advisory.id, "CVE-2019-19781");
//! assert_eq!(record.parsed.advisory.highest_score().unwrap().value(), 9.8);
//! assert_eq!(record.exploited.unwrap().to_string(), "2022-01-10");
//! ```

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::csaf::{arr, str_of};
use crate::cvss::CvssVersion;
use crate::kev::is_cve;
use crate::model::{
    Advisory, Format, Parsed, Problem, Product, ReadError, Reference, VersionSpec, Vulnerability,
    parse_time, score,
};

/// One record of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// JSON pointer to the entry in the page (`/vulnerabilities/3`), empty for a single record.
    pub path: String,
    /// The advisory, and what of the record could not be read.
    pub parsed: Parsed,
    /// The record on its own (`{"cve": {…}}`), as it is kept.
    pub document: Value,
    /// `cisaExploitAdd`: the day CISA listed the CVE as exploited.
    pub exploited: Option<NaiveDate>,
}

/// A page as read: its records and the entries rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records read, in the page's order.
    pub records: Vec<Record>,
    /// The entries rejected, each with its JSON path and reason.
    pub rejected: Vec<Problem>,
}

/// Whether `doc` is NVD CVE API 2.0 JSON: a page (`format` `NVD_CVE`, or `vulnerabilities`
/// whose entries hold a `cve`), an entry `{"cve": {"id", "sourceIdentifier", …}}` or a bare
/// record (`id`, `sourceIdentifier`, `published`).
pub fn is_nvd(doc: &Value) -> bool {
    if str_of(doc, "format") == Some("NVD_CVE") {
        return true;
    }
    if let Some(list) = doc.get("vulnerabilities").and_then(Value::as_array)
        && list.first().is_some_and(|e| e.get("cve").is_some())
    {
        return true;
    }
    let record = doc.get("cve").unwrap_or(doc);
    record.get("id").is_some_and(Value::is_string)
        && record.get("sourceIdentifier").is_some()
        && record.get("published").is_some()
}

/// Whether `doc` is a page of records rather than one.
fn is_page(doc: &Value) -> bool {
    doc.get("vulnerabilities").is_some_and(Value::is_array)
}

/// Reads a page, a page's entry or a bare record, record by record.
pub fn read_page(doc: &Value) -> Page {
    let mut page = Page {
        records: Vec::new(),
        rejected: Vec::new(),
    };
    if !is_page(doc) {
        match record(doc, "") {
            Ok(r) => page.records.push(r),
            Err(p) => page.rejected.push(p),
        }
        return page;
    }
    for (i, entry) in arr(doc, "vulnerabilities").iter().enumerate() {
        match record(entry, &format!("/vulnerabilities/{i}")) {
            Ok(r) => page.records.push(r),
            Err(p) => page.rejected.push(p),
        }
    }
    page
}

/// Reads a single record (an entry or a bare `cve` object); a page of exactly one record
/// reads as that record.
pub fn read(doc: &Value) -> Result<Parsed, ReadError> {
    let mut page = read_page(doc);
    if let Some(problem) = page.rejected.pop() {
        return Err(ReadError::Shape {
            format: "NVD CVE API 2.0",
            path: problem.path,
            message: problem.message,
        });
    }
    match page.records.len() {
        1 => Ok(page.records.remove(0).parsed),
        n => Err(ReadError::Shape {
            format: "NVD CVE API 2.0",
            path: "/vulnerabilities".into(),
            message: format!("a page of {n} records, not one: import the page"),
        }),
    }
}

fn record(entry: &Value, path: &str) -> Result<Record, Problem> {
    let (cve, at) = match entry.get("cve") {
        Some(cve) if cve.is_object() => (cve, format!("{path}/cve")),
        Some(_) => {
            return Err(Problem::new(
                format!("{path}/cve"),
                "nvd",
                "not a json object",
            ));
        }
        None if entry.get("id").is_some() => (entry, path.to_string()),
        None => return Err(Problem::new(path, "nvd", "no cve object")),
    };
    let id = str_of(cve, "id").unwrap_or_default();
    if !is_cve(id) {
        return Err(Problem::new(
            format!("{at}/id"),
            "nvd",
            format!("not a CVE id (CVE-YYYY-NNNN): {:?}", cve.get("id")),
        ));
    }
    let id = id.to_ascii_uppercase();
    if str_of(cve, "vulnStatus") == Some("Rejected") {
        return Err(Problem::new(
            format!("{at}/vulnStatus"),
            "nvd",
            format!("{id} is rejected: the CVE was withdrawn"),
        ));
    }
    let published = match str_of(cve, "published") {
        Some(text) => Some(parse_time(text).ok_or_else(|| {
            Problem::new(
                format!("{at}/published"),
                "nvd",
                format!("not a time (RFC 3339): {text:?}"),
            )
        })?),
        None => None,
    };
    let exploited = match str_of(cve, "cisaExploitAdd") {
        Some(text) => Some(
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
                Problem::new(
                    format!("{at}/cisaExploitAdd"),
                    "nvd",
                    format!("not a date (YYYY-MM-DD): {text:?}"),
                )
            })?,
        ),
        None => None,
    };
    let mut problems = Vec::new();
    let title = arr(cve, "descriptions")
        .iter()
        .find(|d| str_of(d, "lang") == Some("en"))
        .or_else(|| arr(cve, "descriptions").first())
        .and_then(|d| str_of(d, "value"))
        .map(str::to_string);
    let mut vuln = Vulnerability {
        cve: Some(id.clone()),
        title: title.clone(),
        ..Vulnerability::default()
    };
    let metrics = cve.get("metrics").unwrap_or(&Value::Null);
    for (key, version) in [
        ("cvssMetricV40", CvssVersion::V4_0),
        ("cvssMetricV31", CvssVersion::V3_1),
        ("cvssMetricV30", CvssVersion::V3_0),
        ("cvssMetricV2", CvssVersion::V2),
    ] {
        for (i, m) in arr(metrics, key).iter().enumerate() {
            let data = m.get("cvssData").unwrap_or(&Value::Null);
            let Some(vector) = str_of(data, "vectorString") else {
                problems.push(Problem::new(
                    format!("{at}/metrics/{key}/{i}/cvssData/vectorString"),
                    "read",
                    "no vector",
                ));
                continue;
            };
            vuln.scores.push(score(
                vector,
                Some(version),
                data.get("baseScore").and_then(Value::as_f64),
                Vec::new(),
                str_of(m, "source").map(str::to_string),
                &format!("{at}/metrics/{key}/{i}/cvssData/vectorString"),
                &mut problems,
            ));
        }
    }
    for configuration in arr(cve, "configurations") {
        for node in arr(configuration, "nodes") {
            for m in arr(node, "cpeMatch") {
                if m.get("vulnerable").and_then(Value::as_bool) != Some(true) {
                    continue;
                }
                if let Some(product) = cpe_product(m) {
                    vuln.affected.push(product);
                }
            }
        }
    }
    vuln.references = arr(cve, "references")
        .iter()
        .filter_map(|r| {
            Some(Reference {
                url: str_of(r, "url")?.to_string(),
                summary: str_of(r, "source").map(str::to_string),
            })
        })
        .collect();
    let modified = str_of(cve, "lastModified");
    let advisory = Advisory {
        format: Format::Nvd,
        id: id.clone(),
        title,
        publisher: Some("NVD".into()),
        tlp: None,
        cves: vec![id],
        aliases: Vec::new(),
        initial_release: published,
        current_release: modified.and_then(parse_time).or(published),
        revision: modified.map(str::to_string),
        revision_history: Vec::new(),
        vulnerabilities: vec![vuln],
        references: Vec::new(),
    };
    Ok(Record {
        path: path.to_string(),
        parsed: Parsed { advisory, problems },
        document: json!({ "cve": cve }),
        exploited,
    })
}

/// An affected product from a `cpeMatch` entry: `cpe:2.3:a:VENDOR:PRODUCT:VERSION:…`.
fn cpe_product(m: &Value) -> Option<Product> {
    let criteria = str_of(m, "criteria")?;
    let parts: Vec<&str> = criteria.split(':').collect();
    let field = |i: usize| {
        parts
            .get(i)
            .filter(|p| !matches!(**p, "*" | "-" | ""))
            .map(|p| p.replace('_', " ").replace("\\", ""))
    };
    let (vendor, product) = (field(3), field(4));
    let bound = |key: &str| str_of(m, key).map(str::to_string);
    let (start_in, start_ex) = (
        bound("versionStartIncluding"),
        bound("versionStartExcluding"),
    );
    let (end_ex, end_in) = (bound("versionEndExcluding"), bound("versionEndIncluding"));
    let versions = if let Some(after) = &start_ex {
        let mut text = format!(">{after}");
        if let Some(e) = &end_ex {
            text.push_str(&format!(", <{e}"));
        }
        if let Some(e) = &end_in {
            text.push_str(&format!(", <={e}"));
        }
        vec![VersionSpec::Text { text }]
    } else if start_in.is_some() || end_ex.is_some() || end_in.is_some() {
        vec![VersionSpec::Range {
            scheme: None,
            introduced: start_in,
            fixed: end_ex,
            last_affected: end_in,
        }]
    } else {
        match parts.get(5).filter(|p| !matches!(**p, "*" | "-" | "")) {
            Some(v) => vec![VersionSpec::Exact {
                version: v.replace("\\", ""),
            }],
            None => Vec::new(),
        }
    };
    Some(Product {
        id: None,
        name: [vendor.as_deref(), product.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        vendor: parts.get(3).map(|s| s.to_string()),
        product: parts.get(4).map(|s| s.to_string()),
        ecosystem: None,
        cpes: vec![criteria.to_string()],
        purls: Vec::new(),
        versions,
        relationship: None,
    })
}
