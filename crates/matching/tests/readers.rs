//! The inventory readers on the fixtures in `tests/data/`.

use std::path::Path;

use baken_matching::inventory::{self, InventoryFormat, Location, read_path};

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn csv_inventory() {
    let read = read_path("waterschap-1", &data("inventory.csv")).unwrap();
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    let e = &read.entries;
    assert_eq!(e.len(), 6);
    assert_eq!(e[0].org, "waterschap-1");
    assert_eq!(e[0].version.as_deref(), Some("13.0-47.22"));
    assert_eq!(e[0].host.as_deref(), Some("198.18.0.10"));
    assert!(e[0].source.ends_with("inventory.csv:3"), "{}", e[0].source);
    // version from the CPE 2.2 URI, from the purl
    assert_eq!(e[2].version.as_deref(), Some("12.1"));
    assert_eq!(e[3].version.as_deref(), Some("3.0.11-1~deb12u2"));
    assert_eq!(e[5].name.as_deref(), Some("Example Portal"));
    assert_eq!(e[5].cpe, None);
}

#[test]
fn csv_problems_name_file_line_and_field() {
    let read = read_path("org", &data("bad.csv")).unwrap();
    assert_eq!(read.entries.len(), 2, "{:?}", read.entries);
    assert_eq!(
        read.entries[1].host.as_deref(),
        Some("198.18.0.15"),
        "the ip column is the host"
    );
    let problems: Vec<String> = read.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].ends_with("bad.csv: line 3: field `cpe`: CPE \"cpe:2.3:x:citrix:adc\": part must be a, o, h or *, not Literal(\"x\")"), "{}", problems[0]);
    assert!(
        problems[1].contains("bad.csv: line 4: field `purl`"),
        "{}",
        problems[1]
    );
    assert!(
        problems[2].contains("bad.csv: line 5: field `cpe`: no cpe, purl or name"),
        "{}",
        problems[2]
    );
    assert_eq!(read.problems[0].location, Location::Line(3));
}

#[test]
fn csv_without_identifier_columns_is_rejected() {
    let err = inventory::read_csv("org", "hosts.csv", b"host,version\n198.18.0.1,1\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "hosts.csv: line 1: the header names no `cpe`, `purl` or `name` column"
    );
}

#[test]
fn cyclonedx_1_6_with_nested_components() {
    let read = read_path("org", &data("cyclonedx-1.6.json")).unwrap();
    let names: Vec<_> = read
        .entries
        .iter()
        .map(|e| e.name.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "example portal",
            "@example widget",
            "left-pad",
            "org.apache.logging.log4j log4j-core"
        ]
    );
    let log4j = &read.entries[3];
    assert_eq!(
        log4j.cpe.as_deref(),
        Some("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*")
    );
    assert_eq!(log4j.version.as_deref(), Some("2.14.1"));
    assert!(
        read.entries[2]
            .source
            .ends_with("#/components/0/components/0")
    );
    assert_eq!(read.problems.len(), 1);
    let p = &read.problems[0];
    assert_eq!(p.location, Location::Json("/components/2".into()));
    assert_eq!(p.field.as_deref(), Some("purl"));
}

#[test]
fn cyclonedx_1_5() {
    let read = read_path("org", &data("cyclonedx-1.5.json")).unwrap();
    assert!(read.problems.is_empty());
    assert_eq!(read.entries.len(), 2);
    assert_eq!(read.entries[1].version.as_deref(), Some("3.0.11-1~deb12u2"));
}

#[test]
fn spdx_2_3() {
    let read = read_path("org", &data("spdx-2.3.json")).unwrap();
    assert_eq!(read.entries.len(), 2);
    let openssl = &read.entries[0];
    assert_eq!(
        openssl.purl.as_deref(),
        Some("pkg:rpm/redhat/openssl@1.0.2k-19.el7?arch=x86_64")
    );
    assert_eq!(
        openssl.cpe.as_deref(),
        Some("cpe:2.3:a:openssl:openssl:1.0.2k:*:*:*:*:*:*:*")
    );
    assert_eq!(openssl.version.as_deref(), Some("1.0.2k-19.el7"));
    assert_eq!(
        read.entries[1].purl.as_deref(),
        Some("pkg:pypi/requests@2.31.0")
    );
    let p = &read.problems[0];
    assert_eq!(
        p.location,
        Location::Json("/packages/2/externalRefs/0".into())
    );
    assert_eq!(p.field.as_deref(), Some("referenceLocator"));
}

#[test]
fn formats_are_told_apart_and_bad_files_rejected() {
    let cdx = std::fs::read(data("cyclonedx-1.5.json")).unwrap();
    assert_eq!(
        inventory::detect("sbom", &cdx),
        Some(InventoryFormat::CycloneDx)
    );
    let spdx = std::fs::read(data("spdx-2.3.json")).unwrap();
    assert_eq!(
        inventory::detect("sbom", &spdx),
        Some(InventoryFormat::Spdx)
    );
    assert_eq!(
        inventory::detect("list", b"purl,version\n"),
        Some(InventoryFormat::Csv)
    );
    let err = inventory::read("org", "x.json", b"{\"hello\": 1}").unwrap_err();
    assert!(err.to_string().starts_with("x.json: not a CSV"), "{err}");
    let err = inventory::read_cyclonedx(
        "org",
        "x.json",
        b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"2.0\"}",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "x.json: /: field `specVersion`: Some(\"2.0\") is not a CycloneDX 1.x version (1.5 or 1.6 expected)"
    );
    let err = inventory::read_spdx("org", "x.json", b"{not json").unwrap_err();
    assert!(err.to_string().starts_with("x.json: not JSON"), "{err}");
    let err = read_path("org", &data("missing.csv")).unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}
