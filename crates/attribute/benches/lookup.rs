//! `Attributor::attribute` over 1 M IPv4 addresses against a generated table of 1 M routed
//! prefixes and a registry of 100 k organisations.
//!
//! ```sh
//! cargo bench -p baken-attribute --bench lookup
//! ```

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use baken_attribute::Attributor;
use baken_model::{OrgId, Organisation, RoutedPrefix};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ipnet::{IpNet, Ipv4Net};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PREFIXES: usize = 1_000_000;
const ORGS: usize = 100_000;
const LOOKUPS: usize = 1_000_000;

/// A routing table shaped like the real one: mostly /24s, some shorter prefixes.
fn routing_table(rng: &mut StdRng) -> Vec<RoutedPrefix> {
    (0..PREFIXES)
        .map(|_| {
            let len = match rng.gen_range(0..100) {
                0..=59 => 24,
                60..=69 => 23,
                70..=79 => 22,
                80..=89 => rng.gen_range(20..=21),
                _ => rng.gen_range(12..=19),
            };
            let addr = Ipv4Addr::from(rng.gen_range(0x0100_0000u32..0xe000_0000));
            RoutedPrefix {
                net: IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc()),
                asn: rng.gen_range(1..80_000),
            }
        })
        .collect()
}

/// Organisations holding a routed prefix (or a more specific part of one) and some an AS.
fn registry(rng: &mut StdRng, routed: &[RoutedPrefix]) -> Vec<Organisation> {
    let mut taken = std::collections::HashSet::new();
    let mut orgs = Vec::with_capacity(ORGS);
    while orgs.len() < ORGS {
        let i = orgs.len();
        let base = routed[rng.gen_range(0..routed.len())].net;
        let net = if rng.gen_bool(0.5) && base.prefix_len() < 28 {
            let sub = base.prefix_len() + rng.gen_range(1..=4);
            base.subnets(sub).unwrap().nth(rng.gen_range(0..2)).unwrap()
        } else {
            base
        };
        if !taken.insert(net) {
            continue;
        }
        orgs.push(Organisation {
            id: OrgId(format!("org-{i}")),
            name: format!("Organisation {i} BV"),
            kind: Default::default(),
            sector: None,
            vital: false,
            wbni: Default::default(),
            supervisor: None,
            cert: None,
            networks: vec![net],
            asns: if i % 4 == 0 {
                vec![100_000 + i as u32]
            } else {
                vec![]
            },
            domains: vec![format!("org{i}.example")],
            contacts: Vec::new(),
        });
    }
    orgs
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2020_0117);
    let routed = routing_table(&mut rng);
    let orgs = registry(&mut rng, &routed);
    let started = std::time::Instant::now();
    let attributor = Attributor::new(orgs, routed.clone(), Vec::new()).unwrap();
    eprintln!(
        "index of {:?} built in {:.2?}",
        attributor.stats(),
        started.elapsed()
    );

    let uniform: Vec<IpAddr> = (0..LOOKUPS)
        .map(|_| IpAddr::V4(Ipv4Addr::from(rng.r#gen::<u32>())))
        .collect();
    // Addresses inside routed prefixes: the shape of scan results.
    let routed_ips: Vec<IpAddr> = (0..LOOKUPS)
        .map(|_| {
            let IpNet::V4(net) = routed[rng.gen_range(0..routed.len())].net else {
                unreachable!()
            };
            let host = rng.r#gen::<u32>() & !u32::from(net.netmask());
            IpAddr::V4(Ipv4Addr::from(u32::from(net.network()) | host))
        })
        .collect();

    let mut group = c.benchmark_group("attribute");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LOOKUPS as u64));
    for (name, ips) in [("uniform-ipv4", &uniform), ("routed-ipv4", &routed_ips)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                for &ip in ips.iter() {
                    black_box(attributor.attribute(Some(ip), None, None));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
