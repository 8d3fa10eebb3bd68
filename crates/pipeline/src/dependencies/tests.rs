//! The dependency figures on a small registry whose every figure is worked out by hand below.
//!
//! The world:
//!
//! | org | sector | vital | declares |
//! |---|---|---|---|
//! | a | health | yes | Citrix ADC at 198.18.1.10, Microsoft Exchange at 198.19.0.10 (at hoster h1) |
//! | b | health | yes | Citrix ADC (no host), ChipSoft HiX |
//! | c | health | no | Microsoft Windows 10 |
//! | d | energy | yes | Siemens SIMATIC at 198.19.1.7, Microsoft Windows Server, a name without CPE or purl |
//! | e | energy | no | nothing |
//! | f | energy | no | log4j-core (purl `pkg:maven/org.apache.logging.log4j/…`: vendor apache) |
//!
//! plus a CERT (z-cert, for a) and a hoster h1 (198.19.0.0/24, AS64501); 198.18.0.0/16 is
//! routed by AS64500, registered to nobody, whose RPSL holder is "Transit Example"; d's
//! SIMATIC sits at 198.19.1.7, routed by AS64502, registered to nobody, whose RPSL abuse
//! mailbox is that of the registered hoster h2.

use baken_attribute::Attributor;
use baken_model::{
    AbuseContact, AbuseRecord, AbuseScope, Contact, ContactRole, OrgId, OrgKind, Organisation,
    RoutedPrefix, WbniDuties,
};
use baken_store::InventoryRecord;

use super::*;

fn org(
    id: &str,
    kind: OrgKind,
    sector: Option<&str>,
    vital: bool,
    net: Option<&str>,
) -> Organisation {
    Organisation {
        id: OrgId(id.into()),
        name: format!("Org {id}"),
        kind,
        sector: sector.map(str::to_string),
        vital,
        wbni: WbniDuties::default(),
        supervisor: None,
        cert: None,
        networks: net.into_iter().map(|n| n.parse().unwrap()).collect(),
        asns: vec![],
        domains: vec![format!("{id}.example")],
        contacts: vec![Contact {
            email: format!("security@{id}.example"),
            role: ContactRole::Security,
            language: None,
            ..Default::default()
        }],
    }
}

