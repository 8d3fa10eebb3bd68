//! The cyber dependency picture: which organisations depend on which vendors and products, in
//! which countries, how concentrated each sector is, which non-vital suppliers carry vital
//! providers — and, for one vendor, the blast radius: who would be affected and through which
//! paths the current policy reaches them, before any scan has run.
//!
//! Everything comes from what baken already holds: the inventories and SBOMs organisations
//! declared (vendor and product from each entry's CPE or purl), the registry (sector, vital),
//! the routing table and RPSL data (who routes and holds the addresses), and a
//! [`VendorTable`] (vendor → country of headquarters; one is shipped, a user's file adds to it).
//!
//! ```
//! use baken_pipeline::dependencies::{VendorTable, identify};
//! let vendors = VendorTable::shipped();
//! assert_eq!(vendors.get("citrix").unwrap().country.as_deref(), Some("US"));
//! let (vendor, product) = identify(
//!     Some("cpe:2.3:o:citrix:application_delivery_controller_firmware:13.0:*:*:*:*:*:*:*"),
//!     None,
//! )
//! .unwrap();
//! assert_eq!((vendor.as_str(), product.as_str()), ("citrix", "application_delivery_controller_firmware"));
//! ```
//!
//! The figures, defined:
//!
//! - an organisation *depends on* a vendor when one entry of its inventory names the vendor;
//!   only registered organisations of kind `organisation` count (not CERTs, hosters,
//!   supervisors);
//! - a vendor's *vital share* is the number of vital providers depending on it over the
//!   number of vital providers that declared an inventory (those that declared nothing say
//!   nothing about their vendors);
//! - a sector's *Herfindahl–Hirschman index* is Σ (100·sᵥ)² over its vendors, sᵥ being vendor
//!   v's share of the sector's organisation–vendor dependencies (0 to 10,000; above 1,800
//!   highly concentrated, 1,000 to 1,800 moderately, as the 2023 US Merger Guidelines put it);
//! - a country's share is the share of all organisation–vendor dependencies on vendors
//!   headquartered there.

mod html;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use baken_attribute::Attributor;
use baken_matching::cpe::Cpe;
use baken_matching::purl::Purl;
use baken_model::{Attribution, Event, OrgId, OrgKind, Organisation, Owner, Rule, Tlp};
use baken_policy::Policy;
use baken_store::{Finding, FindingState, InventoryRecord};
use serde::Serialize;

use crate::PipelineError;
use crate::plan::{self, Affected, Coverage};

pub use html::html;

/// The vendor table shipped with baken (`crates/pipeline/data/vendors.csv`).
const SHIPPED_VENDORS: &str = include_str!("../data/vendors.csv");

/// Shown for a vendor the table has no country for.
pub const UNKNOWN_COUNTRY: &str = "unknown";

/// What the table knows of one vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorInfo {
    /// The company's name.
    pub name: String,
    /// The country of its headquarters (ISO 3166-1 alpha-2), when known.
    pub country: Option<String>,
    /// Where that comes from.
    pub source: String,
}

/// Vendor (a CPE vendor or purl namespace, lower-case) → company and country of headquarters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorTable {
    vendors: BTreeMap<String, VendorInfo>,
}

impl VendorTable {
    /// The table shipped with baken.
    pub fn shipped() -> VendorTable {
        let (table, problems) = VendorTable::parse(SHIPPED_VENDORS, "vendors.csv");
        debug_assert!(problems.is_empty(), "{problems:?}");
        table
    }

