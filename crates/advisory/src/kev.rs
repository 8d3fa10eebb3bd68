//! CISA's Known Exploited Vulnerabilities catalogue (its JSON feed,
//! `known_exploited_vulnerabilities.json`): which CVEs are known to be exploited, and since
//! when.
//!
//! The catalogue is `{"title", "catalogVersion", "dateReleased", "count", "vulnerabilities":
//! [{"cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded",
//! "shortDescription", "requiredAction", "dueDate", "knownRansomwareCampaignUse", "notes",
//! "cwes"}]}`. `dateAdded` (`YYYY-MM-DD`) is the day CISA added the CVE because it was
//! exploited: the date from which exploitation was known.
//!
//! **Each entry is read or rejected on its own**: an entry whose `cveID` is not a CVE id
//! or whose `dateAdded` is not a date is a [`Problem`] with its JSON path and field
//! (`/vulnerabilities/3/dateAdded`), and the other entries are kept; [`Catalog::entries`]
//! and [`Catalog::rejected`] add up to the entries of the file.
//!
//! ```
//! let doc = serde_json::json!({"title": "CISA Catalog of Known Exploited Vulnerabilities",
//!   "catalogVersion": "2020.01.31", "vulnerabilities": [
//!     {"cveID": "CVE-2019-19781", "vendorProject": "Citrix", "product": "ADC", "dateAdded": "2020-01-10"},
//!     {"cveID": "CVE-2019-11510", "dateAdded": "3 November"}]});
//! assert!(baken_advisory::kev::is_catalog(&doc));
//! let catalog = baken_advisory::kev::read(&doc);
//! assert_eq!(catalog.entries[0].cve, "CVE-2019-19781");
//! assert_eq!(catalog.rejected[0].path, "/vulnerabilities/1/dateAdded");
//! ```

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::csaf::str_of;
use crate::model::Problem;

/// One catalogue entry that was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The CVE id, upper case.
    pub cve: String,
    /// The day it was added: exploitation known from then.
    pub date_added: NaiveDate,
    /// `vendorProject`.
    pub vendor: Option<String>,
    /// `product`.
    pub product: Option<String>,
    /// `knownRansomwareCampaignUse` (`Known`, `Unknown`).
    pub ransomware: Option<String>,
}

/// A catalogue as read: its name, the entries read and the entries rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Catalog {
    /// `title` and `catalogVersion`: `CISA Catalog of Known Exploited Vulnerabilities 2020.01.31`.
    pub name: String,
    /// The entries read, in the file's order.
    pub entries: Vec<Entry>,
    /// The entries rejected, each with its JSON path and reason.
    pub rejected: Vec<Problem>,
}

/// Whether `doc` is a KEV catalogue: a `catalogVersion` and a `vulnerabilities` array.
pub fn is_catalog(doc: &Value) -> bool {
    doc.get("catalogVersion").is_some() && doc.get("vulnerabilities").is_some_and(Value::is_array)
}

/// Reads a catalogue, entry by entry.
pub fn read(doc: &Value) -> Catalog {
    let name = format!(
        "{} {}",
        str_of(doc, "title").unwrap_or("CISA Known Exploited Vulnerabilities"),
        str_of(doc, "catalogVersion").unwrap_or("")
    )
    .trim()
    .to_string();
    let mut entries = Vec::new();
    let mut rejected = Vec::new();
    let list = doc
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for (i, e) in list.iter().enumerate() {
        match entry(e) {
            Ok(entry) => entries.push(entry),
            Err((field, message)) => rejected.push(Problem::new(
                format!("/vulnerabilities/{i}{field}"),
                "kev",
                message,
            )),
        }
    }
    Catalog {
        name,
        entries,
        rejected,
    }
}

fn entry(e: &Value) -> Result<Entry, (&'static str, String)> {
    if !e.is_object() {
        return Err(("", "not a json object".into()));
    }
    let cve = str_of(e, "cveID").unwrap_or_default().trim();
    if !is_cve(cve) {
        return Err((
            "/cveID",
            format!("not a CVE id (CVE-YYYY-NNNN): {:?}", e.get("cveID")),
        ));
    }
    let date = str_of(e, "dateAdded").unwrap_or_default();
    let date_added = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
        (
            "/dateAdded",
            format!("not a date (YYYY-MM-DD): {:?}", e.get("dateAdded")),
        )
    })?;
    let text = |key: &str| {
        str_of(e, key)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(Entry {
        cve: cve.to_ascii_uppercase(),
        date_added,
        vendor: text("vendorProject"),
        product: text("product"),
        ransomware: text("knownRansomwareCampaignUse"),
    })
}

/// `CVE-YYYY-NNNN…` in any case.
pub(crate) fn is_cve(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_entry_is_read_or_rejected_with_its_path() {
        let doc = json!({"title": "T", "catalogVersion": "1", "vulnerabilities": [
            {"cveID": "cve-2021-44228", "dateAdded": "2021-12-10", "knownRansomwareCampaignUse": "Known"},
            {"cveID": "CVE-2021-4", "dateAdded": "2021-12-10"},
            {"cveID": "CVE-2021-45046", "dateAdded": "2021-13-01"},
            {"cveID": "CVE-2021-45046"},
            "x"
        ]});
        let c = read(&doc);
        assert_eq!(c.name, "T 1");
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.entries[0].cve, "CVE-2021-44228");
        assert_eq!(c.entries[0].ransomware.as_deref(), Some("Known"));
        let paths: Vec<&str> = c.rejected.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/vulnerabilities/1/cveID",
                "/vulnerabilities/2/dateAdded",
                "/vulnerabilities/3/dateAdded",
                "/vulnerabilities/4"
            ]
        );
    }
}