fn world() -> (Attributor, Vec<InventoryRecord>) {
    let mut a = org(
        "a",
        OrgKind::Organisation,
        Some("health"),
        true,
        Some("198.18.1.0/24"),
    );
    a.cert = Some("z-cert".into());
    let mut b = org(
        "b",
        OrgKind::Organisation,
        Some("health"),
        true,
        Some("198.18.2.0/24"),
    );
    b.contacts.clear();
    let c = org(
        "c",
        OrgKind::Organisation,
        Some("health"),
        false,
        Some("198.18.3.0/24"),
    );
    let d = org(
        "d",
        OrgKind::Organisation,
        Some("energy"),
        true,
        Some("198.18.4.0/24"),
    );
    let e = org(
        "e",
        OrgKind::Organisation,
        Some("energy"),
        false,
        Some("198.18.5.0/24"),
    );
    let f = org(
        "f",
        OrgKind::Organisation,
        Some("energy"),
        false,
        Some("198.18.6.0/24"),
    );
    let cert = org("z-cert", OrgKind::Cert, None, false, None);
    let mut h1 = org(
        "h1",
        OrgKind::Hoster,
        Some("hosting"),
        false,
        Some("198.19.0.0/24"),
    );
    h1.asns = vec![64501];
    let mut h2 = org("h2", OrgKind::Hoster, Some("hosting"), false, None);
    h2.contacts[0].email = "abuse@h2.example".into();
    let routed = vec![
        RoutedPrefix {
            net: "198.18.0.0/16".parse().unwrap(),
            asn: 64500,
        },
        RoutedPrefix {
            net: "198.19.0.0/24".parse().unwrap(),
            asn: 64501,
        },
        RoutedPrefix {
            net: "198.19.1.0/24".parse().unwrap(),
            asn: 64502,
        },
    ];
    let abuse = vec![
        AbuseRecord {
            scope: AbuseScope::Asn(64500),
            contact: AbuseContact {
                email: "abuse@transit.example".into(),
                via: "aut-num AS64500".into(),
                holder: Some("Transit Example".into()),
                country: Some("DE".into()),
            },
        },
        AbuseRecord {
            scope: AbuseScope::Asn(64502),
            contact: AbuseContact {
                email: "abuse@h2.example".into(),
                via: "aut-num AS64502".into(),
                holder: Some("H2-AS".into()),
                country: Some("NL".into()),
            },
        },
    ];
    let attributor = Attributor::new(vec![a, b, c, d, e, f, cert, h1, h2], routed, abuse).unwrap();
    let entry = |org: &str,
                 cpe: Option<&str>,
                 purl: Option<&str>,
                 name: Option<&str>,
                 host: Option<&str>| {
        InventoryRecord {
            org: org.into(),
            source: format!("{org}.csv"),
            cpe: cpe.map(str::to_string),
            purl: purl.map(str::to_string),
            name: name.map(str::to_string),
            version: None,
            host: host.map(str::to_string),
            place: "line 2".into(),
        }
    };
    const ADC: &str =
        "cpe:2.3:o:citrix:application_delivery_controller_firmware:13.0:*:*:*:*:*:*:*";
    let inventory = vec![
        entry("a", Some(ADC), None, None, Some("198.18.1.10")),
        entry(
            "a",
            Some("cpe:2.3:a:microsoft:exchange_server:2019:*:*:*:*:*:*:*"),
            None,
            None,
            Some("198.19.0.10"),
        ),
        entry("b", Some(ADC), None, None, None),
        entry(
            "b",
            Some("cpe:2.3:a:chipsoft:hix:6.3:*:*:*:*:*:*:*"),
            None,
            None,
            None,
        ),
        entry(
            "c",
            Some("cpe:2.3:o:microsoft:windows_10:22h2:*:*:*:*:*:*:*"),
            None,
            None,
            Some("198.18.3.5"),
        ),
        entry(
            "d",
            Some("cpe:2.3:o:siemens:simatic_s7-1500_firmware:2.9:*:*:*:*:*:*:*"),
            None,
            None,
            Some("198.19.1.7"),
        ),
        entry(
            "d",
            Some("cpe:2.3:o:microsoft:windows_server_2019:-:*:*:*:*:*:*:*"),
            None,
            None,
            None,
        ),
        entry("d", None, None, Some("in-house billing"), None),
        entry(
            "f",
            None,
            Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
            None,
            None,
        ),
        // not in the registry: ignored
        entry("nobody", Some(ADC), None, None, None),
    ];
    (attributor, inventory)
}

fn vendors() -> VendorTable {
    let (table, problems) = VendorTable::parse(
        "vendor,name,country,source\n\
         citrix,Citrix,US,test\nmicrosoft,Microsoft,US,test\nchipsoft,ChipSoft,NL,test\n\
         siemens,Siemens,DE,test\napache,ASF,US,test\n",
        "test",
    );
    assert!(problems.is_empty(), "{problems:?}");
    table
}

