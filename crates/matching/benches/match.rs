//! Matching 1 M generated inventory entries against 250 k generated advisory product
//! entries (50 k advisories, 5 affected products each; two thirds named by CPE with a
//! version range, one third by purl with a `vers` or OSV-style range).
//!
//! ```sh
//! cargo bench -p baken-matching --bench match
//! ```

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use baken_advisory::{Advisory, Format, Product, VersionSpec, Vulnerability};
use baken_matching::{InventoryEntry, Matcher};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ADVISORIES: usize = 50_000;
const PRODUCTS_PER_ADVISORY: usize = 5;
const ENTRIES: usize = 1_000_000;
const VENDORS: usize = 5_000;
const PRODUCTS_PER_VENDOR: usize = 10;
const PACKAGES: usize = 50_000;
const PURL_TYPES: [&str; 4] = ["npm", "deb", "pypi", "cargo"];

fn version(rng: &mut StdRng) -> String {
    format!(
        "{}.{}.{}",
        rng.gen_range(0..10),
        rng.gen_range(0..20),
        rng.gen_range(0..30)
    )
}

fn package(i: usize) -> String {
    let ty = PURL_TYPES[i % PURL_TYPES.len()];
    let ns = if ty == "deb" { "debian/" } else { "" };
    format!("pkg:{ty}/{ns}package-{i}")
}

fn advisories(rng: &mut StdRng) -> Vec<Advisory> {
    (0..ADVISORIES)
        .map(|a| {
            let affected = (0..PRODUCTS_PER_ADVISORY)
                .map(|_| {
                    let lo = version(rng);
                    let hi = format!("{}.0.0", rng.gen_range(1..12));
                    if rng.gen_range(0..3) < 2 {
                        let v = rng.gen_range(0..VENDORS);
                        let p = rng.gen_range(0..PRODUCTS_PER_VENDOR);
                        Product {
                            name: format!("vendor{v} product{p}"),
                            cpes: vec![format!("cpe:2.3:a:vendor{v}:product{p}:*:*:*:*:*:*:*:*")],
                            versions: vec![VersionSpec::Range {
                                scheme: Some("semver".into()),
                                introduced: Some(lo),
                                fixed: Some(hi),
                                last_affected: None,
                            }],
                            ..Product::default()
                        }
                    } else {
                        let i = rng.gen_range(0..PACKAGES);
                        let versions = if rng.gen_bool(0.5) {
                            vec![VersionSpec::Vers {
                                vers: format!("vers:generic/>={lo}|<{hi}"),
                            }]
                        } else {
                            vec![VersionSpec::Range {
                                scheme: Some("ECOSYSTEM".into()),
                                introduced: Some(lo),
                                fixed: Some(hi),
                                last_affected: None,
                            }]
                        };
                        Product {
                            name: package(i),
                            purls: vec![package(i)],
                            versions,
                            ..Product::default()
                        }
                    }
                })
                .collect();
            Advisory {
                format: Format::Osv,
                id: format!("BENCH-{a}"),
                title: None,
                publisher: None,
                tlp: None,
                cves: vec![format!("CVE-2024-{a:05}")],
                aliases: Vec::new(),
                initial_release: None,
                current_release: None,
                revision: None,
                revision_history: Vec::new(),
                vulnerabilities: vec![Vulnerability {
                    cve: Some(format!("CVE-2024-{a:05}")),
                    affected,
                    ..Vulnerability::default()
                }],
                references: Vec::new(),
            }
        })
        .collect()
}

fn inventory(rng: &mut StdRng) -> Vec<InventoryEntry> {
    (0..ENTRIES)
        .map(|i| {
            let v = version(rng);
            let (cpe, purl) = if rng.gen_bool(0.5) {
                let vendor = rng.gen_range(0..VENDORS);
                let product = rng.gen_range(0..PRODUCTS_PER_VENDOR);
                (
                    Some(format!(
                        "cpe:2.3:a:vendor{vendor}:product{product}:{v}:*:*:*:*:*:*:*"
                    )),
                    None,
                )
            } else {
                (
                    None,
                    Some(format!("{}@{v}", package(rng.gen_range(0..PACKAGES)))),
                )
            };
            InventoryEntry {
                org: format!("org-{}", i % 10_000),
                cpe,
                purl,
                name: None,
                version: None,
                host: Some(format!("198.18.{}.{}", (i >> 8) % 256, i % 256)),
                source: "bench".into(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(19781);
    let advisories = advisories(&mut rng);
    let entries = inventory(&mut rng);

    let mut group = c.benchmark_group("match");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(30));
    group.bench_function("index 250k advisory products", |b| {
        b.iter(|| black_box(Matcher::new(&advisories).len()))
    });
    let matcher = Matcher::new(&advisories);
    group.throughput(Throughput::Elements(ENTRIES as u64));
    group.bench_function("1M inventory entries", |b| {
        b.iter(|| black_box(matcher.match_all(&entries, &[]).len()))
    });
    group.finish();
    let matches = matcher.match_all(&entries, &[]);
    eprintln!(
        "{} advisory products indexed; {} matches for {} entries",
        matcher.len(),
        matches.len(),
        entries.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
