//! CSAF 2.0 documents read into an [`Advisory`].
//!
//! The product tree is resolved: each product id gets its full product name, its vendor,
//! product and version from the branches above it, its CPE and purl from the product
//! identification helper, and — for relationships — the identifiers of its component.
//! Product groups are expanded wherever a document refers to them.
//!
//! Reading does not validate: [`crate::schema`] and [`crate::checks`] do that. A part that
//! cannot be read (a score without vector, a date that does not parse) is skipped and
//! reported as a [`Problem`]; only a document without `document.tracking.id` is an error.
//!
//! ```
//! let doc = serde_json::json!({
//!     "document": {
//!         "category": "csaf_base", "csaf_version": "2.0", "title": "Example",
//!         "publisher": {"category": "vendor", "name": "Example Co", "namespace": "https://example.com"},
//!         "distribution": {"tlp": {"label": "AMBER"}},
//!         "tracking": {"id": "EX-1", "version": "2", "status": "final",
//!             "initial_release_date": "2020-01-01T00:00:00Z",
//!             "current_release_date": "2020-01-02T00:00:00Z",
//!             "revision_history": [
//!                 {"number": "1", "date": "2020-01-01T00:00:00Z", "summary": "first"},
//!                 {"number": "2", "date": "2020-01-02T00:00:00Z", "summary": "fix"}]}
//!     },
//!     "product_tree": {"branches": [{"category": "vendor", "name": "Example Co", "branches": [
//!         {"category": "product_name", "name": "Gateway", "branches": [
//!             {"category": "product_version", "name": "13.0", "product": {
//!                 "name": "Example Gateway 13.0", "product_id": "P1",
//!                 "product_identification_helper": {"cpe": "cpe:2.3:a:example:gateway:13.0:*:*:*:*:*:*:*"}}}]}]}]},
//!     "vulnerabilities": [{"cve": "CVE-2019-19781",
//!         "product_status": {"known_affected": ["P1"]},
//!         "scores": [{"products": ["P1"], "cvss_v3": {"version": "3.1", "baseScore": 9.8,
//!             "baseSeverity": "CRITICAL",
//!             "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}]}]
//! });
//! let parsed = baken_advisory::csaf::read(&doc).unwrap();
//! let a = &parsed.advisory;
//! assert_eq!(a.tlp, Some(baken_model::Tlp::Amber));
//! assert_eq!(a.cves, ["CVE-2019-19781"]);
//! let affected = &a.vulnerabilities[0].affected[0];
//! assert_eq!(affected.vendor.as_deref(), Some("Example Co"));
//! assert_eq!(affected.cpes, ["cpe:2.3:a:example:gateway:13.0:*:*:*:*:*:*:*"]);
//! assert_eq!(a.vulnerabilities[0].scores[0].computed.as_ref().unwrap().base_score, 9.8);
//! assert!(parsed.problems.is_empty());
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::cvss::CvssVersion;
use crate::model::{
    Advisory, Format, Parsed, Problem, Product, ReadError, Reference, Relationship, Remediation,
    Revision, VersionSpec, Vulnerability, parse_time, score,
};

/// The CSAF product status categories and where each lands in a [`Vulnerability`].
const STATUS: [(&str, Status); 8] = [
    ("known_affected", Status::Affected),
    ("first_affected", Status::Affected),
    ("last_affected", Status::Affected),
    ("fixed", Status::Fixed),
    ("first_fixed", Status::Fixed),
    ("known_not_affected", Status::NotAffected),
    ("under_investigation", Status::UnderInvestigation),
    ("recommended", Status::Fixed),
];

#[derive(Clone, Copy)]
enum Status {
    Affected,
    Fixed,
    NotAffected,
    UnderInvestigation,
}

/// The resolved product tree of a CSAF document.
#[derive(Debug, Clone, Default)]
pub struct ProductTree {
    /// Products by product id.
    pub products: BTreeMap<String, Product>,
    /// Product ids by product group id.
    pub groups: HashMap<String, Vec<String>>,
}

