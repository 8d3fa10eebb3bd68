//! Synthetic input for the Citrix 2020 replay: a national registry, a Shadowserver
//! Vulnerable-HTTP feed, a prefix-to-AS table and an RPSL dump of hosting providers.
//!
//! Everything is deterministic for a given seed and uses only documentation address space
//! (198.18.0.0/15, 2001:db8::/32) and `.example` names.
//!
//! Address plan:
//!
//! | range | who |
//! |---|---|
//! | 198.18.0.0/16, one /30 per organisation (the first 16,384) | registered organisations, by network |
//! | 2001:db8:XXXX:YY00::/56, one per organisation | registered organisations, by network |
//! | 198.19.0.0/20 … 198.19.224.0/20 (15 blocks) | hosting providers, in RPSL and the routing table only |
//! | 198.19.240.0/20, one /26 each | organisations registered by AS number only |
//! | 198.19.224.0/20 | the last hoster block: announced, but no RPSL object (nobody to tell) |

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use baken_model::{Contact, ContactRole, OrgId, OrgKind, Organisation, WbniDuties};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{DemoError, io_error};

/// The Citrix incident's tag in Shadowserver's `tag` column.
pub const CITRIX_TAG: &str = "citrix;cve-2019-19781";
/// The Citrix incident's id.
pub const CITRIX_INCIDENT: &str = "cve-2019-19781";
/// The id of the demo's CSAF advisory for CVE-2019-19781.
pub const DEMO_ADVISORY: &str = "DEMO-2020-0001";
/// The demo's CSAF 2.0 advisory (synthetic; Citrix ADC 13.0 below 13.0.47.24 and Gateway 13.0
/// affected, CVSS 3.1 9.8).
const ADVISORY_JSON: &str = include_str!("advisory.json");

/// The CPE of Citrix ADC in the demo advisory and inventories.
const ADC_CPE: &str =
    "cpe:2.3:o:citrix:application_delivery_controller_firmware:13.0:*:*:*:*:*:*:*";

/// What the generator planted in one inventory, for checking the exposure analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planted {
    /// A Citrix ADC build below the fix.
    Affected,
    /// The fixed build.
    Fixed,
    /// A build string no version scheme can compare.
    Unknown,
}

/// A sector: name, share of organisations in ‰, chance of being vital in ‰, supervisor, CERT.
type Sector = (
    &'static str,
    u32,
    u32,
    Option<&'static str>,
    Option<&'static str>,
);

const SECTORS: &[Sector] = &[
    ("health", 120, 40, Some("igj"), Some("z-cert")),
    ("energy", 30, 400, Some("acm"), Some("eds-isac")),
    ("water", 20, 400, Some("ilt"), None),
    ("finance", 80, 80, Some("dnb"), Some("fi-isac")),
    ("government", 60, 150, None, Some("cert-gov")),
    ("telecom", 30, 250, Some("rdi"), None),
    ("transport", 50, 100, Some("ilt"), None),
    ("education", 100, 0, None, Some("surfcert")),
    ("retail", 150, 0, None, None),
    ("manufacturing", 160, 0, None, None),
    ("business-services", 200, 0, None, None),
];

const HOSTERS: u32 = 15;
const ISP_ASN: u32 = 4_200_000_001;
const HOSTER_ASN_BASE: u32 = 4_200_001_000;
const ORG_ASN_BASE: u32 = 4_200_100_000;
const ASN_ONLY_SLOTS: u32 = 64;

/// Sizes of the generated world.
#[derive(Debug, Clone)]
pub struct Params {
    /// Registered organisations (besides CERTs, supervisors, the DTC and hosters).
    pub orgs: u32,
    /// Seed of the random generator.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            orgs: 10_000,
            seed: 2020,
        }
    }
}

/// The files written.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The registry (JSON).
    pub registry: PathBuf,
    /// The Shadowserver feed (CSV).
    pub feed: PathBuf,
    /// The prefix-to-AS table (CAIDA pfx2as).
    pub pfx2as: PathBuf,
    /// The RPSL dump of the hosting providers.
    pub rpsl: PathBuf,
    /// Rows in the feed, including malformed ones.
    pub feed_rows: u64,
    /// Rows carrying the Citrix tag (well-formed).
    pub citrix_rows: u64,
    /// Malformed rows planted in the feed.
    pub malformed_rows: u64,
    /// The CSAF advisory.
    pub advisory: PathBuf,
    /// Inventory files: (organisation, file, what its Citrix ADC entry is).
    pub inventories: Vec<(String, PathBuf, Planted)>,
    /// Inventory files that name no Citrix product: about half the vital providers and 2 %
    /// of the other organisations beside those above, for the dependency picture.
    pub other_inventories: Vec<(String, PathBuf)>,
}