    /// Reads a table of `vendor,name,country,source` rows (`#` starts a comment line; an
    /// empty country is unknown). Returns what it could read and a problem per row it could
    /// not, naming `origin` and the line.
    pub fn parse(text: &str, origin: &str) -> (VendorTable, Vec<String>) {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .comment(Some(b'#'))
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut vendors = BTreeMap::new();
        let mut problems = Vec::new();
        for row in reader.records() {
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{origin}: {e}"));
                    continue;
                }
            };
            let line = row.position().map_or(0, |p| p.line());
            let cell = |i: usize| row.get(i).unwrap_or("").to_string();
            let vendor = cell(0).to_lowercase();
            if vendor == "vendor" && cell(2).eq_ignore_ascii_case("country") {
                continue; // a header, wherever the comments above it end
            }
            if vendor.is_empty() || row.len() < 3 {
                problems.push(format!(
                    "{origin}:{line}: expected vendor,name,country[,source], e.g. citrix,Citrix Systems,US,\"its annual report\""
                ));
                continue;
            }
            let country = cell(2).to_uppercase();
            let alpha_2 = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
            if !country.is_empty() && !alpha_2 {
                problems.push(format!(
                    "{origin}:{line}: field \"country\": {country:?} is not an ISO 3166-1 alpha-2 code such as NL or US"
                ));
                continue;
            }
            vendors.insert(
                vendor,
                VendorInfo {
                    name: cell(1),
                    country: (!country.is_empty()).then_some(country),
                    source: cell(3),
                },
            );
        }
        (VendorTable { vendors }, problems)
    }

    /// This table with `other`'s rows added, replacing rows of the same vendor.
    pub fn with(mut self, other: VendorTable) -> VendorTable {
        self.vendors.extend(other.vendors);
        self
    }

    /// What the table knows of `vendor`.
    pub fn get(&self, vendor: &str) -> Option<&VendorInfo> {
        self.vendors.get(vendor)
    }

    /// How many vendors it knows.
    pub fn len(&self) -> usize {
        self.vendors.len()
    }

    /// Whether it knows none.
    pub fn is_empty(&self) -> bool {
        self.vendors.is_empty()
    }
}

/// The vendor and product an inventory entry names, from its CPE (vendor and product
/// attributes) or else its purl (the namespace's organisation — `apache` of
/// `org.apache.logging.log4j` — or the namespace itself, e.g. a Linux distribution; a package
/// without a namespace is its own vendor). `None` when neither names a vendor.
pub fn identify(cpe: Option<&str>, purl: Option<&str>) -> Option<(String, String)> {
    if let Some(cpe) = cpe.and_then(|c| c.parse::<Cpe>().ok())
        && let (Some(vendor), Some(product)) = (cpe.vendor().literal(), cpe.product().literal())
    {
        return Some((vendor.to_lowercase(), product.to_lowercase()));
    }
    let purl = purl?.parse::<Purl>().ok()?;
    let key = purl.key();
    let namespace = key.namespace.trim_start_matches('@').to_lowercase();
    let parts: Vec<&str> = namespace.split('/').filter(|p| !p.is_empty()).collect();
    let vendor = match parts.as_slice() {
        [] => key.name.to_lowercase(),
        // a host and an owner (Go, GitHub): github.com/gin-gonic → gin-gonic
        [host, owner, ..] if host.contains('.') => owner.to_string(),
        // reverse DNS (Maven): org.apache.logging.log4j → apache
        [one] if one.contains('.') => one.split('.').nth(1).unwrap_or(one).to_string(),
        [first, ..] => first.to_string(),
    };
    Some((vendor, key.name.to_lowercase()))
}

/// What to compute.
#[derive(Debug, Clone, Default)]
pub struct DependencyOptions {
    /// Only the organisations of this sector.
    pub sector: Option<String>,
    /// The blast radius of this vendor.
    pub vendor: Option<String>,
    /// Only this product of the vendor (CPE product or package name).
    pub product: Option<String>,
    /// The label the blast radius is planned with (as an advisory about the vendor would
    /// carry).
    pub tlp: Option<Tlp>,
}

/// One product and who depends on it.
#[derive(Debug, Clone, Serialize)]
pub struct ProductDependence {
    /// The product (CPE product or package name).
    pub product: String,
    /// The organisations depending on it, by registry id.
    pub organisations: Vec<String>,
    /// Of those, vital providers.
    pub vital: usize,
    /// Of those, not vital.
    pub non_vital: usize,
    /// Organisations per sector.
    pub sectors: BTreeMap<String, usize>,
}

/// One vendor and who depends on it.
#[derive(Debug, Clone, Serialize)]
pub struct VendorDependence {
    /// The vendor as CPEs and purls name it.
    pub vendor: String,
    /// The company, from the vendor table (the vendor itself when the table lacks it).
    pub name: String,
    /// Country of headquarters, when the table knows it.
    pub country: Option<String>,
    /// Organisations depending on it.
    pub organisations: usize,
    /// Of those, vital providers.
    pub vital: usize,
    /// Of those, not vital.
    pub non_vital: usize,
    /// Vital providers depending on it over the vital providers that declared an inventory.
    pub vital_share: f64,
    /// Organisations per sector.
    pub sectors: BTreeMap<String, usize>,
    /// Per product, most depended on first.
    pub products: Vec<ProductDependence>,
}

