//! CVE-2019-19781 (Citrix ADC and Gateway) matched against inventories and scans; and an
//! OSV record read by `baken-advisory`, matched by purl.

use baken_advisory::{Advisory, Format, Product, VersionSpec, Vulnerability};
use baken_matching::inventory::read_path;
use baken_matching::{Evidence, InventoryEntry, Match, MatchStatus, Matcher, ScanObservation};

const ADC: &str = "cpe:2.3:a:citrix:application_delivery_controller";
const GATEWAY: &str = "cpe:2.3:a:citrix:gateway";

fn product(name: &str, cpe: &str, versions: Vec<VersionSpec>) -> Product {
    Product {
        name: name.into(),
        vendor: Some("Citrix".into()),
        cpes: vec![cpe.into()],
        versions,
        ..Product::default()
    }
}

fn below(line: &str, fixed: &str) -> Vec<VersionSpec> {
    vec![VersionSpec::Range {
        scheme: Some("custom".into()),
        introduced: Some(line.into()),
        fixed: Some(fixed.into()),
        last_affected: None,
    }]
}

/// The advisory as CSAF describes it: per release line, builds below the fix affected; the
/// fixed builds listed fixed; SD-WAN WANOP known not affected.
fn advisory() -> Advisory {
    Advisory {
        format: Format::Csaf,
        id: "CTX267027".into(),
        title: Some("Vulnerability in Citrix ADC and Citrix Gateway".into()),
        publisher: Some("Citrix".into()),
        tlp: None,
        cves: vec!["CVE-2019-19781".into()],
        aliases: vec![],
        initial_release: None,
        current_release: None,
        revision: None,
        revision_history: vec![],
        references: vec![],
        vulnerabilities: vec![Vulnerability {
            cve: Some("CVE-2019-19781".into()),
            affected: vec![
                product(
                    "Citrix ADC 13.0",
                    &format!("{ADC}:13.0:*:*:*:*:*:*:*"),
                    below("13.0", "13.0.47.24"),
                ),
                product(
                    "Citrix ADC 12.1",
                    &format!("{ADC}:12.1:*:*:*:*:*:*:*"),
                    below("12.1", "12.1.55.18"),
                ),
                product(
                    "Citrix Gateway 13.0",
                    &format!("{GATEWAY}:13.0:*:*:*:*:*:*:*"),
                    below("13.0", "13.0.47.24"),
                ),
                product(
                    "Citrix Gateway 12.1",
                    &format!("{GATEWAY}:12.1:*:*:*:*:*:*:*"),
                    below("12.1", "12.1.55.18"),
                ),
            ],
            fixed: vec![
                product(
                    "Citrix ADC 13.0 build 47.24",
                    &format!("{ADC}:13.0:*:*:*:*:*:*:*"),
                    vec![VersionSpec::Exact {
                        version: "13.0.47.24".into(),
                    }],
                ),
                product(
                    "Citrix ADC 12.1 build 55.18",
                    &format!("{ADC}:12.1:*:*:*:*:*:*:*"),
                    vec![VersionSpec::Exact {
                        version: "12.1.55.18".into(),
                    }],
                ),
            ],
            not_affected: vec![product(
                "Citrix SD-WAN WANOP",
                "cpe:2.3:a:citrix:sd-wan_wanop:*:*:*:*:*:*:*:*",
                vec![],
            )],
            ..Vulnerability::default()
        }],
    }
}

fn entry(cpe: &str, version: Option<&str>, host: &str) -> InventoryEntry {
    InventoryEntry {
        org: "waterschap-1".into(),
        cpe: Some(cpe.into()),
        purl: None,
        name: None,
        version: version.map(str::to_string),
        host: Some(host.into()),
        source: "test".into(),
    }
}

fn one(matches: &[Match]) -> &Match {
    assert_eq!(matches.len(), 1, "{matches:#?}");
    &matches[0]
}