fn org_v4(i: u32) -> Option<Ipv4Addr> {
    (i < 16_384).then(|| Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + 4 * i))
}

fn org_v6(i: u32) -> Ipv6Addr {
    Ipv6Addr::new(
        0x2001,
        0x0db8,
        (i >> 8) as u16,
        ((i & 0xff) << 8) as u16,
        0,
        0,
        0,
        0,
    )
}

fn hoster_block(h: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 0, 0)) + (h << 12))
}

fn asn_only_block(slot: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 240, 0)) + (slot << 6))
}

/// What the generator decided about one organisation.
struct OrgPlan {
    index: u32,
    asn_only_slot: Option<u32>,
    domain_only: bool,
    sector: &'static str,
    vital: bool,
}

/// Writes the registry, feed, routing table and RPSL dump into `dir`.
pub fn generate(params: &Params, dir: &Path) -> Result<Generated, DemoError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut rng = StdRng::seed_from_u64(params.seed);
    let registry = dir.join("registry.json");
    // written as each organisation is made, one per line of the array: a national registry
    // held whole takes a gigabyte
    let out = std::fs::File::create(&registry).map_err(io_error(&registry))?;
    let mut out = std::io::BufWriter::new(out);
    let mut first = true;
    let mut write = |org: Organisation| -> std::io::Result<()> {
        use std::io::Write;
        out.write_all(if first {
            b"{\"organisations\": [\n"
        } else {
            b",\n"
        })?;
        first = false;
        serde_json::to_writer(&mut out, &org).map_err(std::io::Error::from)
    };
    let plans = make_registry(params, &mut rng, &mut write).map_err(io_error(&registry))?;
    {
        use std::io::Write;
        out.write_all(if first {
            b"{\"organisations\": []}\n"
        } else {
            b"\n]}\n"
        })
        .and_then(|()| out.flush())
        .map_err(io_error(&registry))?;
    }

    let pfx2as = dir.join("routeviews-pfx2as.txt");
    write_pfx2as(&pfx2as, &plans)?;
    let rpsl = dir.join("ripe.db");
    write_rpsl(&rpsl)?;
    let feed = dir.join("2020-01-10-scan_http_vulnerable-nl-geo-asn.csv");
    let (feed_rows, citrix_rows, malformed_rows) = write_feed(&feed, params, &plans, &mut rng)?;
    let advisory = dir.join(format!("{DEMO_ADVISORY}.json"));
    std::fs::write(&advisory, ADVISORY_JSON).map_err(io_error(&advisory))?;
    let inventories = write_inventories(&dir.join("inventories"), &plans, &mut rng)?;
    // the rest of the dependency picture from a generator of its own, so that everything
    // above comes out as it did before it was added
    let mut deps_rng = StdRng::seed_from_u64(params.seed ^ 0xdeb5);
    let other_inventories = write_other_inventories(
        &dir.join("inventories"),
        &plans,
        &inventories,
        &mut deps_rng,
    )?;
    Ok(Generated {
        registry,
        feed,
        pfx2as,
        rpsl,
        feed_rows,
        citrix_rows,
        malformed_rows,
        advisory,
        inventories,
        other_inventories,
    })
}