fn picture(options: &DependencyOptions) -> Dependencies {
    let (attributor, inventory) = world();
    let policy = crate::load_policy("nl-2020").unwrap();
    dependencies(&attributor, &inventory, &vendors(), &policy, options).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn counts_per_vendor_and_product() {
    let d = picture(&DependencyOptions::default());
    // organisations a–f (not the CERT or the hoster); a, b, c, d, f declared something;
    // 9 entries of registered organisations, one of them without CPE or purl
    assert_eq!((d.organisations, d.with_inventory), (6, 5));
    assert_eq!((d.entries, d.unidentified_entries), (9, 1));
    let v = |name: &str| d.vendors.iter().find(|v| v.vendor == name).unwrap();
    // citrix: a, b (both vital, both health)
    let citrix = v("citrix");
    assert_eq!(
        (citrix.organisations, citrix.vital, citrix.non_vital),
        (2, 2, 0)
    );
    assert_eq!(citrix.sectors, BTreeMap::from([("health".to_string(), 2)]));
    assert_eq!(citrix.products[0].organisations, ["a", "b"]);
    // microsoft: a (exchange), c (windows_10), d (windows_server_2019): 2 vital, 1 not
    let microsoft = v("microsoft");
    assert_eq!(
        (
            microsoft.organisations,
            microsoft.vital,
            microsoft.non_vital
        ),
        (3, 2, 1)
    );
    assert_eq!(microsoft.products.len(), 3);
    assert_eq!(
        microsoft.sectors,
        BTreeMap::from([("energy".to_string(), 1), ("health".to_string(), 2)])
    );
    // apache from the purl's namespace org.apache.logging.log4j
    assert_eq!((v("apache").organisations, v("apache").vital), (1, 0));
    assert_eq!(v("apache").products[0].product, "log4j-core");
    // vital share: a, b, d are the vital providers, all with an inventory
    assert_eq!(d.concentration.vital_with_inventory, 3);
    assert!(close(citrix.vital_share, 2.0 / 3.0));
    assert!(close(microsoft.vital_share, 2.0 / 3.0));
    assert!(close(v("chipsoft").vital_share, 1.0 / 3.0));
    assert!(close(v("apache").vital_share, 0.0));
    // order: most vital dependants first, then most dependants: microsoft (2, 3), citrix (2, 2)
    assert_eq!(
        d.vendors
            .iter()
            .map(|v| v.vendor.as_str())
            .collect::<Vec<_>>(),
        ["microsoft", "citrix", "chipsoft", "siemens", "apache"]
    );
}

#[test]
fn hhi_per_sector_and_country_shares() {
    let d = picture(&DependencyOptions::default());
    let s = |name: &str| {
        d.concentration
            .sectors
            .iter()
            .find(|s| s.sector == name)
            .unwrap()
    };
    // health: a → citrix, microsoft; b → citrix, chipsoft; c → microsoft
    // = citrix 2, microsoft 2, chipsoft 1 of 5: 40² + 40² + 20² = 3600
    let health = s("health");
    assert_eq!(
        (health.organisations, health.vital, health.dependencies),
        (3, 2, 5)
    );
    assert!(close(health.hhi, 3600.0), "{}", health.hhi);
    // vital only (a, b): citrix 2, microsoft 1, chipsoft 1 of 4: 50² + 25² + 25² = 3750
    assert!(close(health.hhi_vital.unwrap(), 3750.0));
    assert_eq!(health.level, "highly concentrated");
    assert!(close(health.top_share, 0.4));
    // energy: d → siemens, microsoft; f → apache = 3 of 1 each: 3 × 33.3…² = 3333.3…
    let energy = s("energy");
    assert!(close(energy.hhi, 10_000.0 / 3.0), "{}", energy.hhi);
    // vital only (d): siemens, microsoft: 2 × 50² = 5000
    assert!(close(energy.hhi_vital.unwrap(), 5000.0));
    // countries over the 8 organisation–vendor dependencies:
    // US citrix 2 + microsoft 3 + apache 1 = 6 → 0.75; NL chipsoft 1 → 0.125; DE siemens 1
    let c = |code: &str| d.countries.iter().find(|c| c.country == code).unwrap();
    assert!(close(c("US").share, 0.75));
    assert_eq!((c("US").organisations, c("US").vital), (5, 3));
    assert!(close(c("US").vital_share, 1.0));
    assert!(close(c("NL").share, 0.125) && close(c("DE").share, 0.125));
    assert!(close(c("NL").vital_share, 1.0 / 3.0));
    assert_eq!(d.countries[0].country, "US");
}

#[test]
fn a_sector_limits_the_picture() {
    let d = picture(&DependencyOptions {
        sector: Some("energy".into()),
        ..Default::default()
    });
    // d, e, f; vital: d only
    assert_eq!((d.organisations, d.with_inventory), (3, 2));
    assert_eq!(d.concentration.vital_with_inventory, 1);
    let microsoft = d.vendors.iter().find(|v| v.vendor == "microsoft").unwrap();
    assert_eq!((microsoft.organisations, microsoft.vital), (1, 1));
    assert!(close(microsoft.vital_share, 1.0));
    assert_eq!(d.concentration.sectors.len(), 1);
}

#[test]
fn non_vital_suppliers_of_vital_providers() {
    let d = picture(&DependencyOptions::default());
    let net = &d.suppliers.network;
    // AS64500 routes every vital provider's own network (a, b, d); its name from RPSL
    assert_eq!(net[0].id, "AS64500");
    assert_eq!(net[0].name, "Transit Example (AS64500)");
    assert_eq!(net[0].vital_providers, ["a", "b", "d"]);
    assert_eq!(net[0].kinds, BTreeSet::from(["network".to_string()]));
    // h1 holds and routes a's Exchange server
    let h1 = net.iter().find(|s| s.id == "h1").unwrap();
    assert_eq!(h1.vital_providers, ["a"]);
    assert_eq!(
        h1.kinds,
        BTreeSet::from(["hosting".to_string(), "network".to_string()])
    );
    // AS64502, registered to nobody, routes d's SIMATIC; its RPSL abuse mailbox is h2's
    let h2 = net.iter().find(|s| s.id == "h2").unwrap();
    assert_eq!(h2.vital_providers, ["d"]);
    assert_eq!(h2.kinds, BTreeSet::from(["network".to_string()]));
    assert_eq!(net.len(), 3);
    // countries from RPSL: AS64500 in DE, AS64502 (through which h2 is found) in NL; h1's
    // network has no RPSL record
    assert_eq!(net[0].countries, BTreeSet::from(["DE".to_string()]));
    assert_eq!(h2.countries, BTreeSet::from(["NL".to_string()]));
    assert!(h1.countries.is_empty());
    let hosting: Vec<(&str, usize, Vec<&str>)> = d
        .suppliers
        .hosting_countries
        .iter()
        .map(|c| {
            (
                c.country.as_str(),
                c.vital_providers,
                c.suppliers.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        hosting,
        [
            ("DE", 3, vec!["AS64500"]),
            ("NL", 1, vec!["h2"]),
            ("unknown", 1, vec!["h1"]),
        ]
    );
    // IT suppliers: every vendor a vital provider names; apache (only f) is not one
    let it: Vec<&str> = d.suppliers.it.iter().map(|s| s.vendor.as_str()).collect();
    assert_eq!(it, ["microsoft", "citrix", "chipsoft", "siemens"]);
    assert_eq!(d.suppliers.it[0].vital_providers, ["a", "d"]);
}

#[test]
fn blast_radius_of_a_vendor() {
    let d = picture(&DependencyOptions {
        vendor: Some("Citrix".into()),
        ..Default::default()
    });
    let b = d.blast_radius.expect("asked for");
    assert_eq!((b.organisations, b.vital, b.non_vital), (2, 2, 0));
    assert_eq!(b.by_sector["health"].organisations, 2);
    assert_eq!(
        b.address_assumed,
        ["b"],
        "b named no host: its network stands in"
    );
    assert_eq!(b.reached + b.unreachable, b.organisations);
    let party = |id: &str| b.parties.iter().find(|p| p.id.to_string() == id).unwrap();
    // a has a security contact and a CERT: told directly and through z-cert; b has neither
    // a contact nor a CERT, and nl-2020 tells nobody else about a vital provider's system
    assert_eq!(
        party("a").coverage,
        Coverage::Reached {
            paths: vec![baken_policy::Path::Direct, baken_policy::Path::Cert]
        }
    );
    match party("b").unreachable_reason() {
        Some(reason) => assert!(reason.contains("no contact address"), "{reason}"),
        None => panic!("b: {:?}", party("b").coverage),
    }
    assert_eq!((b.reached, b.unreachable), (1, 1));
    assert_eq!(
        b.by_path,
        BTreeMap::from([("cert".to_string(), 1), ("direct".to_string(), 1)])
    );
    assert_eq!(b.by_sector["health"].reached, 1);
    // a product the vendor's customers do not run affects nobody
    let none = picture(&DependencyOptions {
        vendor: Some("citrix".into()),
        product: Some("workspace_app".into()),
        ..Default::default()
    });
    assert_eq!(none.blast_radius.unwrap().organisations, 0);
}

#[test]
fn the_page_is_self_contained() {
    let d = picture(&DependencyOptions {
        vendor: Some("citrix".into()),
        ..Default::default()
    });
    let page = html(&d);
    assert_eq!(page.matches("<svg").count(), 3, "three charts");
    assert!(page.contains("Blast radius of citrix"));
    let mut rest = page.as_str();
    while let Some(i) = rest.find("http") {
        let before = &rest[..i];
        // a product such as apache's http_server is text, not a reference
        let url = rest[i..].starts_with("http://") || rest[i..].starts_with("https://");
        assert!(
            !url || before.ends_with("xmlns=\"") || before.ends_with("xmlns:xlink=\""),
            "a reference to elsewhere: {}",
            &rest[i.saturating_sub(40)..(i + 60).min(rest.len())]
        );
        rest = &rest[i + 4..];
    }
    for tag in ["<script", "<link", "<img", "@import", "url("] {
        assert!(!page.contains(tag), "{tag}");
    }
}

#[test]
fn vendor_tables() {
    let shipped = VendorTable::shipped();
    assert!(shipped.len() >= 20);
    assert_eq!(
        shipped.get("siemens").unwrap().country.as_deref(),
        Some("DE")
    );
    assert_eq!(shipped.get("example_company").unwrap().country, None);
    let (mine, problems) = VendorTable::parse(
        "# mine\nvendor,name,country,source\nsiemens,Siemens Energy,de,annual report\nbroken\nacme,Acme,Narnia,x\n",
        "mine.csv",
    );
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("mine.csv:4:"), "{problems:?}");
    assert!(problems[1].contains("ISO 3166-1"), "{problems:?}");
    let merged = shipped.clone().with(mine);
    assert_eq!(merged.get("siemens").unwrap().name, "Siemens Energy");
    assert_eq!(merged.len(), shipped.len());
}

#[test]
fn vendors_from_cpe_and_purl() {
    let check = |cpe: Option<&str>, purl: Option<&str>, expected: Option<(&str, &str)>| {
        assert_eq!(
            identify(cpe, purl),
            expected.map(|(v, p)| (v.to_string(), p.to_string())),
            "{cpe:?} {purl:?}"
        );
    };
    check(
        Some("cpe:2.3:a:apache:http_server:2.4.41:*:*:*:*:*:*:*"),
        None,
        Some(("apache", "http_server")),
    );
    check(
        None,
        Some("pkg:npm/%40angular/core@16.0.0"),
        Some(("angular", "core")),
    );
    check(
        None,
        Some("pkg:deb/debian/openssl@3.0.11"),
        Some(("debian", "openssl")),
    );
    check(
        None,
        Some("pkg:pypi/requests@2.31.0"),
        Some(("requests", "requests")),
    );
    check(
        None,
        Some("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.15.0"),
        Some(("fasterxml", "jackson-databind")),
    );
    // a CPE with a wildcard vendor names nobody; the purl then decides
    check(
        Some("cpe:2.3:a:*:x:*:*:*:*:*:*:*:*"),
        Some("pkg:golang/github.com/gin-gonic/gin@1.9.0"),
        Some(("gin-gonic", "gin")),
    );
    check(Some("not a cpe"), None, None);
    check(None, None, None);
}

#[test]
fn an_address_both_declared_and_a_networks_first_counts_as_declared() {
    let x = org(
        "x",
        OrgKind::Organisation,
        Some("health"),
        true,
        Some("198.18.9.0/24"),
    );
    let first: IpAddr = "198.18.9.0".parse().unwrap();
    let other: IpAddr = "198.18.9.7".parse().unwrap();
    let hosts = BTreeMap::from([("x", vec![other, first])]);
    assert_eq!(
        addresses_of(&x, &hosts),
        [(first, true), (other, true)],
        "a declared address is where a system runs, so its holder is a hosting supplier"
    );
    assert_eq!(addresses_of(&x, &BTreeMap::new()), [(first, false)]);
}

#[test]
fn hhi_of_known_markets() {
    let check = |counts: &[usize], expected: f64| {
        assert!(close(hhi(counts.iter().copied()), expected), "{counts:?}");
    };
    check(&[], 0.0); // nothing depended on: no concentration to speak of
    check(&[7], 10_000.0); // a monopoly
    check(&[1, 1], 5_000.0);
    check(&[3, 1], 6_250.0); // 75² + 25²
    check(&[1; 10], 1_000.0); // ten equal vendors: the edge of "moderately concentrated"
    assert_eq!(level(1_000.0), "moderately concentrated");
    assert_eq!(level(999.9), "unconcentrated");
    assert_eq!(level(1_800.1), "highly concentrated");
}
