//! Exposure: which organisations run what an advisory affects — from what they declared
//! (inventories, SBOMs) and from what scans saw — with the evidence of each match; and the
//! matches recorded as findings of the advisory, so `notify --incident ADVISORY` sends one
//! message per organisation per advisory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use baken_attribute::Attributor;
use baken_matching::{Evidence, InventoryEntry, Match, MatchStatus, Matcher, ScanObservation};
use baken_model::{Attribution, Event, OrgId, Owner, Party, Rule};
use baken_store::{FindingRecord, InventoryRecord, Store, TimelineStep, now};
use serde::Serialize;

use crate::PipelineError;
use crate::advisories;
use crate::findings::EventFields;

/// What an inventory import did.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryImport {
    /// Entries stored.
    pub entries: usize,
    /// Entries that could not be read, with file, place and field.
    pub problems: Vec<String>,
}

/// Loads what `org` runs from `path` (CSV, CycloneDX 1.5/1.6 JSON, SPDX 2.3 JSON) and replaces
/// what was imported from that file before.
pub fn import_inventory(
    store: &mut dyn Store,
    attributor: &Attributor,
    org: &str,
    path: &Path,
) -> Result<InventoryImport, PipelineError> {
    if !attributor.is_registered(&OrgId(org.into())) {
        return Err(PipelineError::Usage(format!(
            "organisation {org:?} is not in the registry; import the registry first or check the id"
        )));
    }
    let inventory = baken_matching::inventory::read_path(org, path)
        .map_err(|e| PipelineError::Usage(e.to_string()))?;
    let source = path.display().to_string();
    let records: Vec<InventoryRecord> = inventory
        .entries
        .iter()
        .map(|e| InventoryRecord {
            org: org.into(),
            source: source.clone(),
            cpe: e.cpe.clone(),
            purl: e.purl.clone(),
            name: e.name.clone(),
            version: e.version.clone(),
            host: e.host.clone(),
            place: e.source.clone(),
        })
        .collect();
    store.replace_inventory(org, &source, &records)?;
    Ok(InventoryImport {
        entries: records.len(),
        problems: inventory.problems.iter().map(ToString::to_string).collect(),
    })
}

/// One organisation's exposure.
#[derive(Debug, Clone, Serialize)]
pub struct OrgExposure {
    /// Registry id (or `unregistered@…` for addresses nobody registered).
    pub id: String,
    /// Name.
    pub name: String,
    /// Sector.
    pub sector: Option<String>,
    /// Vital provider.
    pub vital: bool,
    /// Hosts and addresses affected (or of unknown status), sorted, each once.
    pub hosts: Vec<String>,
    /// Matches that are certain.
    pub affected: usize,
    /// Matches whose version could not be compared.
    pub unknown: usize,
    /// The kinds of evidence, sorted, each once.
    pub evidence: Vec<String>,
    /// Products matched, sorted, each once.
    pub products: Vec<String>,
}

/// The substantiated exposure analysis of one advisory.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureReport {
    /// The advisory.
    pub advisory: String,
    /// Its title.
    pub title: Option<String>,
    /// Its CVEs.
    pub cves: Vec<String>,
    /// The highest CVSS score and its vector.
    pub highest_score: Option<f64>,
    /// The vector of that score.
    pub vector: Option<String>,
    /// Its severity.
    pub severity: Option<String>,
    /// Registered organisations with at least one certain match.
    pub affected_orgs: usize,
    /// Of those, vital providers.
    pub vital: usize,
    /// Of those, non-vital.
    pub non_vital: usize,
    /// Registered organisations with only matches of unknown status.
    pub unknown_orgs: usize,
    /// Affected registered organisations by sector.
    pub by_sector: BTreeMap<String, usize>,
    /// Matches by evidence kind.
    pub by_evidence: BTreeMap<String, usize>,
    /// Distinct hosts affected.
    pub hosts: usize,
    /// Affected addresses nobody registered (reached through their hoster).
    pub unregistered_hosts: usize,
    /// Affected addresses with no known owner at all.
    pub unattributed_hosts: usize,
    /// Every organisation with a match.
    pub organisations: Vec<OrgExposure>,
    /// Matches recorded as findings of the advisory (new ones this run).
    pub recorded: u64,
}