/// Dependence on the vendors of one country.
#[derive(Debug, Clone, Serialize)]
pub struct CountryDependence {
    /// ISO 3166-1 alpha-2 code, or `unknown`.
    pub country: String,
    /// The vendors headquartered there.
    pub vendors: Vec<String>,
    /// Organisations depending on at least one of them.
    pub organisations: usize,
    /// Of those, vital providers.
    pub vital: usize,
    /// Vital providers depending on one of them over the vital providers that declared an
    /// inventory.
    pub vital_share: f64,
    /// Its share of all organisation–vendor dependencies.
    pub share: f64,
}

/// How concentrated one sector's dependencies are.
#[derive(Debug, Clone, Serialize)]
pub struct SectorConcentration {
    /// The sector.
    pub sector: String,
    /// Its organisations that declared an inventory.
    pub organisations: usize,
    /// Of those, vital providers.
    pub vital: usize,
    /// Organisation–vendor dependencies.
    pub dependencies: usize,
    /// Herfindahl–Hirschman index over the vendors' shares of those (0–10,000).
    pub hhi: f64,
    /// The same over the vital providers' dependencies only (`None` without any).
    pub hhi_vital: Option<f64>,
    /// `unconcentrated`, `moderately concentrated` or `highly concentrated`.
    pub level: &'static str,
    /// The vendor with the largest share.
    pub top_vendor: Option<String>,
    /// Its share.
    pub top_share: f64,
}

/// One vendor's share of the vital providers.
#[derive(Debug, Clone, Serialize)]
pub struct VendorShare {
    /// The vendor.
    pub vendor: String,
    /// Vital providers depending on it over the vital providers that declared an inventory.
    pub vital_share: f64,
}

/// Concentration: per vendor among vital providers, per sector over vendors.
#[derive(Debug, Clone, Serialize)]
pub struct Concentration {
    /// Vital providers in scope.
    pub vital_providers: usize,
    /// Of those, with a declared inventory (the denominator of every vital share).
    pub vital_with_inventory: usize,
    /// Vendors by their share of vital providers, largest first (vendors no vital provider
    /// depends on are left out).
    pub vital_share_by_vendor: Vec<VendorShare>,
    /// Per sector.
    pub sectors: Vec<SectorConcentration>,
}

/// A supplier that carries vital providers without being one.
#[derive(Debug, Clone, Serialize)]
pub struct Supplier {
    /// A registry id, `rpsl-abuse:ADDRESS` for a holder known only from RPSL, or `AS…` for an
    /// AS nobody registered.
    pub id: String,
    /// Its name (registry, RPSL holder, or the AS).
    pub name: String,
    /// How vital providers depend on it: `hosting` (holds addresses where their systems run),
    /// `network` (announces the route to their addresses).
    pub kinds: BTreeSet<String>,
    /// The vital providers, by registry id.
    pub vital_providers: Vec<String>,
    /// Those per sector.
    pub sectors: BTreeMap<String, usize>,
    /// An example of each way it was found, e.g. `198.18.1.1 routed by AS64500 (198.18.0.0/16)`.
    pub via: Vec<String>,
    /// The countries RPSL gives for the networks and ASes through which it was found (ISO
    /// 3166-1 alpha-2); empty when RPSL names none.
    pub countries: BTreeSet<String>,
}

/// Where vital providers' systems are hosted or routed: the countries RPSL gives for the
/// networks and ASes of their non-vital suppliers.
#[derive(Debug, Clone, Serialize)]
pub struct HostingCountry {
    /// ISO 3166-1 alpha-2 code, or `unknown` for suppliers RPSL gives no country for.
    pub country: String,
    /// The suppliers found there, by id.
    pub suppliers: Vec<String>,
    /// The vital providers depending on one of them.
    pub vital_providers: usize,
}

/// An IT supplier of vital providers: a vendor their inventories name.
#[derive(Debug, Clone, Serialize)]
pub struct ItSupplier {
    /// The vendor.
    pub vendor: String,
    /// The company.
    pub name: String,
    /// Country of headquarters, when known.
    pub country: Option<String>,
    /// The vital providers depending on it.
    pub vital_providers: Vec<String>,
}

/// Non-vital suppliers of vital providers.
#[derive(Debug, Clone, Serialize)]
pub struct Suppliers {
    /// Hosting providers and AS holders their addresses are held by or routed through,
    /// most vital providers first.
    pub network: Vec<Supplier>,
    /// Vendors their inventories name, most vital providers first.
    pub it: Vec<ItSupplier>,
    /// The countries of the network suppliers, most vital providers first.
    pub hosting_countries: Vec<HostingCountry>,
}