/// About 4 % of the organisations with their own networks declare an inventory: a Citrix ADC
/// (mostly an affected build, some fixed, some with a build string nobody can compare) and an
/// unrelated web server.
fn write_inventories(
    dir: &Path,
    plans: &[OrgPlan],
    rng: &mut StdRng,
) -> Result<Vec<(String, PathBuf, Planted)>, DemoError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut out = Vec::new();
    for plan in plans {
        if plan.asn_only_slot.is_some() || plan.domain_only || rng.gen_range(0..100) >= 4 {
            continue;
        }
        let i = plan.index;
        let host = match org_v4(i) {
            Some(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) + 1)),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(org_v6(i)) + 1)),
        };
        let roll = rng.gen_range(0..10);
        let (planted, version) = match roll {
            0..=5 => (
                Planted::Affected,
                format!("13.0.{}.{}", rng.gen_range(36..47), rng.gen_range(1..30)),
            ),
            6..=8 => (Planted::Fixed, "13.0.47.24".to_string()),
            _ => (Planted::Unknown, "13.0-build-unknown".to_string()),
        };
        let path = dir.join(format!("org-{i}.csv"));
        let text = format!(
            "cpe,version,host\n{ADC_CPE},{version},{host}\n\
             cpe:2.3:a:apache:http_server:2.4.41:*:*:*:*:*:*:*,2.4.41,www.org-{i}.example\n\
             {}",
            other_products(plan, None)
        );
        std::fs::write(&path, text).map_err(io_error(&path))?;
        out.push((format!("org-{i}"), path, planted));
    }
    Ok(out)
}

/// The products an organisation runs besides Citrix, by sector, as `cpe,version,host` lines.
/// `rng` is `None` for the Citrix inventories: their lines are picked by the organisation's
/// index, so the main generator draws what it drew before.
fn other_products(plan: &OrgPlan, rng: Option<&mut StdRng>) -> String {
    let mut fallback = StdRng::seed_from_u64(u64::from(plan.index) ^ 0x5eed);
    let rng = rng.unwrap_or(&mut fallback);
    let i = plan.index;
    let own = match org_v4(i) {
        Some(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) + 2)),
        None => IpAddr::V6(Ipv6Addr::from(u128::from(org_v6(i)) + 2)),
    };
    // about a fifth run their mail at one of the hosting providers that have an RPSL object
    let hosted = IpAddr::V4(Ipv4Addr::from(
        u32::from(hoster_block(i % (HOSTERS - 1))) + 1 + (i % 4000),
    ));
    let mut out = String::new();
    let mut line = |cpe: &str, version: &str, host: IpAddr| {
        out.push_str(&format!("{cpe},{version},{host}\n"));
    };
    if rng.gen_bool(0.8) {
        line(OS_CPE, "10.0.17763", own);
    }
    if rng.gen_bool(0.6) {
        let host = if rng.gen_bool(0.35) { hosted } else { own };
        line(MAIL_CPE, "15.2.1118", host);
    }
    if rng.gen_bool(0.45) {
        line("cpe:2.3:o:vmware:esxi:7.0:*:*:*:*:*:*:*", "7.0.3", own);
    }
    let total: u32 = FIREWALLS.iter().map(|f| f.2).sum();
    let mut x = rng.gen_range(0..total);
    for (cpe, version, weight) in FIREWALLS {
        if x < *weight {
            line(cpe, version, own);
            break;
        }
        x -= weight;
    }
    for (sector, cpe, version, chance) in BY_SECTOR {
        if *sector == plan.sector && rng.gen_bool(*chance) {
            line(cpe, version, own);
        }
    }
    if rng.gen_bool(0.06) {
        line(
            "cpe:2.3:a:kaspersky:endpoint_security:11.0:*:*:*:*:windows:*:*",
            "11.0.1",
            own,
        );
    }
    out
}

const OS_CPE: &str = "cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*";
const MAIL_CPE: &str = "cpe:2.3:a:microsoft:exchange_server:2019:*:*:*:*:*:*:*";

/// Firewalls and VPN gateways: CPE, version, weight (one each).
const FIREWALLS: &[(&str, &str, u32)] = &[
    (
        "cpe:2.3:o:fortinet:fortios:6.4.4:*:*:*:*:*:*:*",
        "6.4.4",
        35,
    ),
    (
        "cpe:2.3:o:cisco:adaptive_security_appliance_software:9.12:*:*:*:*:*:*:*",
        "9.12",
        25,
    ),
    (
        "cpe:2.3:a:pulsesecure:pulse_connect_secure:9.1:*:*:*:*:*:*:*",
        "9.1r8",
        15,
    ),
    ("cpe:2.3:o:checkpoint:gaia_os:r81:*:*:*:*:*:*:*", "R81", 10),
    ("cpe:2.3:o:sophos:sfos:18.0:*:*:*:*:*:*:*", "18.0.4", 15),
];

