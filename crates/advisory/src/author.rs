//! CSAF 2.0 security advisories that baken authors: from a CVE and the products it
//! affects, a document that passes the JSON schema and the mandatory tests ([`crate::validate_csaf`]).
//!
//! A product is given as `vendor/product/versions`, the versions separated by commas: each
//! an exact version (`13.0`) or a range in `vers` form or a comparison (`<13.0.47.24`,
//! `>=12.1|<12.1.55.18`, `vers:semver/<2.4.50`), written as the product tree's
//! `product_version` and `product_version_range` branches (a range is never a
//! `product_version`, test 6.1.31). Without versions, the product itself is affected.
//!
//! ```
//! use baken_advisory::author::{Draft, ProductSpec, csaf};
//! let draft = Draft {
//!     id: "NCSC-2026-0001".into(),
//!     title: "Remote code execution in Example Gateway".into(),
//!     cves: vec!["CVE-2019-19781".into()],
//!     products: vec![ProductSpec::parse("Example/Gateway/13.0,<13.0.47.24").unwrap()],
//!     description: None,
//!     cvss: None,
//!     tlp: "WHITE".into(),
//!     publisher_name: "Example CSIRT".into(),
//!     publisher_namespace: "https://csirt.example".into(),
//!     released: chrono::DateTime::parse_from_rfc3339("2026-03-24T10:00:00Z").unwrap().into(),
//! };
//! let doc = csaf(&draft).unwrap();
//! assert_eq!(doc["document"]["tracking"]["id"], "NCSC-2026-0001");
//! assert!(baken_advisory::checks::run(&doc).is_empty());
//! ```

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// One affected product: `vendor/product/versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSpec {
    /// The vendor.
    pub vendor: String,
    /// The product.
    pub product: String,
    /// Exact versions and ranges; empty for the product as a whole.
    pub versions: Vec<String>,
}

impl ProductSpec {
    /// Reads `vendor/product` or `vendor/product/v1,v2,<v3`.
    pub fn parse(spec: &str) -> Result<ProductSpec, String> {
        let mut parts = spec.splitn(3, '/');
        let vendor = parts.next().unwrap_or_default().trim();
        let product = parts.next().unwrap_or_default().trim();
        if vendor.is_empty() || product.is_empty() {
            return Err(format!(
                "product {spec:?}: write it vendor/product or vendor/product/versions (versions separated by commas, ranges like <1.4)"
            ));
        }
        let versions = parts
            .next()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect();
        Ok(ProductSpec {
            vendor: vendor.into(),
            product: product.into(),
            versions,
        })
    }
}

/// What an authored advisory says.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The tracking id (`NCSC-2026-0001`).
    pub id: String,
    /// The title.
    pub title: String,
    /// The CVEs, one vulnerability each.
    pub cves: Vec<String>,
    /// The affected products (of every CVE).
    pub products: Vec<ProductSpec>,
    /// What the vulnerability is; a sentence naming the CVEs and products when `None`.
    pub description: Option<String>,
    /// A CVSS v3.x vector, scored for every product.
    pub cvss: Option<String>,
    /// The TLP label (CSAF 2.0 knows WHITE, GREEN, AMBER, RED; CLEAR is written WHITE).
    pub tlp: String,
    /// The publisher's name.
    pub publisher_name: String,
    /// The publisher's namespace (a URL).
    pub publisher_namespace: String,
    /// When it is released: the initial and current release date.
    pub released: DateTime<Utc>,
}