/// Affected organisations of one sector in a blast radius.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SectorBlast {
    /// Organisations.
    pub organisations: usize,
    /// Of those, vital providers.
    pub vital: usize,
    /// Of those, reachable under the policy.
    pub reached: usize,
}

/// Who would be affected by a flaw in one vendor's products, and how they can be told.
#[derive(Debug, Clone, Serialize)]
pub struct BlastRadius {
    /// The vendor.
    pub vendor: String,
    /// The product, when one was named.
    pub product: Option<String>,
    /// The policy planned under.
    pub policy: String,
    /// The products of the vendor the organisations declared.
    pub products: BTreeSet<String>,
    /// Affected organisations.
    pub organisations: usize,
    /// Of those, vital providers.
    pub vital: usize,
    /// Of those, not vital.
    pub non_vital: usize,
    /// Of those, reachable under the policy.
    pub reached: usize,
    /// Of those, not reachable.
    pub unreachable: usize,
    /// Reachable organisations per path; one reached along two paths counts under both.
    pub by_path: BTreeMap<String, usize>,
    /// Per sector.
    pub by_sector: BTreeMap<String, SectorBlast>,
    /// Every affected organisation with its coverage under the policy.
    pub parties: Vec<Affected>,
    /// Affected organisations whose inventory names no address of theirs: one address of
    /// their registered networks stood in for routing.
    pub address_assumed: Vec<String>,
}

/// The dependency picture.
#[derive(Debug, Clone, Serialize)]
pub struct Dependencies {
    /// The sector it is limited to, if any.
    pub sector: Option<String>,
    /// Registered organisations in scope.
    pub organisations: usize,
    /// Of those, with a declared inventory.
    pub with_inventory: usize,
    /// Inventory entries read.
    pub entries: usize,
    /// Of those, naming no vendor (no CPE or purl that names one).
    pub unidentified_entries: usize,
    /// Per vendor, most depended on by vital providers first.
    pub vendors: Vec<VendorDependence>,
    /// Per country of headquarters, largest share first.
    pub countries: Vec<CountryDependence>,
    /// Concentration.
    pub concentration: Concentration,
    /// Non-vital suppliers of vital providers.
    pub suppliers: Suppliers,
    /// The blast radius of the vendor asked about.
    pub blast_radius: Option<BlastRadius>,
}

fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 { 0.0 } else { n as f64 / d as f64 }
}

/// Σ (100·sᵢ)² over the counts' shares.
pub fn hhi(counts: impl IntoIterator<Item = usize>) -> f64 {
    let counts: Vec<usize> = counts.into_iter().collect();
    let total: usize = counts.iter().sum();
    counts
        .iter()
        .map(|&c| (100.0 * ratio(c, total)).powi(2))
        .sum()
}

fn level(hhi: f64) -> &'static str {
    if hhi > 1800.0 {
        "highly concentrated"
    } else if hhi >= 1000.0 {
        "moderately concentrated"
    } else {
        "unconcentrated"
    }
}

fn sector_of(o: &Organisation) -> String {
    o.sector.clone().unwrap_or_else(|| "(no sector)".into())
}