/// Products of one sector: sector, CPE, version, chance.
const BY_SECTOR: &[(&str, &str, &str, f64)] = &[
    (
        "health",
        "cpe:2.3:a:chipsoft:hix:6.3:*:*:*:*:*:*:*",
        "6.3",
        0.55,
    ),
    (
        "energy",
        "cpe:2.3:a:siemens:simatic_wincc:7.5:*:*:*:*:*:*:*",
        "7.5",
        0.5,
    ),
    (
        "energy",
        "cpe:2.3:a:schneider-electric:ecostruxure_scada_expert:2020:*:*:*:*:*:*:*",
        "2020",
        0.35,
    ),
    (
        "water",
        "cpe:2.3:a:siemens:simatic_wincc:7.5:*:*:*:*:*:*:*",
        "7.5",
        0.45,
    ),
    (
        "water",
        "cpe:2.3:a:schneider-electric:ecostruxure_scada_expert:2020:*:*:*:*:*:*:*",
        "2020",
        0.4,
    ),
    (
        "government",
        "cpe:2.3:a:centric:key2burgerzaken:4.2:*:*:*:*:*:*:*",
        "4.2",
        0.5,
    ),
    (
        "telecom",
        "cpe:2.3:o:huawei:vrp:8.180:*:*:*:*:*:*:*",
        "8.180",
        0.45,
    ),
    (
        "finance",
        "cpe:2.3:a:sap:netweaver_application_server_abap:7.50:*:*:*:*:*:*:*",
        "7.50",
        0.35,
    ),
    (
        "manufacturing",
        "cpe:2.3:a:sap:netweaver_application_server_abap:7.50:*:*:*:*:*:*:*",
        "7.50",
        0.3,
    ),
    (
        "retail",
        "cpe:2.3:a:exact:globe:412:*:*:*:*:*:*:*",
        "412",
        0.25,
    ),
    (
        "business-services",
        "cpe:2.3:a:exact:globe:412:*:*:*:*:*:*:*",
        "412",
        0.3,
    ),
    (
        "transport",
        "cpe:2.3:a:sap:netweaver_application_server_abap:7.50:*:*:*:*:*:*:*",
        "7.50",
        0.3,
    ),
];

/// About half the vital providers and 2 % of the other organisations with their own
/// networks, beside those with a Citrix inventory, declare what they run: no Citrix product.
fn write_other_inventories(
    dir: &Path,
    plans: &[OrgPlan],
    citrix: &[(String, PathBuf, Planted)],
    rng: &mut StdRng,
) -> Result<Vec<(String, PathBuf)>, DemoError> {
    let taken: std::collections::HashSet<&str> = citrix.iter().map(|c| c.0.as_str()).collect();
    let mut out = Vec::new();
    for plan in plans {
        let chance = if plan.vital { 0.5 } else { 0.02 };
        if plan.asn_only_slot.is_some() || plan.domain_only || !rng.gen_bool(chance) {
            continue;
        }
        let id = format!("org-{}", plan.index);
        if taken.contains(id.as_str()) {
            continue;
        }
        let path = dir.join(format!("{id}.csv"));
        let text = format!("cpe,version,host\n{}", other_products(plan, Some(rng)));
        std::fs::write(&path, text).map_err(io_error(&path))?;
        out.push((id, path));
    }
    Ok(out)
}

fn pick_sector(rng: &mut StdRng) -> usize {
    let total: u32 = SECTORS.iter().map(|s| s.1).sum();
    let mut x = rng.gen_range(0..total);
    for (i, s) in SECTORS.iter().enumerate() {
        if x < s.1 {
            return i;
        }
        x -= s.1;
    }
    SECTORS.len() - 1
}

const NAME_A: &[&str] = &[
    "Noord", "Zuid", "Oost", "West", "Lage", "Hoge", "Groene", "Blauwe", "Rode", "Nieuwe", "Oude",
    "Grote",
];
const NAME_B: &[&str] = &[
    "Polder", "Haven", "Dijk", "Molen", "Brug", "Gracht", "Duin", "Veld", "Waard", "Zorg",
    "Stroom", "Net",
];
const NAME_C: &[&str] = &["BV", "NV", "Groep", "Diensten", "Stichting", "Holding"];