fn evidence_name(e: &Evidence) -> &'static str {
    match e {
        Evidence::ScanConfirmed => "scan-confirmed",
        Evidence::InventoryDeclared => "inventory-declared",
        Evidence::VersionInferred => "version-inferred",
    }
}

/// Analyses the exposure to `advisory_id`; with `record`, stores the matches as findings of
/// the incident named after the advisory (scan findings are linked, inventory matches become
/// findings attributed to the organisation that declared them).
pub fn exposure(
    store: &mut dyn Store,
    attributor: &Attributor,
    advisory_id: &str,
    record: bool,
) -> Result<ExposureReport, PipelineError> {
    let Some((advisory, _)) = advisories::show(store, advisory_id)? else {
        return Err(PipelineError::Usage(format!(
            "no advisory {advisory_id:?}; import it with `baken advisory import FILE`"
        )));
    };
    let entries: Vec<InventoryEntry> = store
        .inventory()?
        .into_iter()
        .map(|r| InventoryEntry {
            org: r.org,
            cpe: r.cpe,
            purl: r.purl,
            name: r.name,
            version: r.version,
            host: r.host,
            source: format!("{} {}", r.source, r.place),
        })
        .collect();
    let matcher = Matcher::new(std::slice::from_ref(&advisory));
    // Each finding is matched as it is read and folded into its organisation's counts: a
    // national incident's findings are never all held. What is kept per finding is its
    // address, for linking (scan_events), and the matches recording needs.
    let mut tally = Tally {
        orgs: BTreeMap::new(),
        by_evidence: BTreeMap::new(),
        matched_hosts: BTreeSet::new(),
        inventory: Vec::new(),
    };
    let mut found = Vec::new();
    for e in &entries {
        matcher.match_entry(e, &mut found);
        tally.add(&mut found);
    }
    drop(entries);
    // What the scans saw: every stored finding carrying one of the advisory's CVEs.
    let mut scan_events: Vec<(String, i64)> = Vec::new();
    let mut seen_events = BTreeSet::new();
    for cve in &advisory.cves {
        let records = store.finding_records(&baken_store::FindingQuery {
            incident: Some(cve.to_ascii_lowercase()),
            ..baken_store::FindingQuery::default()
        })?;
        crate::findings::each_with_fields(
            store,
            attributor,
            records,
            EventFields::Exposure,
            &mut |_, f| {
                let Some((ip, org)) = first_sight(&mut seen_events, &f) else {
                    return Ok(());
                };
                scan_events.push((ip.to_string(), f.id));
                matcher.match_scan(&cve_observation(&f.event, org, ip), &mut found);
                tally.add(&mut found);
                Ok(())
            },
        )?;
    }
    // What service scans saw (nmap, masscan, zgrab2): products and versions without CVE ids,
    // matched by product and version.
    crate::findings::each_with_fields(
        store,
        attributor,
        service_scan_records(store)?,
        EventFields::Exposure,
        &mut |_, f| {
            let Some((ip, org)) = first_sight(&mut seen_events, &f) else {
                return Ok(());
            };
            // the CPE nmap gave where it names the advisory's product, else the product's name
            for observed in service_observations(&f.event, &org, ip) {
                matcher.match_scan(&observed, &mut found);
                if !found.is_empty() {
                    scan_events.push((ip.to_string(), f.id));
                    tally.add(&mut found);
                    break;
                }
            }
            Ok(())
        },
    )?;
    drop(seen_events);
    let Tally {
        mut orgs,
        by_evidence,
        matched_hosts,
        inventory,
    } = tally;
    // in the order of their ids, which is the order the index keeps them in: each of its
    // compressed blocks is decompressed once, not once per organisation of a feed's order
    for e in orgs.values_mut() {
        // decoded for this alone: a national incident's organisations are not kept
        if let Some(org) = attributor.organisation_once(&OrgId(e.id.clone())) {
            e.name = org.name.clone();
            e.sector = org.sector.clone();
            e.vital = org.vital;
        }
        for list in [&mut e.hosts, &mut e.evidence, &mut e.products] {
            list.sort_unstable();
            list.dedup();
            list.shrink_to_fit();
        }
    }
    let registered = |o: &&OrgExposure| attributor.is_registered(&OrgId(o.id.clone()));
    let affected: Vec<&OrgExposure> = orgs
        .values()
        .filter(registered)
        .filter(|o| o.affected > 0)
        .collect();
    let mut by_sector = BTreeMap::new();
    for o in &affected {
        *by_sector
            .entry(o.sector.clone().unwrap_or_else(|| "(no sector)".into()))
            .or_default() += 1;
    }
    let top = advisory.highest_score();
    let recorded = if record {
        // scan findings (confirmed or version-inferred) at a matched host are linked
        let linked: BTreeSet<i64> = scan_events
            .into_iter()
            .filter(|(ip, _)| matched_hosts.contains(ip))
            .map(|(_, id)| id)
            .collect();
        record_matches(store, &advisory.id, &inventory, linked)?
    } else {
        0
    };
    Ok(ExposureReport {
        advisory: advisory.id.clone(),
        title: advisory.title.clone(),
        cves: advisory.cves.clone(),
        highest_score: top.map(|s| s.value()),
        vector: top.map(|s| s.vector.clone()),
        severity: top
            .and_then(|s| s.computed.as_ref())
            .map(|c| c.severity.to_string()),
        affected_orgs: affected.len(),
        vital: affected.iter().filter(|o| o.vital).count(),
        non_vital: affected.iter().filter(|o| !o.vital).count(),
        unknown_orgs: orgs
            .values()
            .filter(registered)
            .filter(|o| o.affected == 0 && o.unknown > 0)
            .count(),
        by_sector,
        by_evidence,
        hosts: affected.iter().map(|o| o.hosts.len()).sum(),
        unregistered_hosts: orgs
            .values()
            .filter(|o| matches!(Party::from_key(&o.id), Party::UnregisteredHolders { .. }))
            .map(|o| o.hosts.len())
            .sum(),
        unattributed_hosts: orgs
            .values()
            .filter(|o| matches!(Party::from_key(&o.id), Party::Unattributed { .. }))
            .count(),
        organisations: orgs.into_values().collect(),
        recorded,
    })
}