/// Computes the dependency picture from the registry and routing data in `attributor`, the
/// declared `inventory`, the `vendors` table and, for a blast radius, `policy`.
pub fn dependencies(
    attributor: &Attributor,
    inventory: &[InventoryRecord],
    vendors: &VendorTable,
    policy: &Policy,
    options: &DependencyOptions,
) -> Result<Dependencies, PipelineError> {
    let in_scope = |o: &Organisation| {
        o.kind == OrgKind::Organisation
            && options
                .sector
                .as_ref()
                .is_none_or(|s| o.sector.as_deref() == Some(s.as_str()))
    };
    let orgs: BTreeMap<&str, &Organisation> = attributor
        .organisations()
        .iter()
        .filter(|o| in_scope(o))
        .map(|o| (o.id.0.as_str(), o))
        .collect();

    // org → vendor → products, for the organisations in scope
    let mut uses: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut entries = 0;
    let mut unidentified = 0;
    for r in inventory {
        let Some(org) = orgs.get(r.org.as_str()) else {
            continue;
        };
        entries += 1;
        let by_vendor = uses.entry(org.id.0.as_str()).or_default();
        match identify(r.cpe.as_deref(), r.purl.as_deref()) {
            Some((vendor, product)) => {
                by_vendor.entry(vendor).or_default().insert(product);
            }
            None => unidentified += 1,
        }
    }
    let vital_providers = orgs.values().filter(|o| o.vital).count();
    let vital_with_inventory = uses.keys().filter(|id| orgs[*id].vital).count();
    let total_pairs: usize = uses.values().map(BTreeMap::len).sum();

    // per vendor and product
    let mut per_vendor: BTreeMap<&str, BTreeMap<&str, BTreeSet<&str>>> = BTreeMap::new();
    for (org, by_vendor) in &uses {
        for (vendor, products) in by_vendor {
            let v = per_vendor.entry(vendor.as_str()).or_default();
            for p in products {
                v.entry(p.as_str()).or_default().insert(org);
            }
        }
    }
    let count = |ids: &BTreeSet<&str>| {
        let vital = ids.iter().filter(|id| orgs[*id].vital).count();
        let mut sectors: BTreeMap<String, usize> = BTreeMap::new();
        for id in ids {
            *sectors.entry(sector_of(orgs[id])).or_default() += 1;
        }
        (vital, ids.len() - vital, sectors)
    };
    let info = |vendor: &str| vendors.get(vendor);
    let mut vendor_rows: Vec<VendorDependence> = per_vendor
        .iter()
        .map(|(vendor, products)| {
            let all: BTreeSet<&str> = products.values().flatten().copied().collect();
            let (vital, non_vital, sectors) = count(&all);
            let mut products: Vec<ProductDependence> = products
                .iter()
                .map(|(product, ids)| {
                    let (vital, non_vital, sectors) = count(ids);
                    ProductDependence {
                        product: product.to_string(),
                        organisations: ids.iter().map(|s| s.to_string()).collect(),
                        vital,
                        non_vital,
                        sectors,
                    }
                })
                .collect();
            products.sort_by(|a, b| {
                (b.vital, b.organisations.len()).cmp(&(a.vital, a.organisations.len()))
            });
            VendorDependence {
                vendor: vendor.to_string(),
                name: info(vendor).map_or_else(|| vendor.to_string(), |i| i.name.clone()),
                country: info(vendor).and_then(|i| i.country.clone()),
                organisations: all.len(),
                vital,
                non_vital,
                vital_share: ratio(vital, vital_with_inventory),
                sectors,
                products,
            }
        })
        .collect();
    vendor_rows.sort_by(|a, b| {
        (b.vital, b.organisations)
            .cmp(&(a.vital, a.organisations))
            .then_with(|| a.vendor.cmp(&b.vendor))
    });

    // per country
    let mut per_country: BTreeMap<String, (BTreeSet<String>, BTreeSet<&str>, usize)> =
        BTreeMap::new();
    for (org, by_vendor) in &uses {
        for vendor in by_vendor.keys() {
            let country = info(vendor)
                .and_then(|i| i.country.clone())
                .unwrap_or_else(|| UNKNOWN_COUNTRY.into());
            let c = per_country.entry(country).or_default();
            c.0.insert(vendor.clone());
            c.1.insert(org);
            c.2 += 1;
        }
    }
    let mut countries: Vec<CountryDependence> = per_country
        .into_iter()
        .map(|(country, (vendors, ids, pairs))| {
            let vital = ids.iter().filter(|id| orgs[*id].vital).count();
            CountryDependence {
                country,
                vendors: vendors.into_iter().collect(),
                organisations: ids.len(),
                vital,
                vital_share: ratio(vital, vital_with_inventory),
                share: ratio(pairs, total_pairs),
            }
        })
        .collect();
    countries.sort_by(|a, b| {
        b.share
            .total_cmp(&a.share)
            .then_with(|| a.country.cmp(&b.country))
    });

    // concentration per sector
    #[derive(Default)]
    struct Tally<'a> {
        organisations: usize,
        vital: usize,
        /// organisations per vendor
        all: BTreeMap<&'a str, usize>,
        /// vital providers per vendor
        vital_only: BTreeMap<&'a str, usize>,
    }
    let mut per_sector: BTreeMap<String, Tally> = BTreeMap::new();
    for (org, by_vendor) in &uses {
        let o = orgs[org];
        let s = per_sector.entry(sector_of(o)).or_default();
        s.organisations += 1;
        if o.vital {
            s.vital += 1;
        }
        for vendor in by_vendor.keys() {
            *s.all.entry(vendor.as_str()).or_default() += 1;
            if o.vital {
                *s.vital_only.entry(vendor.as_str()).or_default() += 1;
            }
        }
    }
    let sectors = per_sector
        .into_iter()
        .map(|(sector, t)| {
            let Tally {
                organisations,
                vital,
                all,
                vital_only,
            } = t;
            let dependencies: usize = all.values().sum();
            let top = all
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
            let hhi_all = hhi(all.values().copied());
            SectorConcentration {
                sector,
                organisations,
                vital,
                dependencies,
                hhi: hhi_all,
                hhi_vital: (!vital_only.is_empty()).then(|| hhi(vital_only.values().copied())),
                level: level(hhi_all),
                top_vendor: top.map(|(v, _)| v.to_string()),
                top_share: top.map_or(0.0, |(_, &n)| ratio(n, dependencies)),
            }
        })
        .collect();
    let mut vital_share_by_vendor: Vec<VendorShare> = vendor_rows
        .iter()
        .filter(|v| v.vital > 0)
        .map(|v| VendorShare {
            vendor: v.vendor.clone(),
            vital_share: v.vital_share,
        })
        .collect();
    vital_share_by_vendor.sort_by(|a, b| {
        b.vital_share
            .total_cmp(&a.vital_share)
            .then_with(|| a.vendor.cmp(&b.vendor))
    });

    let it = vendor_rows
        .iter()
        .filter(|v| v.vital > 0)
        .map(|v| ItSupplier {
            vendor: v.vendor.clone(),
            name: v.name.clone(),
            country: v.country.clone(),
            vital_providers: per_vendor[v.vendor.as_str()]
                .values()
                .flatten()
                .filter(|id| orgs[*id].vital)
                .map(|s| s.to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        })
        .collect();
    let network = network_suppliers(attributor, &orgs, inventory);
    let suppliers = Suppliers {
        hosting_countries: hosting_countries(&network),
        network,
        it,
    };

    let blast_radius = options.vendor.as_ref().map(|vendor| {
        blast_radius(
            attributor,
            &orgs,
            inventory,
            policy,
            &vendor.to_lowercase(),
            options.product.as_deref().map(str::to_lowercase).as_deref(),
            options.tlp.unwrap_or(Tlp::Amber),
        )
    });

    Ok(Dependencies {
        sector: options.sector.clone(),
        organisations: orgs.len(),
        with_inventory: uses.len(),
        entries,
        unidentified_entries: unidentified,
        vendors: vendor_rows,
        countries,
        concentration: Concentration {
            vital_providers,
            vital_with_inventory,
            vital_share_by_vendor,
            sectors,
        },
        suppliers,
        blast_radius,
    })
}