/// Makes the organisations of the registry, each handed to `emit` as it is made, and the plan
/// of each one's networks.
fn make_registry(
    params: &Params,
    rng: &mut StdRng,
    emit: &mut dyn FnMut(Organisation) -> std::io::Result<()>,
) -> std::io::Result<Vec<OrgPlan>> {
    let mut plans = Vec::new();
    let mut asn_slots = 0;
    for i in 0..params.orgs {
        let s = pick_sector(rng);
        let (sector, _, vital_permille, supervisor, cert) = SECTORS[s];
        let vital = rng.gen_range(0..1000) < vital_permille;
        let name = format!(
            "{}{} {} {}",
            NAME_A[rng.gen_range(0..NAME_A.len())],
            NAME_B[rng.gen_range(0..NAME_B.len())].to_lowercase(),
            NAME_C[rng.gen_range(0..NAME_C.len())],
            i
        );
        let domain = format!("org-{i}.example");
        // A few large organisations are registered by their AS number only, a few by
        // domain only (their servers sit at a hoster); the rest by their networks.
        let roll = rng.gen_range(0..1000);
        let asn_only_slot = (roll < 8 && asn_slots < ASN_ONLY_SLOTS).then(|| {
            asn_slots += 1;
            asn_slots - 1
        });
        let domain_only = asn_only_slot.is_none() && (8..20).contains(&roll);
        let mut networks = Vec::new();
        let mut asns = Vec::new();
        if let Some(slot) = asn_only_slot {
            asns.push(ORG_ASN_BASE + slot);
        } else if !domain_only {
            if let Some(v4) = org_v4(i) {
                networks.push(format!("{v4}/30").parse().expect("valid /30"));
            }
            networks.push(format!("{}/56", org_v6(i)).parse().expect("valid /56"));
        }
        let contact_roll = rng.gen_range(0..100);
        let contacts = match contact_roll {
            0..=1 => vec![],
            2..=4 => vec![Contact {
                email: format!("abuse@{domain}"),
                role: ContactRole::Abuse,
                language: None,
                ..Default::default()
            }],
            _ => vec![
                Contact {
                    email: format!("security@{domain}"),
                    role: ContactRole::Security,
                    language: None,
                    ..Default::default()
                },
                Contact {
                    email: format!("abuse@{domain}"),
                    role: ContactRole::Abuse,
                    language: None,
                    ..Default::default()
                },
            ],
        };
        emit(Organisation {
            id: OrgId(format!("org-{i}")),
            name,
            kind: OrgKind::Organisation,
            sector: Some(sector.into()),
            vital,
            wbni: WbniDuties {
                report: vital,
                care: vital && rng.gen_bool(0.6),
            },
            supervisor: supervisor.map(str::to_string),
            cert: cert.map(str::to_string),
            networks,
            asns,
            domains: vec![domain],
            contacts,
        })?;
        plans.push(OrgPlan {
            index: i,
            asn_only_slot,
            domain_only,
            sector,
            vital,
        });
    }
    let party = |id: &str, name: &str, kind: OrgKind, sector: Option<&str>| Organisation {
        id: OrgId(id.into()),
        name: name.into(),
        kind,
        sector: sector.map(str::to_string),
        vital: false,
        wbni: WbniDuties::default(),
        supervisor: None,
        cert: None,
        networks: vec![],
        asns: vec![],
        domains: vec![format!("{id}.example")],
        contacts: vec![Contact {
            email: format!("info@{id}.example"),
            role: ContactRole::Security,
            language: None,
            ..Default::default()
        }],
    };
    for cert in SECTORS.iter().filter_map(|s| s.4) {
        emit(party(cert, &cert.to_uppercase(), OrgKind::Cert, None))?;
    }
    let mut supervisors: Vec<&str> = SECTORS.iter().filter_map(|s| s.3).collect();
    supervisors.sort_unstable();
    supervisors.dedup();
    for sup in supervisors {
        emit(party(sup, &sup.to_uppercase(), OrgKind::Supervisor, None))?;
    }
    emit(party("dtc", "Digital Trust Center", OrgKind::Dtc, None))?;
    emit(party("ncsc", "NCSC", OrgKind::NationalCsirt, None))?;
    for h in 0..HOSTERS {
        let mut hoster = party(
            &format!("hoster-{h}"),
            &format!("Hoster {h} Hosting BV"),
            OrgKind::Hoster,
            Some("hosting"),
        );
        hoster.contacts = vec![Contact {
            email: format!("abuse@hoster-{h}.example"),
            role: ContactRole::Abuse,
            language: None,
            ..Default::default()
        }];
        emit(hoster)?;
    }
    Ok(plans)
}