/// The CSAF 2.0 document of `draft`: category `csaf_security_advisory`, status `final`,
/// version `1`, the publisher a `coordinator`.
pub fn csaf(draft: &Draft) -> Result<Value, String> {
    if draft.cves.is_empty() {
        return Err("an advisory names at least one CVE (--cve)".into());
    }
    for cve in &draft.cves {
        if !crate::kev::is_cve(cve) {
            return Err(format!("{cve:?} is not a CVE id (CVE-YYYY-NNNN)"));
        }
    }
    if draft.products.is_empty() {
        return Err(
            "an advisory names at least one affected product (--product vendor/product/versions)"
                .into(),
        );
    }
    let tlp = match draft.tlp.to_ascii_uppercase().trim_start_matches("TLP:") {
        "CLEAR" | "WHITE" => "WHITE".to_string(),
        t @ ("GREEN" | "AMBER" | "RED") => t.to_string(),
        other => {
            return Err(format!(
                "TLP {other:?}: CSAF 2.0 knows WHITE (CLEAR), GREEN, AMBER and RED"
            ));
        }
    };
    let released = draft.released.to_rfc3339_opts(SecondsFormat::Secs, true);

    let mut ids = Vec::new();
    let mut vendors: Vec<Value> = Vec::new();
    for spec in &draft.products {
        let full = format!("{} {}", spec.vendor, spec.product);
        let product_branch = if spec.versions.is_empty() {
            let id = format!("CSAFPID-{:04}", ids.len() + 1);
            ids.push(id.clone());
            json!({"category": "product_name", "name": spec.product,
                   "product": {"product_id": id, "name": full}})
        } else {
            let mut leaves = Vec::new();
            for v in &spec.versions {
                let id = format!("CSAFPID-{:04}", ids.len() + 1);
                ids.push(id.clone());
                let (category, name) = match version_range(v) {
                    Some(vers) => ("product_version_range", vers),
                    None => ("product_version", v.clone()),
                };
                leaves.push(json!({"category": category, "name": name,
                    "product": {"product_id": id, "name": format!("{full} {v}")}}));
            }
            json!({"category": "product_name", "name": spec.product, "branches": leaves})
        };
        match vendors
            .iter_mut()
            .find(|v| v["name"] == spec.vendor.as_str())
        {
            Some(vendor) => vendor["branches"]
                .as_array_mut()
                .expect("a vendor branch has branches")
                .push(product_branch),
            None => vendors.push(json!({"category": "vendor", "name": spec.vendor,
                                        "branches": [product_branch]})),
        }
    }
    let names: Vec<String> = draft
        .products
        .iter()
        .map(|s| format!("{} {}", s.vendor, s.product))
        .collect();
    let score = match &draft.cvss {
        None => None,
        Some(vector) => {
            let c = crate::cvss::compute(vector).map_err(|e| format!("--cvss {vector}: {e}"))?;
            let version = match vector.split('/').next() {
                Some("CVSS:3.1") => "3.1",
                Some("CVSS:3.0") => "3.0",
                _ => return Err(format!("--cvss {vector}: give a CVSS v3.0 or v3.1 vector")),
            };
            Some(json!({"products": ids, "cvss_v3": {
                "version": version, "vectorString": vector,
                "baseScore": c.base_score, "baseSeverity": c.severity.as_str()}}))
        }
    };
    let vulnerabilities: Vec<Value> = draft
        .cves
        .iter()
        .map(|cve| {
            let cve = cve.to_ascii_uppercase();
            let text = draft
                .description
                .clone()
                .unwrap_or_else(|| format!("{cve} affects {}.", names.join(", ")));
            let mut v = json!({
                "cve": cve,
                "notes": [{"category": "description", "title": "Description", "text": text}],
                "product_status": {"known_affected": ids},
                "references": [{"category": "external", "summary": cve,
                                "url": format!("https://www.cve.org/CVERecord?id={cve}")}],
            });
            if let Some(score) = &score {
                v["scores"] = json!([score]);
            }
            v
        })
        .collect();
    let cve_list = draft
        .cves
        .iter()
        .map(|c| c.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "title": draft.title,
            "lang": "en",
            "publisher": {
                "category": "coordinator",
                "name": draft.publisher_name,
                "namespace": draft.publisher_namespace,
            },
            "distribution": {"tlp": {"label": tlp, "url": "https://www.first.org/tlp/"}},
            "notes": [{"category": "summary", "title": "Summary",
                       "text": format!("{} ({cve_list}) in {}.", draft.title, names.join(", "))}],
            "references": draft.cves.iter().map(|c| json!({
                "category": "external",
                "summary": format!("{} in the CVE list", c.to_ascii_uppercase()),
                "url": format!("https://www.cve.org/CVERecord?id={}", c.to_ascii_uppercase()),
            })).collect::<Vec<_>>(),
            "tracking": {
                "id": draft.id,
                "status": "final",
                "version": "1",
                "initial_release_date": released,
                "current_release_date": released,
                "revision_history": [{"number": "1", "date": released, "summary": "Initial release."}],
                "generator": {"engine": {"name": "baken", "version": env!("CARGO_PKG_VERSION")}},
            },
        },
        "product_tree": {"branches": vendors},
        "vulnerabilities": vulnerabilities,
    }))
}

/// A version range as a `vers` string, or `None` for an exact version: `vers:…` as it is,
/// `<1.4` and `>=1.0|<1.4` as `vers:generic/…`.
fn version_range(v: &str) -> Option<String> {
    if v.starts_with("vers:") {
        return Some(v.to_string());
    }
    if v.starts_with(['<', '>', '!']) {
        return Some(format!("vers:generic/{}", v.replace(' ', "")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_read_from_their_spec() {
        let p = ProductSpec::parse("Citrix/ADC/13.0, <13.0.47.24").unwrap();
        assert_eq!((p.vendor.as_str(), p.product.as_str()), ("Citrix", "ADC"));
        assert_eq!(p.versions, ["13.0", "<13.0.47.24"]);
        assert!(ProductSpec::parse("Citrix").is_err());
        assert_eq!(
            ProductSpec::parse("a/b").unwrap().versions,
            Vec::<String>::new()
        );
    }

    #[test]
    fn ranges_are_vers() {
        assert_eq!(version_range("13.0"), None);
        assert_eq!(
            version_range(">=12.1|<12.1.55.18").as_deref(),
            Some("vers:generic/>=12.1|<12.1.55.18")
        );
        assert_eq!(
            version_range("vers:semver/<2.4.50").as_deref(),
            Some("vers:semver/<2.4.50")
        );
    }
}