/// The address of a scan finding not seen before (under another of the advisory's CVEs) and
/// the party holding it; `None` for one seen already or without an address.
fn first_sight<'f>(
    seen: &mut BTreeSet<i64>,
    f: &'f baken_store::Finding,
) -> Option<(&'f str, String)> {
    if !seen.insert(f.id) {
        return None;
    }
    let ip = f.event.get_str("source.ip")?;
    // nobody known: still exposed, and still part of the incident
    Some((ip, Party::owning(&f.attribution.owner, ip).key()))
}

/// The matches of an exposure analysis folded into counts per organisation as they are made.
struct Tally {
    orgs: BTreeMap<String, OrgExposure>,
    by_evidence: BTreeMap<String, usize>,
    /// The hosts of the matches a scan made.
    matched_hosts: BTreeSet<String>,
    /// The matches inventories made, recorded as findings of their own.
    inventory: Vec<Match>,
}

impl Tally {
    /// Folds in `found` and empties it.
    fn add(&mut self, found: &mut Vec<Match>) {
        for m in found.drain(..) {
            *self
                .by_evidence
                .entry(evidence_name(&m.evidence).into())
                .or_default() += 1;
            // named from the registry when all are counted
            let e = self
                .orgs
                .entry(m.org.clone())
                .or_insert_with(|| OrgExposure {
                    id: m.org.clone(),
                    name: m.org.clone(),
                    sector: None,
                    vital: false,
                    // lists rather than sets: most organisations have one of each, and a set
                    // of one takes ten times the memory, three times over for a national
                    // incident
                    hosts: Vec::new(),
                    affected: 0,
                    unknown: 0,
                    evidence: Vec::new(),
                    products: Vec::new(),
                });
            match m.status {
                MatchStatus::Affected => e.affected += 1,
                MatchStatus::Unknown(_) => e.unknown += 1,
            }
            // each once after sorting, at the end
            e.hosts.extend(m.host.iter().cloned());
            let evidence = evidence_name(&m.evidence);
            if !e.evidence.iter().any(|x| x == evidence) {
                e.evidence.push(evidence.into());
            }
            if e.products.last() != Some(&m.product) {
                e.products.push(m.product.clone());
            }
            if m.evidence == Evidence::InventoryDeclared {
                self.inventory.push(m);
            } else if let Some(host) = m.host {
                self.matched_hosts.insert(host);
            }
        }
    }
}

/// The incident an advisory's findings are notified under.
pub fn advisory_incident(advisory_id: &str) -> String {
    advisory_id.to_ascii_lowercase()
}