/// Per country of the network suppliers (RPSL's), the suppliers and the vital providers
/// depending on them; suppliers RPSL gives no country for under `unknown`.
fn hosting_countries(network: &[Supplier]) -> Vec<HostingCountry> {
    let mut by: BTreeMap<String, (Vec<String>, BTreeSet<&str>)> = BTreeMap::new();
    for s in network {
        let countries: Vec<String> = if s.countries.is_empty() {
            vec![UNKNOWN_COUNTRY.to_string()]
        } else {
            s.countries.iter().cloned().collect()
        };
        for c in countries {
            let e = by.entry(c).or_default();
            e.0.push(s.id.clone());
            e.1.extend(s.vital_providers.iter().map(String::as_str));
        }
    }
    let mut out: Vec<HostingCountry> = by
        .into_iter()
        .map(|(country, (suppliers, vital))| HostingCountry {
            country,
            suppliers,
            vital_providers: vital.len(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.vital_providers
            .cmp(&a.vital_providers)
            .then_with(|| a.country.cmp(&b.country))
    });
    out
}

/// The addresses of an organisation: where its inventory says its systems run (`true`), and
/// the first address of each registered network (`false`, unless its inventory names it).
fn addresses_of(o: &Organisation, hosts: &BTreeMap<&str, Vec<IpAddr>>) -> Vec<(IpAddr, bool)> {
    let mut out: Vec<(IpAddr, bool)> = hosts
        .get(o.id.0.as_str())
        .into_iter()
        .flatten()
        .map(|&ip| (ip, true))
        .collect();
    out.extend(o.networks.iter().map(|n| (n.network(), false)));
    // declared first, so that an address both declared and a network's is kept as declared
    out.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    out.dedup_by_key(|(ip, _)| *ip);
    out
}

fn network_suppliers(
    attributor: &Attributor,
    orgs: &BTreeMap<&str, &Organisation>,
    inventory: &[InventoryRecord],
) -> Vec<Supplier> {
    // registered hosters by their contact addresses, to recognise them in RPSL
    let mut by_email: BTreeMap<String, &Organisation> = BTreeMap::new();
    for o in attributor.organisations() {
        for c in &o.contacts {
            by_email.entry(c.email.to_ascii_lowercase()).or_insert(o);
        }
    }
    let mut found: BTreeMap<String, Supplier> = BTreeMap::new();
    let mut add = |id: String,
                   name: String,
                   kind: &str,
                   vital: &Organisation,
                   via: String,
                   country: Option<&String>| {
        let s = found.entry(id.clone()).or_insert_with(|| Supplier {
            id,
            name,
            kinds: BTreeSet::new(),
            vital_providers: Vec::new(),
            sectors: BTreeMap::new(),
            via: Vec::new(),
            countries: BTreeSet::new(),
        });
        s.countries.extend(country.cloned());
        if s.kinds.insert(kind.to_string()) {
            s.via.push(via);
        }
        if s.vital_providers.last() != Some(&vital.id.0) {
            s.vital_providers.push(vital.id.0.clone());
            *s.sectors.entry(sector_of(vital)).or_default() += 1;
        }
    };
    let mut hosts: BTreeMap<&str, Vec<IpAddr>> = BTreeMap::new();
    for r in inventory {
        if let Some(ip) = r.host.as_deref().and_then(|h| h.parse().ok()) {
            hosts.entry(r.org.as_str()).or_default().push(ip);
        }
    }
    for o in orgs.values().filter(|o| o.vital) {
        for (ip, declared) in addresses_of(o, &hosts) {
            let Ok(lookup) = attributor.lookup(&ip.to_string()) else {
                continue;
            };
            // a registered supplier that is itself vital is not a non-vital supplier
            let registered = |id: &OrgId| {
                attributor
                    .organisation(id)
                    .filter(|s| s.id != o.id && !s.vital)
            };
            let mut holder_known = false;
            // the countries RPSL gives for the address's network and for an AS
            let rpsl_country = |network: bool, asn: Option<&str>| {
                lookup.candidates.iter().find_map(|a| match &a.owner {
                    Owner::Abuse(contact)
                        if a.rule == Rule::RegistryAbuse
                            && (if network {
                                !a.matched.starts_with("AS")
                            } else {
                                Some(a.matched.as_str()) == asn
                            }) =>
                    {
                        contact.country.as_ref()
                    }
                    _ => None,
                })
            };
            for c in &lookup.candidates {
                match (&c.rule, &c.owner) {
                    (Rule::Prefix, Owner::Organisation { id }) => {
                        if let Some(s) = registered(id) {
                            holder_known = true;
                            add(
                                s.id.0.clone(),
                                s.name.clone(),
                                "hosting",
                                o,
                                format!("{ip} in {} registered to it", c.matched),
                                rpsl_country(true, None),
                            );
                        } else if *id == o.id {
                            holder_known = true;
                        }
                    }
                    (Rule::Asn, owner) => {
                        let asn = c.matched.clone();
                        match owner {
                            Owner::Organisation { id } => {
                                if let Some(s) = registered(id) {
                                    add(
                                        s.id.0.clone(),
                                        s.name.clone(),
                                        "network",
                                        o,
                                        format!("{ip} routed by {asn}"),
                                        rpsl_country(false, Some(&asn)),
                                    );
                                }
                            }
                            _ => {
                                // an AS nobody registered: its RPSL abuse contact may be a
                                // registered organisation's, else it is named by its holder
                                let contact =
                                    lookup.candidates.iter().find_map(|a| match &a.owner {
                                        Owner::Abuse(contact)
                                            if a.rule == Rule::RegistryAbuse
                                                && a.matched == asn =>
                                        {
                                            Some(contact)
                                        }
                                        _ => None,
                                    });
                                let via = format!("{ip} routed by {asn}");
                                match contact
                                    .and_then(|c| by_email.get(&c.email.to_ascii_lowercase()))
                                {
                                    Some(s) if s.id != o.id && !s.vital => add(
                                        s.id.0.clone(),
                                        s.name.clone(),
                                        "network",
                                        o,
                                        via,
                                        contact.and_then(|c| c.country.as_ref()),
                                    ),
                                    Some(_) => {}
                                    None => {
                                        let name = contact.map_or_else(
                                            || format!("{asn} (not registered)"),
                                            |c| {
                                                format!(
                                                    "{} ({asn})",
                                                    c.holder.as_deref().unwrap_or(&c.email)
                                                )
                                            },
                                        );
                                        add(
                                            asn.clone(),
                                            name,
                                            "network",
                                            o,
                                            via,
                                            contact.and_then(|c| c.country.as_ref()),
                                        );
                                    }
                                }
                            }
                        }
                    }
                    (Rule::RegistryAbuse, Owner::Abuse(contact))
                        if declared && !holder_known && !c.matched.starts_with("AS") =>
                    {
                        // an address where its systems run, held by someone it did not register
                        holder_known = true;
                        let via = format!("{ip} in {} ({})", c.matched, contact.via);
                        match by_email.get(&contact.email.to_ascii_lowercase()) {
                            Some(s) if s.id != o.id && !s.vital => add(
                                s.id.0.clone(),
                                s.name.clone(),
                                "hosting",
                                o,
                                via,
                                contact.country.as_ref(),
                            ),
                            Some(_) => {}
                            None => add(
                                baken_model::Party::RegistryHoster {
                                    abuse: contact.email.clone(),
                                }
                                .key(),
                                contact
                                    .holder
                                    .clone()
                                    .unwrap_or_else(|| contact.email.clone()),
                                "hosting",
                                o,
                                via,
                                contact.country.as_ref(),
                            ),
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let mut out: Vec<Supplier> = found.into_values().collect();
    out.sort_by(|a, b| {
        b.vital_providers
            .len()
            .cmp(&a.vital_providers.len())
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

fn blast_radius(
    attributor: &Attributor,
    orgs: &BTreeMap<&str, &Organisation>,
    inventory: &[InventoryRecord],
    policy: &Policy,
    vendor: &str,
    product: Option<&str>,
    tlp: Tlp,
) -> BlastRadius {
    // one finding per organisation and address that runs the vendor's product: what an
    // advisory matched against the inventories would record, planned but never stored
    let mut products = BTreeSet::new();
    let mut hosts: BTreeMap<&str, BTreeSet<IpAddr>> = BTreeMap::new();
    for r in inventory {
        let Some(o) = orgs.get(r.org.as_str()) else {
            continue;
        };
        let Some((v, p)) = identify(r.cpe.as_deref(), r.purl.as_deref()) else {
            continue;
        };
        if v != vendor || product.is_some_and(|want| want != p) {
            continue;
        }
        products.insert(p);
        let set = hosts.entry(o.id.0.as_str()).or_default();
        if let Some(ip) = r.host.as_deref().and_then(|h| h.parse().ok()) {
            set.insert(ip);
        }
    }
    let mut address_assumed = Vec::new();
    let mut findings = Vec::new();
    for (id, ips) in &mut hosts {
        let o = orgs[id];
        if ips.is_empty() {
            // nothing says where it runs: one address of its own networks stands in
            if let Some(n) = o.networks.first() {
                ips.insert(n.network());
                address_assumed.push(id.to_string());
            }
        }
        let mut ips: Vec<Option<IpAddr>> = ips.iter().copied().map(Some).collect();
        if ips.is_empty() {
            ips.push(None);
        }
        for ip in ips {
            let mut event = Event::new();
            event.insert(
                "classification.identifier",
                format!("{vendor}-blast-radius"),
            );
            event.insert("feed.name", "inventory");
            if let Some(ip) = ip {
                event.insert("source.ip", ip.to_string());
            }
            findings.push(Finding {
                id: findings.len() as i64,
                event,
                partial: None,
                attribution: Attribution {
                    owner: Owner::Organisation { id: o.id.clone() },
                    rule: Rule::Inventory,
                    reason: format!("{id} declared {vendor} in its inventory"),
                },
                tlp: Some(tlp),
                provenance: format!("inventory of {id}").into(),
                state: FindingState::Open,
                first_seen: 0,
                last_seen: 0,
            });
        }
    }
    let plan = plan::plan(
        policy,
        attributor,
        &format!("{vendor}-blast-radius"),
        findings,
        tlp,
        &[],
    );
    let (_, reached, unreachable, by_path) = plan.counts();
    let mut by_sector: BTreeMap<String, SectorBlast> = BTreeMap::new();
    for a in &plan.affected {
        let s = by_sector
            .entry(a.sector.clone().unwrap_or_else(|| "(no sector)".into()))
            .or_default();
        s.organisations += 1;
        if a.vital {
            s.vital += 1;
        }
        if matches!(a.coverage, Coverage::Reached { .. }) {
            s.reached += 1;
        }
    }
    let vital = plan.affected.iter().filter(|a| a.vital).count();
    BlastRadius {
        vendor: vendor.to_string(),
        product: product.map(str::to_string),
        policy: plan.policy.clone(),
        products,
        organisations: plan.affected.len(),
        vital,
        non_vital: plan.affected.len() - vital,
        reached,
        unreachable,
        by_path,
        by_sector,
        parties: plan.affected,
        address_assumed,
    }
}

#[cfg(test)]
mod tests;
