//! What an organisation runs: inventory entries read from CSV, CycloneDX and SPDX files.
//!
//! Readers take the bytes (or the path) they are handed and return the entries they could
//! read plus a list of problems, each naming the file, the line (CSV) or JSON path, and the
//! field: one bad row never drops a file. Only a problem with the whole file is an `Err`.
//!
//! # The CSV format
//!
//! A header row, then one row per installed product. Column names are case-insensitive, in
//! any order; unknown columns are ignored; lines starting with `#` are comments.
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `cpe` | one of `cpe`, `purl`, `name` | a CPE 2.3 formatted string or CPE 2.2 URI |
//! | `purl` | one of `cpe`, `purl`, `name` | a package URL |
//! | `name` | one of `cpe`, `purl`, `name` | a product name (`Citrix ADC`), matched by name only |
//! | `version` | no | the installed version; else the purl's version, else the CPE's |
//! | `host` or `ip` | no | where it runs: an IP address or a host name |
//!
//! ```csv
//! cpe,purl,version,host
//! cpe:2.3:a:citrix:application_delivery_controller:13.0:*:*:*:*:*:*:*,,13.0-47.22,198.18.0.10
//! ,pkg:deb/debian/openssl@3.0.11-1~deb12u2,,mail.example
//! ```
//!
//! # SBOMs
//!
//! * CycloneDX 1.5 / 1.6 JSON: `metadata.component` and every entry of `components`,
//!   nested components included, with its `purl`, `cpe`, `name` and `version`.
//! * SPDX 2.3 JSON: every entry of `packages` with `versionInfo` and its `externalRefs` of
//!   category `PACKAGE-MANAGER` type `purl` and category `SECURITY` type `cpe23Type` or
//!   `cpe22Type`.
//!
//! ```
//! use baken_matching::inventory::read_csv;
//! let csv = b"purl,host\npkg:npm/widget@1.4.0,198.18.0.1\nnot-a-purl,198.18.0.2\n";
//! let read = read_csv("org-1", "widgets.csv", csv).unwrap();
//! assert_eq!(read.entries.len(), 1);
//! assert_eq!(read.entries[0].version.as_deref(), Some("1.4.0"));
//! assert_eq!(read.problems[0].to_string(),
//!     r#"widgets.csv: line 3: field `purl`: purl "not-a-purl": missing scheme"#);
//! ```

use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::cpe::{Cpe, VERSION};
use crate::purl::Purl;

/// One product an organisation runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryEntry {
    /// The organisation that declared it.
    pub org: String,
    /// Its CPE name, as given.
    pub cpe: Option<String>,
    /// Its package URL, as given.
    pub purl: Option<String>,
    /// Its name, where given.
    pub name: Option<String>,
    /// The installed version: as given, else the purl's, else the CPE's.
    pub version: Option<String>,
    /// Where it runs: an IP address or host name.
    pub host: Option<String>,
    /// Where the entry was read from (file name and place).
    pub source: String,
}

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Location {
    /// The whole file.
    File,
    /// A CSV line (1-based, the header is line 1).
    Line(u64),
    /// A JSON pointer.
    Json(String),
}

/// A problem reading an inventory: the whole file (as `Err`) or one entry (in
/// [`Inventory::problems`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct InventoryError {
    /// The file.
    pub file: String,
    /// Where in it.
    pub location: Location,
    /// The field (CSV column, JSON member), where one is to blame.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        match &self.location {
            Location::File => {}
            Location::Line(l) => write!(f, ": line {l}")?,
            Location::Json(p) => write!(f, ": {}", if p.is_empty() { "/" } else { p })?,
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl InventoryError {
    fn file(file: &str, message: impl Into<String>) -> Self {
        InventoryError {
            file: file.to_string(),
            location: Location::File,
            field: None,
            message: message.into(),
        }
    }
}

/// What a reader read: the entries and the problems of entries it skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The entries read.
    pub entries: Vec<InventoryEntry>,
    /// One per skipped entry or field.
    pub problems: Vec<InventoryError>,
}

/// The formats readers know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum InventoryFormat {
    /// CSV as documented in this module.
    Csv,
    /// CycloneDX JSON.
    CycloneDx,
    /// SPDX JSON.
    Spdx,
}

/// Reads a file, telling the format by its extension (`.csv`) or its JSON content
/// (`bomFormat` for CycloneDX, `spdxVersion` for SPDX).
pub fn read_path(org: &str, path: &Path) -> Result<Inventory, InventoryError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InventoryError::file(&name, format!("cannot read: {e}")))?;
    read(org, &name, &bytes)
}