/// The feeds whose findings are services a scan saw (product and version), not
/// vulnerabilities it confirmed.
const SERVICE_FEEDS: [&str; 3] = ["nmap", "masscan", "zgrab2"];

/// The findings service scans stored: only those of runs of a [`SERVICE_FEEDS`] feed, so
/// the other feeds' findings cost a lookup each and their events are not read.
fn service_scan_records(store: &dyn Store) -> Result<Vec<FindingRecord>, PipelineError> {
    let mut service_run: BTreeMap<i64, bool> = BTreeMap::new();
    let mut wanted = Vec::new();
    for (incident, _) in store.incidents()? {
        if incident.starts_with("cve-") {
            continue;
        }
        for r in store.finding_records(&baken_store::FindingQuery {
            incident: Some(incident.clone()),
            ..baken_store::FindingQuery::default()
        })? {
            let service = match service_run.get(&r.run) {
                Some(&s) => s,
                None => {
                    let s = SERVICE_FEEDS.contains(&store.run(r.run)?.source.feed.as_str());
                    service_run.insert(r.run, s);
                    s
                }
            };
            if service {
                wanted.push(r);
            }
        }
    }
    Ok(wanted)
}

/// What a scan that confirmed CVEs saw at `ip` of `org`, as the matcher reads it.
fn cve_observation(event: &Event, org: String, ip: &str) -> ScanObservation {
    ScanObservation {
        org,
        ip: ip.to_string(),
        cves: event.vulnerabilities(),
        product: event
            .get_str("product.product")
            .or_else(|| event.get_str("product.name"))
            .map(str::to_string),
        version: event
            .get_str("product.version")
            .or_else(|| event.get_str("extra.version"))
            .map(str::to_string),
        source: event.get_str("feed.name").unwrap_or("scan").to_string(),
    }
}

/// What a service scan saw at `ip` of `org`, one observation per product it names
/// ([`service_products`]), most precise first.
fn service_observations<'a>(
    event: &'a Event,
    org: &'a str,
    ip: &'a str,
) -> impl Iterator<Item = ScanObservation> + 'a {
    service_products(event)
        .into_iter()
        .map(move |product| ScanObservation {
            org: org.to_string(),
            ip: ip.to_string(),
            cves: Vec::new(),
            product: Some(product),
            version: event.get_str("product.version").map(str::to_string),
            source: event.get_str("feed.name").unwrap_or("scan").to_string(),
        })
}

/// What a service scan says runs there, as the matcher reads it, most precise first: the
/// application and OS CPEs nmap gave, then the product's name with its vendor.
fn service_products(event: &Event) -> Vec<String> {
    let mut out: Vec<String> = match event.get("extra.cpe") {
        Some(serde_json::Value::Array(list)) => list
            .iter()
            .filter_map(|c| c.as_str())
            .filter(|c| c.starts_with("cpe:/a:") || c.starts_with("cpe:/o:"))
            .map(str::to_string)
            .collect(),
        Some(serde_json::Value::String(c)) => vec![c.clone()],
        _ => Vec::new(),
    };
    if let Some(name) = event.get_str("product.name") {
        out.push(match event.get_str("product.vendor") {
            Some(vendor) if !name.starts_with(vendor) => format!("{vendor} {name}"),
            _ => name.to_string(),
        });
    }
    out
}