fn write_pfx2as(path: &Path, plans: &[OrgPlan]) -> Result<(), DemoError> {
    let mut out = String::new();
    out.push_str(&format!("198.18.0.0\t16\t{ISP_ASN}\n"));
    out.push_str(&format!("2001:db8::\t32\t{ISP_ASN}\n"));
    for h in 0..HOSTERS {
        out.push_str(&format!(
            "{}\t20\t{}\n",
            hoster_block(h),
            HOSTER_ASN_BASE + h
        ));
    }
    for slot in plans.iter().filter_map(|p| p.asn_only_slot) {
        out.push_str(&format!(
            "{}\t26\t{}\n",
            asn_only_block(slot),
            ORG_ASN_BASE + slot
        ));
    }
    std::fs::write(path, out).map_err(io_error(path))
}

fn write_rpsl(path: &Path) -> Result<(), DemoError> {
    let mut out = String::from(
        "% Synthetic RPSL split dump for the baken demo (documentation address space).\n\n",
    );
    // The last hoster block has no object: its addresses lead to nobody. Most hosters are
    // in the country; some abroad, as the dependency picture's hosting countries show.
    const COUNTRIES: [&str; 6] = ["NL", "NL", "NL", "DE", "IE", "US"];
    for h in 0..HOSTERS - 1 {
        let country = COUNTRIES[h as usize % COUNTRIES.len()];
        let start = hoster_block(h);
        let end = Ipv4Addr::from(u32::from(start) + 4095);
        out.push_str(&format!(
            "inetnum:        {start} - {end}\n\
             netname:        HOSTER{h}-NET\n\
             country:        {country}\n\
             admin-c:        HOST{h}-RIPE\n\
             abuse-c:        ABUSE{h}-RIPE\n\
             status:         ASSIGNED PA\n\
             source:         RIPE\n\n\
             aut-num:        AS{asn}\n\
             as-name:        HOSTER{h}\n\
             country:        {country}\n\
             abuse-c:        ABUSE{h}-RIPE\n\
             source:         RIPE\n\n\
             role:           Hoster {h} abuse desk\n\
             address:        Dummy address for ABUSE{h}-RIPE\n\
             abuse-mailbox:  abuse@hoster-{h}.example\n\
             nic-hdl:        ABUSE{h}-RIPE\n\
             source:         RIPE\n\n",
            asn = HOSTER_ASN_BASE + h
        ));
    }
    std::fs::write(path, out).map_err(io_error(path))
}

/// The columns of Shadowserver's `scan_http_vulnerable` report.
const FEED_COLUMNS: &[&str] = &[
    "timestamp",
    "severity",
    "ip",
    "protocol",
    "port",
    "hostname",
    "tag",
    "asn",
    "geo",
    "region",
    "city",
    "naics",
    "hostname_source",
    "sector",
    "http",
    "http_code",
    "http_reason",
    "content_type",
    "connection",
    "www_authenticate",
    "set_cookie",
    "server",
    "content_length",
    "transfer_encoding",
    "http_date",
    "version",
    "build_date",
    "detail",
    "build_branch",
];

struct Host {
    ip: IpAddr,
    asn: Option<u32>,
    hostname: String,
}

