//! baken's advisories: what the field publishes, read into one model, with its severity
//! explained ("9.8 — on which scale?").
//!
//! * [`cvss`] — CVSS v2.0, v3.0, v3.1 and v4.0 scores from a vector (base, temporal/threat,
//!   environmental where the vector has them) and one plain-language line per metric.
//! * [`Advisory`] — the normalised advisory: id, title, publisher, TLP, CVEs, release dates
//!   and revision history, and per vulnerability its scores, affected / fixed / not affected
//!   products (CPE, purl, version ranges), remediations and references.
//! * [`csaf`], [`cve5`], [`osv`], [`nvd`] — readers for CSAF 2.0, CVE JSON 5, OSV and
//!   NVD CVE API 2.0 records; [`read`] tells them apart. [`nvd::read_page`] reads a page of
//!   NVD records one by one.
//! * [`kev`] — CISA's Known Exploited Vulnerabilities catalogue, entry by entry.
//! * [`author`] — the CSAF 2.0 document of an advisory baken writes, from CVEs and the
//!   products they affect.
//! * [`schema`] and [`checks`] — CSAF JSON schema validation, the mandatory tests of CSAF
//!   2.0 (errors) and its optional tests (warnings), each problem with its JSON path;
//!   [`validate_csaf`] runs the schema and the mandatory tests, [`validate_csaf_report`]
//!   the optional tests too, keeping errors and warnings apart.
//!
//! **This crate does no IO**: callers read files and hand over bytes or JSON values, the
//! CSAF schema included.
//!
//! ```
//! let json = br#"{"schema_version": "1.6.0", "id": "OSV-2020-0001",
//!   "modified": "2020-01-02T00:00:00Z", "aliases": ["CVE-2019-19781"],
//!   "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
//!   "affected": []}"#;
//! let parsed = baken_advisory::read(json).unwrap();
//! assert_eq!(parsed.advisory.format, baken_advisory::Format::Osv);
//! let top = parsed.advisory.highest_score().unwrap().computed.as_ref().unwrap();
//! assert_eq!((top.base_score, top.severity.as_str()), (9.8, "CRITICAL"));
//! ```

pub mod author;
pub mod checks;
pub mod csaf;
pub mod cve5;
pub mod cvss;
pub mod kev;
mod model;
pub mod nvd;
pub mod osv;
pub mod schema;

pub use model::{
    Advisory, Format, Parsed, Problem, Product, ReadError, Reference, Relationship, Remediation,
    Revision, Score, VersionSpec, Vulnerability,
};

use serde_json::Value;

/// The format of a JSON document, told by its shape: CSAF has `document.csaf_version`,
/// CVE JSON 5 has `cveMetadata`, NVD CVE API 2.0 is `format` `NVD_CVE` or a `cve` record
/// with `sourceIdentifier` (see [`nvd::is_nvd`]), OSV has a string `id` and `modified`.
pub fn detect(doc: &Value) -> Option<Format> {
    if doc.pointer("/document/csaf_version").is_some() {
        Some(Format::Csaf)
    } else if doc.get("cveMetadata").is_some() {
        Some(Format::Cve5)
    } else if nvd::is_nvd(doc) {
        Some(Format::Nvd)
    } else if doc.get("id").is_some_and(Value::is_string)
        && (doc.get("modified").is_some() || doc.get("affected").is_some())
    {
        Some(Format::Osv)
    } else {
        None
    }
}

/// Reads a CSAF 2.0, CVE JSON 5 or OSV document from its bytes.
pub fn read(bytes: &[u8]) -> Result<Parsed, ReadError> {
    let doc: Value = serde_json::from_slice(bytes)?;
    read_value(&doc)
}

/// Reads a CSAF 2.0, CVE JSON 5 or OSV document already parsed as JSON.
pub fn read_value(doc: &Value) -> Result<Parsed, ReadError> {
    match detect(doc) {
        Some(Format::Csaf) => csaf::read(doc),
        Some(Format::Cve5) => cve5::read(doc),
        Some(Format::Osv) => osv::read(doc),
        Some(Format::Nvd) => nvd::read(doc),
        None => Err(ReadError::UnknownFormat),
    }
}

/// Validates a CSAF document: the JSON schema, then the mandatory tests of [`checks`].
/// Empty when the document passes.
pub fn validate_csaf(schema: &schema::CsafSchema, doc: &Value) -> Vec<Problem> {
    let mut problems = schema.validate(doc);
    problems.extend(checks::run(doc));
    problems
}

/// Validates a CSAF document and reviews it: errors from the JSON schema and the mandatory
/// tests (the document is invalid if there is one), warnings from the optional tests.
pub fn validate_csaf_report(schema: &schema::CsafSchema, doc: &Value) -> checks::Report {
    let mut report = checks::report(doc);
    let mut errors = schema.validate(doc);
    errors.append(&mut report.errors);
    report.errors = errors;
    report
}