fn run(entries: &[InventoryEntry], scans: &[ScanObservation]) -> Vec<Match> {
    let advisories = [advisory()];
    Matcher::new(&advisories).match_all(entries, scans)
}

#[test]
fn build_below_the_fix_is_affected() {
    let m = run(
        &[entry(
            &format!("{ADC}:13.0:*:*:*:*:*:*:*"),
            Some("13.0-47.22"),
            "198.18.0.10",
        )],
        &[],
    );
    let m = one(&m);
    assert_eq!(m.status, MatchStatus::Affected);
    assert_eq!(m.evidence, Evidence::InventoryDeclared);
    assert_eq!(m.advisory_id, "CTX267027");
    assert_eq!(m.cve.as_deref(), Some("CVE-2019-19781"));
    assert_eq!(m.product, "Citrix ADC 13.0");
    assert_eq!(m.host.as_deref(), Some("198.18.0.10"));
    assert_eq!(m.org, "waterschap-1");
    assert!(m.detail.contains(">= 13.0, < 13.0.47.24"), "{}", m.detail);
}

#[test]
fn fixed_build_and_later_builds_are_not_matched() {
    for v in ["13.0-47.24", "13.0.47.24", "13.0.58.30", "14.1.4.42"] {
        let m = run(
            &[entry(
                &format!("{ADC}:13.0:*:*:*:*:*:*:*"),
                Some(v),
                "198.18.0.11",
            )],
            &[],
        );
        assert!(m.is_empty(), "{v}: {m:#?}");
    }
}

#[test]
fn unparseable_build_is_unknown() {
    let m = run(
        &[entry(
            &format!("{ADC}:13.0:*:*:*:*:*:*:*"),
            Some("13.0 build 47.22"),
            "198.18.0.12",
        )],
        &[],
    );
    let m = one(&m);
    assert!(
        matches!(&m.status, MatchStatus::Unknown(r) if r.contains("13.0 build 47.22")),
        "{:?}",
        m.status
    );
}

#[test]
fn product_without_version_is_unknown_not_affected() {
    let m = run(
        &[entry(
            "cpe:/a:citrix:application_delivery_controller",
            None,
            "198.18.0.13",
        )],
        &[],
    );
    assert!(
        matches!(&one(&m).status, MatchStatus::Unknown(r) if r.contains("no installed version"))
    );
}

#[test]
fn other_products_do_not_match() {
    let m = run(
        &[
            entry(
                "cpe:2.3:a:citrix:sd-wan_wanop:10.2.6:*:*:*:*:*:*:*",
                None,
                "198.18.0.14",
            ),
            entry(
                "cpe:2.3:a:citrix:xenapp:7.15:*:*:*:*:*:*:*",
                None,
                "198.18.0.15",
            ),
            entry(
                "cpe:2.3:a:f5:big-ip_access_policy_manager:15.1:*:*:*:*:*:*:*",
                None,
                "198.18.0.16",
            ),
        ],
        &[],
    );
    assert!(m.is_empty(), "{m:#?}");
}

#[test]
fn scan_with_the_cve_is_confirmed_once() {
    let scan = ScanObservation {
        org: "gemeente-2".into(),
        ip: "198.18.2.1".into(),
        cves: vec!["cve-2019-19781".into()],
        product: Some("Citrix ADC".into()),
        version: Some("13.0.47.22".into()),
        source: "shadowserver scan_http_vulnerable".into(),
    };
    let m = run(&[], &[scan]);
    let m = one(&m);
    assert_eq!(m.evidence, Evidence::ScanConfirmed);
    assert_eq!(m.status, MatchStatus::Affected);
    assert_eq!(m.cve.as_deref(), Some("CVE-2019-19781"));
    assert_eq!(m.host.as_deref(), Some("198.18.2.1"));
}