fn pick_host(rng: &mut StdRng, plans: &[OrgPlan]) -> Host {
    let roll = rng.gen_range(0..100);
    let plan = &plans[rng.gen_range(0..plans.len())];
    let i = plan.index;
    if roll < 12 {
        // Nobody registered: a customer of a hoster, found through the RPSL abuse contact
        // (or nobody at all in the last block).
        let h = rng.gen_range(0..HOSTERS);
        let ip = Ipv4Addr::from(u32::from(hoster_block(h)) + rng.gen_range(1..4095));
        return Host {
            ip: IpAddr::V4(ip),
            asn: Some(HOSTER_ASN_BASE + h),
            hostname: String::new(),
        };
    }
    if let Some(slot) = plan.asn_only_slot {
        let ip = Ipv4Addr::from(u32::from(asn_only_block(slot)) + rng.gen_range(1..63));
        return Host {
            ip: IpAddr::V4(ip),
            asn: None,
            hostname: String::new(),
        };
    }
    if plan.domain_only {
        let h = rng.gen_range(0..HOSTERS);
        let ip = Ipv4Addr::from(u32::from(hoster_block(h)) + rng.gen_range(1..4095));
        return Host {
            ip: IpAddr::V4(ip),
            asn: Some(HOSTER_ASN_BASE + h),
            hostname: format!("gateway.org-{i}.example"),
        };
    }
    let v6 = org_v4(i).is_none() || rng.gen_range(0..10) == 0;
    let ip = if v6 {
        let base = u128::from(org_v6(i));
        IpAddr::V6(Ipv6Addr::from(base + rng.gen_range(1..1000)))
    } else {
        let base = u32::from(org_v4(i).expect("checked"));
        IpAddr::V4(Ipv4Addr::from(base + rng.gen_range(1..3)))
    };
    Host {
        ip,
        asn: Some(ISP_ASN),
        hostname: format!("citrix.org-{i}.example"),
    }
}

fn write_feed(
    path: &Path,
    params: &Params,
    plans: &[OrgPlan],
    rng: &mut StdRng,
) -> Result<(u64, u64, u64), DemoError> {
    let file = std::fs::File::create(path).map_err(io_error(path))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let to_io = |e: csv::Error| DemoError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    w.write_record(FEED_COLUMNS).map_err(to_io)?;
    let citrix = (params.orgs * 3 / 10).max(30);
    let unrelated = (params.orgs / 5).max(10);
    let malformed = 12u64;
    let total = citrix as u64 + unrelated as u64 + malformed;
    let mut seen = std::collections::HashSet::new();
    let mut written = 0u64;
    let mut planted = 0u64;
    let mut citrix_written = 0u64;
    for n in 0..total {
        let kind = if n < citrix as u64 {
            0
        } else if n < (citrix + unrelated) as u64 {
            1
        } else {
            2
        };
        let host = pick_host(rng, plans);
        if kind != 2 && !seen.insert(host.ip) {
            continue; // one row per address, as Shadowserver reports
        }
        let (tag, server, version) = match kind {
            0 => (CITRIX_TAG, "Apache", "13.0"),
            _ if rng.gen_bool(0.5) => ("pulse;cve-2019-11510", "", "9.0R3"),
            _ => ("f5;cve-2020-5902", "BigIP", "15.1.0"),
        };
        let minute = rng.gen_range(0..24 * 60);
        let timestamp = format!(
            "2020-01-10 {:02}:{:02}:{:02}",
            minute / 60,
            minute % 60,
            rng.gen_range(0..60)
        );
        let mut ip = host.ip.to_string();
        let mut ts = timestamp;
        if kind == 2 {
            planted += 1;
            match planted % 3 {
                0 => ip = format!("198.18.{}.300", rng.gen_range(0..255)),
                1 => ts = "yesterday".into(),
                _ => ip = String::new(),
            }
        }
        let asn = host.asn.map(|a| a.to_string()).unwrap_or_default();
        let port = "443";
        let record = [
            ts.as_str(),
            "critical",
            ip.as_str(),
            "tcp",
            port,
            host.hostname.as_str(),
            tag,
            asn.as_str(),
            "NL",
            "NOORD-HOLLAND",
            "AMSTERDAM",
            "0",
            "rdns",
            "",
            "HTTP/1.1",
            "200",
            "OK",
            "text/html",
            "close",
            "",
            "NSC_TEMP=xyz",
            server,
            "1024",
            "",
            "Fri, 10 Jan 2020 10:00:00 GMT",
            version,
            "",
            "",
            "",
        ];
        w.write_record(record).map_err(to_io)?;
        written += 1;
        citrix_written += u64::from(kind == 0);
    }
    let inner = w.into_inner().map_err(|e| DemoError::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e.to_string()),
    })?;
    inner
        .into_inner()
        .map_err(|e| DemoError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e.to_string()),
        })?
        .flush()
        .map_err(io_error(path))?;
    Ok((written, citrix_written, planted))
}