/// Reads an inventory from its bytes; `source` names it in entries and problems.
pub fn read(org: &str, source: &str, bytes: &[u8]) -> Result<Inventory, InventoryError> {
    match detect(source, bytes) {
        Some(InventoryFormat::Csv) => read_csv(org, source, bytes),
        Some(InventoryFormat::CycloneDx) => read_cyclonedx(org, source, bytes),
        Some(InventoryFormat::Spdx) => read_spdx(org, source, bytes),
        None => Err(InventoryError::file(
            source,
            "not a CSV (.csv), CycloneDX (bomFormat) or SPDX (spdxVersion) inventory",
        )),
    }
}

/// The format of a file, by extension or content.
pub fn detect(source: &str, bytes: &[u8]) -> Option<InventoryFormat> {
    if source.to_ascii_lowercase().ends_with(".csv") {
        return Some(InventoryFormat::Csv);
    }
    let head = &bytes[..bytes.len().min(4096)];
    let head = String::from_utf8_lossy(head);
    if !head.trim_start().starts_with('{') {
        return head
            .lines()
            .next()
            .is_some_and(|l| {
                l.split(',')
                    .any(|c| matches!(c.trim().to_ascii_lowercase().as_str(), "cpe" | "purl"))
            })
            .then_some(InventoryFormat::Csv);
    }
    if head.contains("\"bomFormat\"") {
        Some(InventoryFormat::CycloneDx)
    } else if head.contains("\"spdxVersion\"") {
        Some(InventoryFormat::Spdx)
    } else {
        None
    }
}