fn record_matches(
    store: &mut dyn Store,
    advisory_id: &str,
    inventory: &[Match],
    linked: BTreeSet<i64>,
) -> Result<u64, PipelineError> {
    let incident = advisory_incident(advisory_id);
    // Scan findings (confirmed or version-inferred) are already stored: link them.
    let linked: Vec<i64> = linked.into_iter().collect();
    store.link_incident(&incident, &linked)?;
    // Inventory matches become findings of the organisation that declared them.
    let mut events = Vec::new();
    for m in inventory {
        let mut e = Event::new();
        e.insert("classification.taxonomy", "vulnerable");
        e.insert("classification.type", "vulnerable-system");
        e.insert("classification.identifier", advisory_id);
        e.insert("feed.name", "inventory");
        if let Some(cve) = &m.cve {
            e.insert("product.vulnerabilities", cve.to_ascii_lowercase());
        }
        e.insert("product.name", m.product.clone());
        if let Some(h) = &m.host {
            if h.parse::<std::net::IpAddr>().is_ok() {
                e.insert("source.ip", h.clone());
            } else {
                e.insert("source.fqdn", h.clone());
            }
        }
        e.insert("extra.evidence", evidence_name(&m.evidence));
        e.insert(
            "extra.match_status",
            match &m.status {
                MatchStatus::Affected => "affected".to_string(),
                MatchStatus::Unknown(why) => format!("unknown: {why}"),
            },
        );
        e.insert("extra.match_detail", m.detail.clone());
        e.insert("time.observation", now());
        let attribution = Attribution {
            owner: Owner::Organisation {
                id: OrgId(m.org.clone()),
            },
            rule: Rule::Inventory,
            reason: format!("{} declared it in its inventory: {}", m.org, m.detail),
        };
        events.push((e, attribution));
    }
    let file = format!("exposure:{advisory_id}");
    let run = store.begin_run(
        &file,
        &baken_store::RunSource {
            feed: "inventory".into(),
            ..baken_store::RunSource::default()
        },
        &baken_store::Label {
            tlp: baken_model::Tlp::Amber,
            supplied_by: Some("the organisations' own inventories".into()),
        },
    )?;
    let incidents: std::sync::Arc<[String]> = vec![incident.clone()].into();
    let observed = events
        .iter()
        .enumerate()
        .map(|(i, (event, attribution))| {
            baken_store::Observed::of(event, i as u32, attribution, incidents.clone())
        })
        .collect();
    let list: Vec<&Event> = events.iter().map(|(e, _)| e).collect();
    let mut batch = baken_store::Batch::default();
    if !list.is_empty() {
        batch
            .chunks
            .push(baken_store::KeptChunk::events(1, &list, observed)?);
    }
    let counts = store.store_batch(run, &batch)?;
    let rows = list;
    store.finish_run(run, rows.len() as u64, counts)?;
    store.add_step(&TimelineStep {
        incident,
        step: "exposure-recorded".into(),
        at: now(),
        detail: format!(
            "{} scan findings linked, {} inventory matches ({} new)",
            linked.len(),
            rows.len(),
            counts.stored
        ),
    })?;
    Ok(counts.stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exposure analysis reads findings that keep only [`EventFields::Exposure`]: each
    /// observation made from such a finding is the one made from the whole event, whichever
    /// of the fields it reads an event has.
    #[test]
    fn exposure_reads_only_the_fields_it_keeps() {
        let read = [
            (
                "product.vulnerabilities",
                serde_json::json!("CVE-2019-19781, cve-2020-0001"),
            ),
            ("product.product", serde_json::json!("NetScaler ADC")),
            ("product.name", serde_json::json!("Citrix ADC")),
            ("product.vendor", serde_json::json!("Citrix")),
            ("product.version", serde_json::json!("13.0")),
            ("extra.version", serde_json::json!("13.0.47")),
            (
                "extra.cpe",
                serde_json::json!(["cpe:/a:citrix:netscaler:13.0", "cpe:/h:x:y"]),
            ),
            ("feed.name", serde_json::json!("Vulnerable HTTP")),
        ];
        let other = [
            ("source.asn", serde_json::json!(64496)),
            ("source.port", serde_json::json!(443)),
            (
                "classification.identifier",
                serde_json::json!("vulnerable-service"),
            ),
            (
                "time.source",
                serde_json::json!("2020-01-10T00:00:00+00:00"),
            ),
            ("extra.tag", serde_json::json!("citrix")),
        ];
        // every subset of the fields read, beside the others
        for mask in 0..(1u32 << read.len()) {
            let mut event = Event::new();
            event.insert_static("source.ip", "198.18.0.7");
            for (k, (name, value)) in read.iter().enumerate() {
                if mask & (1 << k) != 0 {
                    event.insert_static(name, value.clone());
                }
            }
            for (name, value) in &other {
                event.insert_static(name, value.clone());
            }
            let mut kept = event.clone();
            kept.retain(|name| EventFields::Exposure.keeps(name));
            assert!(kept.len() < event.len());
            let ip = "198.18.0.7";
            assert_eq!(
                cve_observation(&kept, "org-1".into(), ip),
                cve_observation(&event, "org-1".into(), ip),
                "{mask:b}"
            );
            assert_eq!(
                service_observations(&kept, "org-1", ip).collect::<Vec<_>>(),
                service_observations(&event, "org-1", ip).collect::<Vec<_>>(),
                "{mask:b}"
            );
        }
    }
}
