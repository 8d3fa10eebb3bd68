//! The benchmark data of `benches/snapshot.rs` and `examples/snapshot_load.rs`: a registry of
//! 100 k organisations (a name, a sector, one to three networks, an AS for one in four, a
//! domain, two contacts), a routing table of 900 k IPv4 and 100 k IPv6 prefixes and 25 k
//! abuse records, from a fixed seed.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use baken_model::{
    AbuseContact, AbuseRecord, AbuseScope, Contact, ContactRole, OrgId, Organisation, RoutedPrefix,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ORGS: usize = 100_000;
const ROUTED_V4: usize = 900_000;
const ROUTED_V6: usize = 100_000;
const ABUSE: usize = 25_000;

/// An IPv4 prefix shaped like the real table's: mostly /24s, some shorter.
fn v4(rng: &mut StdRng) -> IpNet {
    let len = match rng.gen_range(0..100) {
        0..=59 => 24,
        60..=69 => 23,
        70..=79 => 22,
        80..=89 => rng.gen_range(20..=21),
        _ => rng.gen_range(12..=19),
    };
    let addr = Ipv4Addr::from(rng.gen_range(0x0100_0000u32..0xe000_0000));
    IpNet::V4(Ipv4Net::new(addr, len).unwrap().trunc())
}

/// An IPv6 prefix of 2000::/3, mostly /32 to /48.
fn v6(rng: &mut StdRng) -> IpNet {
    let len = [29, 32, 32, 36, 40, 44, 48, 48, 48, 56][rng.gen_range(0..10)];
    let addr = 0x2 << 124 | rng.r#gen::<u128>() >> 3;
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap().trunc())
}

pub fn inputs() -> (Vec<Organisation>, Vec<RoutedPrefix>, Vec<AbuseRecord>) {
    let rng = &mut StdRng::seed_from_u64(2020_0117);
    let routed: Vec<RoutedPrefix> = (0..ROUTED_V4 + ROUTED_V6)
        .map(|i| RoutedPrefix {
            net: if i < ROUTED_V4 { v4(rng) } else { v6(rng) },
            asn: rng.gen_range(1..80_000),
        })
        .collect();
    let sectors = [
        "health",
        "energy",
        "finance",
        "water",
        "transport",
        "government",
    ];
    let mut taken = HashSet::new();
    let orgs = (0..ORGS)
        .map(|i| {
            let mut networks = Vec::new();
            while networks.len() < rng.gen_range(1..=3) {
                // a routed prefix or a part of one, as a registry holds them
                let base = routed[rng.gen_range(0..routed.len())].net;
                let net = if rng.gen_bool(0.5) && base.prefix_len() < 28 {
                    let sub = base.prefix_len() + rng.gen_range(1..=4);
                    base.subnets(sub).unwrap().nth(rng.gen_range(0..2)).unwrap()
                } else {
                    base
                };
                if taken.insert(net) {
                    networks.push(net);
                }
            }
            Organisation {
                id: OrgId(format!("org-{i}")),
                name: format!("Organisation {i} BV"),
                kind: Default::default(),
                sector: Some(sectors[i % sectors.len()].into()),
                vital: i % 7 == 0,
                wbni: Default::default(),
                supervisor: None,
                cert: None,
                networks,
                asns: if i % 4 == 0 {
                    vec![100_000 + i as u32]
                } else {
                    vec![]
                },
                domains: vec![format!("org{i}.example")],
                contacts: vec![
                    Contact {
                        email: format!("soc@org{i}.example"),
                        role: ContactRole::Security,
                        language: None,
                        ..Default::default()
                    },
                    Contact {
                        email: format!("abuse@org{i}.example"),
                        role: ContactRole::Abuse,
                        language: None,
                        ..Default::default()
                    },
                ],
            }
        })
        .collect();
    let abuse = (0..ABUSE)
        .map(|i| AbuseRecord {
            scope: if i % 5 == 0 {
                AbuseScope::Asn(rng.gen_range(1..80_000))
            } else {
                AbuseScope::Network(routed[rng.gen_range(0..routed.len())].net)
            },
            contact: AbuseContact {
                email: format!("abuse@hoster{i}.example"),
                via: format!("inetnum object {i} (netname HOSTER-{i})"),
                holder: Some(format!("HOSTER-{i}")),
                country: Some("NL".into()),
            },
        })
        .collect();
    (orgs, routed, abuse)
}