/// Reads the CSV format documented in this module.
pub fn read_csv(org: &str, source: &str, bytes: &[u8]) -> Result<Inventory, InventoryError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| InventoryError::file(source, format!("cannot read the header: {e}")))?
        .clone();
    let col = |names: &[&str]| {
        headers
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let (cpe_col, purl_col, name_col) = (col(&["cpe"]), col(&["purl"]), col(&["name"]));
    let (version_col, host_col) = (col(&["version"]), col(&["host", "ip"]));
    if cpe_col.is_none() && purl_col.is_none() && name_col.is_none() {
        return Err(InventoryError {
            file: source.to_string(),
            location: Location::Line(1),
            field: None,
            message: "the header names no `cpe`, `purl` or `name` column".to_string(),
        });
    }
    let mut out = Inventory::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.problems.push(InventoryError {
                    file: source.to_string(),
                    location: Location::Line(line),
                    field: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let problem = |field: &str, message: String| InventoryError {
            file: source.to_string(),
            location: Location::Line(line),
            field: Some(field.to_string()),
            message,
        };
        let raw = RawEntry {
            cpe: get(cpe_col),
            purl: get(purl_col),
            name: get(name_col),
            version: get(version_col),
            host: get(host_col),
        };
        match raw.into_entry(org, format!("{source}:{line}")) {
            Ok(e) => out.entries.push(e),
            Err((field, message)) => out.problems.push(problem(field, message)),
        }
    }
    Ok(out)
}

struct RawEntry {
    cpe: Option<String>,
    purl: Option<String>,
    name: Option<String>,
    version: Option<String>,
    host: Option<String>,
}

impl RawEntry {
    /// Validates identifiers and fills the version from the purl or CPE.
    fn into_entry(
        self,
        org: &str,
        source: String,
    ) -> Result<InventoryEntry, (&'static str, String)> {
        if self.cpe.is_none() && self.purl.is_none() && self.name.is_none() {
            return Err(("cpe", "no cpe, purl or name: nothing to match".to_string()));
        }
        let mut version = self.version;
        if let Some(p) = &self.purl {
            let purl = p.parse::<Purl>().map_err(|e| ("purl", e.to_string()))?;
            version = version.or_else(|| purl.version().map(str::to_string));
        }
        if let Some(c) = &self.cpe {
            let cpe = c.parse::<Cpe>().map_err(|e| ("cpe", e.to_string()))?;
            version = version.or_else(|| cpe.attributes[VERSION].literal().map(str::to_string));
        }
        Ok(InventoryEntry {
            org: org.to_string(),
            cpe: self.cpe,
            purl: self.purl,
            name: self.name,
            version,
            host: self.host,
            source,
        })
    }
}

fn parse_json(source: &str, bytes: &[u8]) -> Result<Value, InventoryError> {
    serde_json::from_slice(bytes).map_err(|e| InventoryError {
        file: source.to_string(),
        location: Location::File,
        field: None,
        message: format!("not JSON: {e}"),
    })
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Reads a CycloneDX 1.5 / 1.6 JSON SBOM.
pub fn read_cyclonedx(org: &str, source: &str, bytes: &[u8]) -> Result<Inventory, InventoryError> {
    let doc = parse_json(source, bytes)?;
    let field_err = |path: &str, field: &str, message: String| InventoryError {
        file: source.to_string(),
        location: Location::Json(path.to_string()),
        field: Some(field.to_string()),
        message,
    };
    if str_at(&doc, "bomFormat") != Some("CycloneDX") {
        return Err(field_err(
            "",
            "bomFormat",
            "must be \"CycloneDX\"".to_string(),
        ));
    }
    match str_at(&doc, "specVersion") {
        Some(v) if v.starts_with("1.") => {}
        other => {
            return Err(field_err(
                "",
                "specVersion",
                format!("{other:?} is not a CycloneDX 1.x version (1.5 or 1.6 expected)"),
            ));
        }
    }
    let mut out = Inventory::default();
    let mut stack: Vec<(String, &Value)> = Vec::new();
    if let Some(list) = doc.get("components").and_then(Value::as_array) {
        for (i, c) in list.iter().enumerate().rev() {
            stack.push((format!("/components/{i}"), c));
        }
    }
    if let Some(c) = doc.pointer("/metadata/component") {
        stack.push(("/metadata/component".to_string(), c));
    }
    while let Some((path, c)) = stack.pop() {
        if let Some(list) = c.get("components").and_then(Value::as_array) {
            for (i, child) in list.iter().enumerate().rev() {
                stack.push((format!("{path}/components/{i}"), child));
            }
        }
        let raw = RawEntry {
            cpe: str_at(c, "cpe").map(str::to_string),
            purl: str_at(c, "purl").map(str::to_string),
            name: str_at(c, "name").map(|n| match str_at(c, "group") {
                Some(g) => format!("{g} {n}"),
                None => n.to_string(),
            }),
            version: str_at(c, "version").map(str::to_string),
            host: None,
        };
        match raw.into_entry(org, format!("{source}#{path}")) {
            Ok(e) => out.entries.push(e),
            Err((field, message)) => out.problems.push(field_err(&path, field, message)),
        }
    }
    Ok(out)
}

/// Reads an SPDX 2.3 JSON document.
pub fn read_spdx(org: &str, source: &str, bytes: &[u8]) -> Result<Inventory, InventoryError> {
    let doc = parse_json(source, bytes)?;
    let field_err = |path: &str, field: &str, message: String| InventoryError {
        file: source.to_string(),
        location: Location::Json(path.to_string()),
        field: Some(field.to_string()),
        message,
    };
    match str_at(&doc, "spdxVersion") {
        Some(v) if v.starts_with("SPDX-2.") => {}
        other => {
            return Err(field_err(
                "",
                "spdxVersion",
                format!("{other:?} is not an SPDX 2.x version (SPDX-2.3 expected)"),
            ));
        }
    }
    let mut out = Inventory::default();
    let packages = doc
        .get("packages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, p) in packages.iter().enumerate() {
        let path = format!("/packages/{i}");
        // each identifier with the index of the external reference it came from
        let mut purl: Option<(String, usize)> = None;
        let mut cpe: Option<(String, usize)> = None;
        let refs = p
            .get("externalRefs")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (j, r) in refs.iter().enumerate() {
            let category = str_at(r, "referenceCategory").unwrap_or_default();
            let ty = str_at(r, "referenceType").unwrap_or_default();
            let Some(locator) = str_at(r, "referenceLocator") else {
                continue;
            };
            let slot = match (category.replace('_', "-").as_str(), ty) {
                ("PACKAGE-MANAGER", "purl") => &mut purl,
                ("SECURITY", "cpe23Type" | "cpe22Type") => &mut cpe,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some((locator.to_string(), j));
            }
        }
        let place = |field: &str| {
            let slot = if field == "purl" { &purl } else { &cpe };
            match slot {
                Some((_, j)) => (format!("{path}/externalRefs/{j}"), "referenceLocator"),
                None => (path.clone(), "name"),
            }
        };
        let raw = RawEntry {
            cpe: cpe.clone().map(|c| c.0),
            purl: purl.clone().map(|p| p.0),
            name: str_at(p, "name").map(str::to_string),
            version: str_at(p, "versionInfo").map(str::to_string),
            host: None,
        };
        match raw.into_entry(org, format!("{source}#{path}")) {
            Ok(e) => out.entries.push(e),
            Err((field, message)) => {
                let (at, field) = place(field);
                out.problems.push(field_err(&at, field, message))
            }
        }
    }
    Ok(out)
}