#[test]
fn scan_product_and_version_infer() {
    let scans = [
        ScanObservation {
            org: "gemeente-3".into(),
            ip: "198.18.3.1".into(),
            product: Some(format!("{GATEWAY}:12.1:*:*:*:*:*:*:*")),
            version: Some("12.1.50.28".into()),
            source: "nuclei".into(),
            ..ScanObservation::default()
        },
        ScanObservation {
            org: "gemeente-3".into(),
            ip: "198.18.3.2".into(),
            product: Some("Citrix Application Delivery Controller".into()),
            version: Some("12.1.49.23".into()),
            source: "zgrab2".into(),
            ..ScanObservation::default()
        },
        ScanObservation {
            org: "gemeente-3".into(),
            ip: "198.18.3.3".into(),
            product: Some("Citrix Application Delivery Controller".into()),
            version: Some("12.1.55.18".into()),
            source: "zgrab2".into(),
            ..ScanObservation::default()
        },
    ];
    let m = run(&[], &scans);
    assert_eq!(m.len(), 2, "{m:#?}");
    assert!(
        m.iter()
            .all(|m| m.evidence == Evidence::VersionInferred && m.status == MatchStatus::Affected)
    );
    assert_eq!(m[0].product, "Citrix Gateway 12.1");
    assert_eq!(m[1].host.as_deref(), Some("198.18.3.2"));
}

#[test]
fn csv_fixture_against_the_advisory() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let inventory = read_path("waterschap-1", &dir.join("inventory.csv")).unwrap();
    let m = run(&inventory.entries, &[]);
    let hosts: Vec<_> = m
        .iter()
        .map(|m| (m.host.clone().unwrap(), m.status.clone()))
        .collect();
    // 198.18.0.10 runs 13.0-47.22; 198.18.0.11 the fixed build; the gateway's CPE URI
    // gives only its release line 12.1, which the generic scheme reads as 12.1.0.0
    assert_eq!(
        hosts,
        [
            ("198.18.0.10".to_string(), MatchStatus::Affected),
            (
                "vpn.waterschap-1.example".to_string(),
                MatchStatus::Affected
            ),
        ]
    );
}

#[test]
fn osv_record_matched_by_purl() {
    let json = br#"{"schema_version": "1.6.0", "id": "OSV-2024-0001", "modified": "2024-01-02T00:00:00Z",
      "aliases": ["CVE-2024-0001"],
      "affected": [{"package": {"ecosystem": "npm", "name": "@example/widget", "purl": "pkg:npm/%40example/widget"},
        "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.4.1"}]}]}]}"#;
    let advisories = [baken_advisory::read(json).unwrap().advisory];
    let matcher = Matcher::new(&advisories);
    let entry = |purl: &str| InventoryEntry {
        org: "org".into(),
        cpe: None,
        purl: Some(purl.into()),
        name: None,
        version: None,
        host: None,
        source: "sbom".into(),
    };
    let m = matcher.match_all(
        &[
            entry("pkg:npm/%40example/widget@1.4.0"),
            entry("pkg:npm/%40example/widget@1.4.1"),
            entry("pkg:npm/%40example/widget@0.9.0"),
            entry("pkg:npm/%40Example/Widget@1.2.0-beta.1"),
            entry("pkg:npm/%40example/widget@next"),
            entry("pkg:npm/%40example/gadget@1.2.0"),
        ],
        &[],
    );
    // 1.4.0 and the 1.2.0 beta (names compare case-insensitively for npm) are affected,
    // `next` cannot be compared, 1.4.1 is the fix, 0.9.0 predates, gadget is another package
    assert_eq!(m.len(), 3, "{m:#?}");
    assert!(m[2].detail.contains("version next"), "{}", m[2].detail);
    assert_eq!(m[0].status, MatchStatus::Affected);
    assert_eq!(m[1].status, MatchStatus::Affected);
    assert!(m[2].status != MatchStatus::Affected);
    assert_eq!(m[0].cve.as_deref(), Some("CVE-2024-0001"));
}