impl ProductTree {
    /// Resolves `product_tree` of a CSAF document (`Value::Null` gives an empty tree).
    pub fn resolve(tree: &Value) -> Self {
        let mut out = ProductTree::default();
        for (i, b) in arr(tree, "branches").iter().enumerate() {
            out.walk(b, &Ctx::default(), &format!("/product_tree/branches/{i}"));
        }
        for fpn in arr(tree, "full_product_names") {
            out.add(full_product_name(fpn, &Ctx::default()));
        }
        for rel in arr(tree, "relationships") {
            let Some(fpn) = rel.get("full_product_name") else {
                continue;
            };
            let mut product = full_product_name(fpn, &Ctx::default());
            let reference = str_of(rel, "product_reference").unwrap_or_default();
            let relates_to = str_of(rel, "relates_to_product_reference").unwrap_or_default();
            if let Some(component) = out.products.get(reference) {
                if product.cpes.is_empty() && product.purls.is_empty() {
                    product.cpes.clone_from(&component.cpes);
                    product.purls.clone_from(&component.purls);
                }
                if product.versions.is_empty() {
                    product.versions.clone_from(&component.versions);
                }
                product.vendor = product.vendor.or_else(|| component.vendor.clone());
                product.product = product.product.or_else(|| component.product.clone());
            }
            product.relationship = Some(Relationship {
                category: str_of(rel, "category").unwrap_or_default().to_string(),
                product_reference: reference.to_string(),
                relates_to: relates_to.to_string(),
            });
            out.add(product);
        }
        for g in arr(tree, "product_groups") {
            if let Some(id) = str_of(g, "group_id") {
                out.groups
                    .insert(id.to_string(), strings(g.get("product_ids")));
            }
        }
        out
    }

    fn add(&mut self, product: Product) {
        if let Some(id) = product.id.clone() {
            self.products.entry(id).or_insert(product);
        }
    }

    fn walk(&mut self, branch: &Value, ctx: &Ctx, path: &str) {
        let mut ctx = ctx.clone();
        let name = str_of(branch, "name").unwrap_or_default().to_string();
        match str_of(branch, "category").unwrap_or_default() {
            "vendor" => ctx.vendor = Some(name),
            "product_name" => ctx.product = Some(name),
            "product_family" => ctx.family = Some(name),
            "product_version" => ctx.version = Some(VersionSpec::Exact { version: name }),
            "product_version_range" => {
                ctx.version = Some(if name.starts_with("vers:") {
                    VersionSpec::Vers { vers: name }
                } else {
                    VersionSpec::Text { text: name }
                })
            }
            _ => {}
        }
        if let Some(p) = branch.get("product") {
            self.add(full_product_name(p, &ctx));
        }
        for (i, b) in arr(branch, "branches").iter().enumerate() {
            self.walk(b, &ctx, &format!("{path}/branches/{i}"));
        }
    }

    /// The product of an id; a bare product named by its id where the tree lacks it.
    pub fn product(&self, id: &str) -> Product {
        self.products.get(id).cloned().unwrap_or_else(|| Product {
            id: Some(id.to_string()),
            name: id.to_string(),
            ..Product::default()
        })
    }

    /// Product ids of `product_ids` plus those of the groups in `group_ids`, deduplicated.
    pub fn expand(&self, product_ids: Vec<String>, group_ids: &[String]) -> Vec<String> {
        let mut seen = BTreeSet::new();
        product_ids
            .into_iter()
            .chain(
                group_ids
                    .iter()
                    .flat_map(|g| self.groups.get(g).cloned().unwrap_or_default()),
            )
            .filter(|id| seen.insert(id.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, Default)]
struct Ctx {
    vendor: Option<String>,
    product: Option<String>,
    family: Option<String>,
    version: Option<VersionSpec>,
}

fn full_product_name(fpn: &Value, ctx: &Ctx) -> Product {
    let helper = fpn
        .get("product_identification_helper")
        .unwrap_or(&Value::Null);
    Product {
        id: str_of(fpn, "product_id").map(str::to_string),
        name: str_of(fpn, "name").unwrap_or_default().to_string(),
        vendor: ctx.vendor.clone(),
        product: ctx.product.clone().or_else(|| ctx.family.clone()),
        ecosystem: None,
        cpes: str_of(helper, "cpe")
            .map(str::to_string)
            .into_iter()
            .collect(),
        purls: str_of(helper, "purl")
            .map(str::to_string)
            .into_iter()
            .chain(strings(helper.get("purls")))
            .collect(),
        versions: ctx.version.clone().into_iter().collect(),
        relationship: None,
    }
}

/// Reads a CSAF 2.0 document.
pub fn read(doc: &Value) -> Result<Parsed, ReadError> {
    let document = doc.get("document").unwrap_or(&Value::Null);
    let tracking = document.get("tracking").unwrap_or(&Value::Null);
    let id = str_of(tracking, "id").ok_or_else(|| ReadError::Shape {
        format: "CSAF 2.0",
        path: "/document/tracking/id".into(),
        message: "the document has no tracking id".into(),
    })?;
    let mut problems = Vec::new();
    let mut time = |v: &Value, key: &str, path: &str| {
        let s = str_of(v, key)?;
        let t = parse_time(s);
        if t.is_none() {
            problems.push(Problem::new(
                format!("{path}/{key}"),
                "read",
                format!("{s:?} is not an RFC 3339 date-time"),
            ));
        }
        t
    };
    let initial_release = time(tracking, "initial_release_date", "/document/tracking");
    let current_release = time(tracking, "current_release_date", "/document/tracking");
    let revision_history = arr(tracking, "revision_history")
        .iter()
        .enumerate()
        .map(|(i, r)| Revision {
            number: str_of(r, "number").unwrap_or_default().to_string(),
            date: time(
                r,
                "date",
                &format!("/document/tracking/revision_history/{i}"),
            ),
            summary: str_of(r, "summary").unwrap_or_default().to_string(),
        })
        .collect();
    let tlp = match document
        .pointer("/distribution/tlp/label")
        .and_then(Value::as_str)
    {
        Some(label) => match label.parse() {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(Problem::new(
                    "/document/distribution/tlp/label",
                    "read",
                    format!("{e}"),
                ));
                None
            }
        },
        None => None,
    };
    let tree = ProductTree::resolve(doc.get("product_tree").unwrap_or(&Value::Null));
    let mut vulnerabilities = Vec::new();
    for (i, v) in arr(doc, "vulnerabilities").iter().enumerate() {
        vulnerabilities.push(vulnerability(v, i, &tree, &mut problems));
    }
    let mut cves: Vec<String> = vulnerabilities
        .iter()
        .filter_map(|v: &Vulnerability| v.cve.clone())
        .collect();
    cves.sort();
    cves.dedup();
    let mut aliases: Vec<String> = vulnerabilities.iter().flat_map(|v| v.ids.clone()).collect();
    aliases.sort();
    aliases.dedup();
    Ok(Parsed {
        advisory: Advisory {
            format: Format::Csaf,
            id: id.to_string(),
            title: str_of(document, "title").map(str::to_string),
            publisher: document
                .pointer("/publisher/name")
                .and_then(Value::as_str)
                .map(str::to_string),
            tlp,
            cves,
            aliases,
            initial_release,
            current_release,
            revision: str_of(tracking, "version").map(str::to_string),
            revision_history,
            vulnerabilities,
            references: references(document),
        },
        problems,
    })
}

fn vulnerability(
    v: &Value,
    i: usize,
    tree: &ProductTree,
    problems: &mut Vec<Problem>,
) -> Vulnerability {
    let path = format!("/vulnerabilities/{i}");
    let mut out = Vulnerability {
        cve: str_of(v, "cve").map(str::to_string),
        ids: arr(v, "ids")
            .iter()
            .filter_map(|x| str_of(x, "text").map(str::to_string))
            .collect(),
        title: str_of(v, "title").map(str::to_string),
        references: references(v),
        ..Vulnerability::default()
    };
    let status = v.get("product_status").unwrap_or(&Value::Null);
    for (key, kind) in STATUS {
        for id in strings(status.get(key)) {
            let list = match kind {
                Status::Affected => &mut out.affected,
                Status::Fixed => &mut out.fixed,
                Status::NotAffected => &mut out.not_affected,
                Status::UnderInvestigation => &mut out.under_investigation,
            };
            if !list.iter().any(|p| p.id.as_deref() == Some(&id)) {
                list.push(tree.product(&id));
            }
        }
    }
    for (j, s) in arr(v, "scores").iter().enumerate() {
        let products = strings(s.get("products"));
        let mut found = false;
        for key in ["cvss_v3", "cvss_v2"] {
            let Some(c) = s.get(key) else { continue };
            found = true;
            let spath = format!("{path}/scores/{j}/{key}");
            let Some(vector) = str_of(c, "vectorString") else {
                problems.push(Problem::new(
                    format!("{spath}/vectorString"),
                    "read",
                    "the score has no vectorString",
                ));
                continue;
            };
            let version = match str_of(c, "version") {
                Some("2.0") => Some(CvssVersion::V2),
                Some("3.0") => Some(CvssVersion::V3_0),
                Some("3.1") => Some(CvssVersion::V3_1),
                _ => None,
            };
            out.scores.push(score(
                vector,
                version,
                c.get("baseScore").and_then(Value::as_f64),
                products.clone(),
                None,
                &format!("{spath}/vectorString"),
                problems,
            ));
        }
        if !found {
            problems.push(Problem::new(
                format!("{path}/scores/{j}"),
                "read",
                "the score has neither cvss_v3 nor cvss_v2",
            ));
        }
    }
    for r in arr(v, "remediations") {
        let groups = strings(r.get("group_ids"));
        out.remediations.push(Remediation {
            category: str_of(r, "category").unwrap_or_default().to_string(),
            details: str_of(r, "details").unwrap_or_default().to_string(),
            url: str_of(r, "url").map(str::to_string),
            product_ids: tree.expand(strings(r.get("product_ids")), &groups),
        });
    }
    out
}

fn references(v: &Value) -> Vec<Reference> {
    arr(v, "references")
        .iter()
        .filter_map(|r| {
            Some(Reference {
                url: str_of(r, "url")?.to_string(),
                summary: str_of(r, "summary").map(str::to_string),
            })
        })
        .collect()
}

pub(crate) fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub(crate) fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
