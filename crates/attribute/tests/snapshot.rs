//! Snapshots: `Attributor::from_snapshot(a.snapshot())` answers every query as `a` does, on
//! random registries, routing tables and abuse records (IPv4 and IPv6, tables small enough
//! to be searched whole and large enough for bucket and sub-bucket indexes), and so does an
//! index whose routing table and abuse records were replaced; a truncated, damaged or
//! foreign snapshot is an error, never a panic.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use baken_attribute::registry::load_registry;
use baken_attribute::routing::load_routing;
use baken_attribute::rpsl::load_rpsl;
use baken_attribute::snapshot::{FORMAT_VERSION, MAGIC};
use baken_attribute::{Attributor, AttributorBuilder, SnapshotError};
use baken_model::{
    AbuseContact, AbuseRecord, AbuseScope, Contact, ContactRole, Language, OrgId, OrgKind,
    Organisation, RoutedPrefix, WbniDuties,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// How much of everything a random world has.
#[derive(Clone, Copy)]
struct Shape {
    orgs: usize,
    routed_v4: usize,
    routed_v6: usize,
    abuse: usize,
    /// Whether the routing table has a default route (`0.0.0.0/0`, `::/0`).
    default_route: bool,
}

/// The inputs of an [`Attributor`], and what queries pick from.
struct World {
    orgs: Vec<Organisation>,
    routed: Vec<RoutedPrefix>,
    abuse: Vec<AbuseRecord>,
    /// The /16s that half of the IPv4 networks fall in, so that their buckets are dense.
    hot: Vec<u32>,
}

fn v4_net(rng: &mut StdRng, hot: &[u32]) -> IpNet {
    let addr = if rng.gen_bool(0.5) {
        hot.choose(rng).unwrap() << 16 | rng.gen_range(0..=0xffff)
    } else {
        rng.r#gen::<u32>()
    };
    let len = *[1, 8, 12, 16, 19, 20, 22, 23, 24, 24, 24, 25, 28, 30, 32]
        .choose(rng)
        .unwrap();
    IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc())
}

fn v6_net(rng: &mut StdRng) -> IpNet {
    let top: u128 = *[
        0x2001_0db8,
        0x2001_0db8,
        0x2a02_0000,
        rng.r#gen::<u32>().into(),
    ]
    .choose(rng)
    .unwrap();
    let bits = top << 96 | (rng.r#gen::<u128>() >> 40);
    let len = *[3, 20, 29, 32, 36, 40, 44, 48, 48, 56, 64, 96, 128]
        .choose(rng)
        .unwrap();
    IpNet::V6(Ipv6Net::new(Ipv6Addr::from(bits), len).unwrap().trunc())
}

fn net(rng: &mut StdRng, hot: &[u32]) -> IpNet {
    if rng.gen_bool(0.75) {
        v4_net(rng, hot)
    } else {
        v6_net(rng)
    }
}

fn maybe(rng: &mut StdRng, text: &str) -> Option<String> {
    rng.gen_bool(0.5).then(|| text.to_string())
}

fn world(seed: u64, shape: Shape) -> World {
    let rng = &mut StdRng::seed_from_u64(seed);
    let hot: Vec<u32> = (0..3).map(|_| rng.gen_range(0..=0xffff)).collect();
    // networks, AS numbers and domains are unique across organisations, as `new` requires
    let mut taken = HashSet::new();
    let mut asns = HashSet::new();
    let kinds = [
        OrgKind::Organisation,
        OrgKind::Cert,
        OrgKind::Hoster,
        OrgKind::Supervisor,
        OrgKind::Dtc,
        OrgKind::NationalCsirt,
    ];
    let roles = [
        ContactRole::Security,
        ContactRole::Abuse,
        ContactRole::General,
    ];
    let orgs: Vec<Organisation> = (0..shape.orgs)
        .map(|i| {
            let networks = (0..rng.gen_range(0..=3))
                .map(|_| net(rng, &hot))
                .filter(|n| taken.insert(*n))
                .collect();
            let asns = (0..rng.gen_range(0..=2))
                .map(|_| rng.gen_range(1..5_000))
                .filter(|a| asns.insert(*a))
                .collect();
            let mut domains = vec![format!("org{i}.example")];
            if i > 0 && rng.gen_bool(0.3) {
                // under another organisation's domain, written as people do
                let j = rng.gen_range(0..i);
                domains.push(format!("Dept{i}.Org{j}.example."));
            }
            let contacts = (0..rng.gen_range(0..=3))
                .map(|c| Contact {
                    email: format!("c{c}@org{i}.example"),
                    role: *roles.choose(rng).unwrap(),
                    language: *[None, Some(Language::En), Some(Language::Nl)]
                        .choose(rng)
                        .unwrap(),
                    // the fields after `language` travel as JSON in the snapshot
                    pgp_key: (c == 1).then(|| format!("-----BEGIN PGP PUBLIC KEY BLOCK-----\n{i}")),
                    report_format: (c == 2).then_some(baken_model::ReportFormat::Xarf),
                    ..Default::default()
                })
                .collect();
            Organisation {
                id: OrgId(format!("org-{i}")),
                name: format!("Organisation {i} — Zorg BV"),
                kind: *kinds.choose(rng).unwrap(),
                sector: maybe(rng, "health"),
                vital: rng.r#gen(),
                wbni: WbniDuties {
                    report: rng.r#gen(),
                    care: rng.r#gen(),
                },
                supervisor: maybe(rng, "igj"),
                cert: maybe(rng, "z-cert"),
                networks,
                asns,
                domains,
                contacts,
            }
        })
        .collect();
    let mut routed: Vec<RoutedPrefix> = (0..shape.routed_v4 + shape.routed_v6)
        .map(|i| RoutedPrefix {
            net: if i < shape.routed_v4 {
                v4_net(rng, &hot)
            } else {
                v6_net(rng)
            },
            asn: rng.gen_range(1..5_000),
        })
        .collect();
    if shape.default_route {
        for net in ["0.0.0.0/0", "::/0"] {
            routed.push(RoutedPrefix {
                net: net.parse().unwrap(),
                asn: 64496,
            });
        }
    }
    // some routed prefixes twice, with another AS: the first is kept
    for i in 0..routed.len() / 10 {
        let net = routed[i * 7 % routed.len()].net;
        routed.push(RoutedPrefix { net, asn: 7 });
    }
    routed.shuffle(rng);
    let abuse = (0..shape.abuse)
        .map(|i| AbuseRecord {
            scope: if rng.gen_bool(0.7) {
                AbuseScope::Network(net(rng, &hot))
            } else {
                AbuseScope::Asn(rng.gen_range(1..5_000))
            },
            contact: AbuseContact {
                email: format!("abuse{i}@hoster.example"),
                via: format!("inetnum object {i}"),
                holder: maybe(rng, "EXAMPLE-NET"),
                country: maybe(rng, "NL"),
            },
        })
        .collect();
    World {
        orgs,
        routed,
        abuse,
        hot,
    }
}

fn build(w: &World) -> Attributor {
    Attributor::new(w.orgs.clone(), w.routed.clone(), w.abuse.clone()).unwrap()
}

/// An address in a random network of `nets`, or anywhere.
fn address(rng: &mut StdRng, w: &World, nets: &[IpNet]) -> IpAddr {
    if nets.is_empty() || rng.gen_bool(0.3) {
        return match rng.gen_range(0..4) {
            0 => IpAddr::V4(Ipv4Addr::from(rng.r#gen::<u32>())),
            1 => {
                let hot = *w.hot.choose(rng).unwrap();
                IpAddr::V4(Ipv4Addr::from(hot << 16 | rng.gen_range(0..=0xffff)))
            }
            2 => IpAddr::V6(Ipv6Addr::from(rng.r#gen::<u128>())),
            _ => IpAddr::V6(Ipv6Addr::from(
                0x2001_0db8 << 96 | rng.r#gen::<u128>() >> 32,
            )),
        };
    }
    match *nets.choose(rng).unwrap() {
        IpNet::V4(n) => {
            let host = rng.r#gen::<u32>() & u32::from(n.hostmask());
            IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
        }
        IpNet::V6(n) => {
            let host = rng.r#gen::<u128>() & u128::from(n.hostmask());
            IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
        }
    }
}

/// Checks that `b` answers `queries` random queries as `a` does, and holds the same.
fn check_same(a: &Attributor, b: &Attributor, w: &World, seed: u64, queries: usize) {
    assert_eq!(a.organisations(), b.organisations());
    assert_eq!(a.stats(), b.stats());
    assert_eq!(
        a.snapshot(),
        b.snapshot(),
        "a loaded index writes the same bytes"
    );
    let rng = &mut StdRng::seed_from_u64(seed);
    let mut nets: Vec<IpNet> = w.orgs.iter().flat_map(|o| o.networks.clone()).collect();
    nets.extend(w.routed.iter().map(|r| r.net));
    nets.extend(w.abuse.iter().filter_map(|r| match r.scope {
        AbuseScope::Network(n) => Some(n),
        AbuseScope::Asn(_) => None,
    }));
    let mut asns: Vec<u32> = w.orgs.iter().flat_map(|o| o.asns.clone()).collect();
    asns.extend(w.routed.iter().map(|r| r.asn));
    asns.push(64511);
    let mut domains: Vec<String> = w.orgs.iter().flat_map(|o| o.domains.clone()).collect();
    domains.push("nobody.example".into());
    for _ in 0..queries {
        let ip = rng.gen_bool(0.9).then(|| address(rng, w, &nets));
        let asn = rng.gen_bool(0.4).then(|| *asns.choose(rng).unwrap());
        let domain = rng.gen_bool(0.5).then(|| {
            let d = domains.choose(rng).unwrap();
            match rng.gen_range(0..4) {
                0 => format!("www.{d}"),
                1 => d.to_uppercase(),
                2 => format!("x{d}"),
                _ => d.clone(),
            }
        });
        let domain = domain.as_deref();
        assert_eq!(
            a.attribute(ip, asn, domain),
            b.attribute(ip, asn, domain),
            "attribute({ip:?}, {asn:?}, {domain:?})"
        );
        if let Some(ip) = ip {
            assert_eq!(a.routed(ip), b.routed(ip), "routed({ip})");
            assert_eq!(a.routed_asn(ip), b.routed_asn(ip), "routed_asn({ip})");
            let q = ip.to_string();
            assert_eq!(a.lookup(&q), b.lookup(&q), "lookup({q})");
        }
        if let Some(asn) = asn {
            let q = format!("AS{asn}");
            assert_eq!(a.lookup(&q), b.lookup(&q), "lookup({q})");
        }
        if let Some(d) = domain {
            assert_eq!(a.lookup(d), b.lookup(d), "lookup({d})");
        }
        let id = OrgId(format!("org-{}", rng.gen_range(0..w.orgs.len() + 2)));
        assert_eq!(
            a.organisation(&id),
            b.organisation(&id),
            "organisation({id})"
        );
    }
    for q in ["198.18.0.0/24", "*.example", "", "AS", "2001:db8::/32"] {
        assert_eq!(a.lookup(q), b.lookup(q), "lookup({q:?})");
    }
}

/// A loaded index decodes an organisation alone when asked for it, with what the built index
/// holds, and finds those of a kind without decoding the rest.
#[test]
fn a_loaded_index_decodes_one_organisation_at_a_time() {
    // enough organisations for several of the blocks they are kept compressed in
    let w = world(5, Shape { orgs: 200, ..TINY });
    let built = build(&w);
    let loaded = Attributor::from_snapshot(&built.snapshot()).unwrap();
    let kinds = [OrgKind::Hoster, OrgKind::Dtc];
    let expected: Vec<&Organisation> = w.orgs.iter().filter(|o| kinds.contains(&o.kind)).collect();
    assert!(!expected.is_empty(), "the world has hosters");
    assert_eq!(
        loaded.organisations_of_kinds(&kinds).collect::<Vec<_>>(),
        expected
    );
    // in reverse registry order, each once and then again, then ids nobody has
    for org in w.orgs.iter().rev().chain(&w.orgs) {
        assert_eq!(loaded.organisation(&org.id), Some(org), "{}", org.id);
    }
    for id in ["", "org-", "zzz", "org-999999"] {
        assert_eq!(loaded.organisation(&OrgId(id.into())), None, "{id:?}");
    }
    // all of them at once afterwards, and one by one from those
    assert_eq!(loaded.organisations(), &w.orgs[..]);
    assert_eq!(loaded.organisation(&w.orgs[0].id), Some(&w.orgs[0]));
}

/// A snapshot naming one organisation id twice is refused when loaded, at the second one.
#[test]
fn an_organisation_id_given_twice_is_refused() {
    let org = |id: &str, name: &str| Organisation {
        id: OrgId(id.into()),
        name: name.into(),
        kind: OrgKind::Organisation,
        sector: None,
        vital: false,
        wbni: WbniDuties::default(),
        supervisor: None,
        cert: None,
        networks: vec![],
        asns: vec![],
        domains: vec![],
        contacts: vec![],
    };
    let built = Attributor::new(
        vec![org("org-qa", "First Name"), org("org-qb", "Other Name")],
        vec![],
        vec![],
    )
    .unwrap();
    let bytes = edit_first_block(&built.snapshot(), |raw| {
        let at = raw
            .windows(6)
            .position(|w| w == b"org-qb")
            .expect("the second id is in the block's text");
        raw[at..at + 6].copy_from_slice(b"org-qa");
    });
    match Attributor::from_snapshot(&bytes) {
        Err(SnapshotError::Corrupt { what, .. }) => assert_eq!(
            what,
            "the block of organisations 0 to 1: organisation id org-qa appears twice"
        ),
        other => panic!("expected a corrupt snapshot, got {other:?}"),
    }
}

/// A loaded index is shared between threads as a built one is.
#[test]
fn a_loaded_index_is_send_and_sync() {
    fn shared<T: Send + Sync>(_: &T) {}
    shared(&Attributor::from_snapshot(&small_snapshot()).unwrap());
}

const TINY: Shape = Shape {
    orgs: 5,
    routed_v4: 10,
    routed_v6: 3,
    abuse: 4,
    default_route: false,
};

#[test]
fn a_loaded_snapshot_answers_as_the_built_index() {
    let shapes = [
        // nothing at all
        Shape {
            orgs: 0,
            routed_v4: 0,
            routed_v6: 0,
            abuse: 0,
            default_route: false,
        },
        // tables searched whole
        TINY,
        Shape {
            default_route: true,
            ..TINY
        },
        // IPv4 tables with bucket and sub-bucket indexes
        Shape {
            orgs: 400,
            routed_v4: 3_000,
            routed_v6: 200,
            abuse: 300,
            default_route: false,
        },
        // IPv6 tables with them too
        Shape {
            orgs: 1_500,
            routed_v4: 20_000,
            routed_v6: 3_000,
            abuse: 1_500,
            default_route: true,
        },
    ];
    for (i, shape) in shapes.into_iter().enumerate() {
        for seed in [1, 2] {
            let seed = seed * 100 + i as u64;
            let w = world(seed, shape);
            let a = build(&w);
            let b = Attributor::from_snapshot(&a.snapshot()).unwrap();
            check_same(&a, &b, &w, seed, 3_000);
        }
    }
}

/// An index given another routing table and other abuse records, built or loaded, is the
/// index built from the same registry and those: it answers alike and writes the same bytes.
#[test]
fn an_index_with_new_sources_is_the_index_built_with_them() {
    let shape = Shape {
        orgs: 400,
        routed_v4: 3_000,
        routed_v6: 200,
        abuse: 300,
        default_route: true,
    };
    let before = world(7, shape);
    let after = World {
        orgs: before.orgs.clone(),
        ..world(8, shape)
    };
    let expected = build(&after);
    let built = build(&before).with_sources(after.routed.clone(), after.abuse.clone());
    check_same(&expected, &built, &after, 7, 3_000);
    let loaded = Attributor::from_snapshot(&build(&before).snapshot())
        .unwrap()
        .with_sources(after.routed.clone(), after.abuse.clone());
    check_same(&expected, &loaded, &after, 8, 3_000);
    // and nothing: a registry without a routing table or abuse records
    let none = World {
        orgs: before.orgs.clone(),
        routed: vec![],
        abuse: vec![],
        hot: before.hot.clone(),
    };
    let emptied = build(&before).with_sources(vec![], vec![]);
    check_same(&build(&none), &emptied, &none, 9, 1_000);
}

/// Organisations given one at a time in any order, numbered by id, make the index of the
/// same organisations given sorted by id; and a loaded index hands every organisation out one
/// at a time as it holds them.
#[test]
fn an_index_built_in_id_order_is_the_index_of_the_sorted_registry() {
    let shape = Shape {
        orgs: 600,
        routed_v4: 2_000,
        routed_v6: 100,
        abuse: 200,
        default_route: false,
    };
    let mut w = world(11, shape);
    w.orgs.sort_by(|a, b| a.id.0.cmp(&b.id.0));
    let expected = build(&w);
    let mut shuffled = w.orgs.clone();
    shuffled.shuffle(&mut StdRng::seed_from_u64(12));
    assert!(!shuffled.is_sorted_by(|a, b| a.id.0 <= b.id.0));
    for given in [&shuffled, &w.orgs] {
        let mut builder = AttributorBuilder::new().sorted_by_id();
        for org in given {
            builder.add(org);
        }
        assert_eq!(builder.len(), w.orgs.len());
        let built = builder.build(w.routed.clone(), w.abuse.clone()).unwrap();
        check_same(&expected, &built, &w, 13, 3_000);
    }
    let loaded = Attributor::from_snapshot(&expected.snapshot()).unwrap();
    let each: Vec<Organisation> = loaded.each_organisation().map(|o| o.into_owned()).collect();
    assert_eq!(each, w.orgs);
    for org in &w.orgs {
        assert_eq!(loaded.organisation_once(&org.id).as_deref(), Some(org));
        assert!(loaded.is_registered(&org.id));
        assert_eq!(loaded.is_vital(&org.id), org.vital);
        assert_eq!(expected.is_vital(&org.id), org.vital);
    }
    assert!(w.orgs.iter().any(|o| o.vital) && w.orgs.iter().any(|o| !o.vital));
    assert_eq!(loaded.organisation_once(&OrgId("nobody".into())), None);
    assert!(!loaded.is_registered(&OrgId("nobody".into())));
    assert!(!loaded.is_vital(&OrgId("nobody".into())));
}

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

#[test]
fn a_loaded_snapshot_of_the_fixtures_answers_as_the_built_index() {
    let orgs = load_registry(&data("registry/registry.toml")).unwrap();
    let mut routed = Vec::new();
    for table in ["pfx2as.txt", "iptoasn.tsv", "prefixes.tsv"] {
        let table = load_routing(&data(&format!("routing/{table}"))).unwrap();
        routed.extend(table.prefixes);
    }
    let rpsl: Vec<PathBuf> = [
        "ripe.db.inetnum",
        "ripe.db.inet6num",
        "ripe.db.aut-num",
        "ripe.db.role",
        "ripe.db.organisation",
    ]
    .iter()
    .map(|f| data(&format!("rpsl/{f}")))
    .collect();
    let abuse = load_rpsl(&rpsl).unwrap().records;
    let w = World {
        orgs,
        routed,
        abuse,
        hot: vec![0xc612, 0xc613],
    };
    let a = build(&w);
    assert!(a.stats().organisations > 0 && a.stats().abuse_records > 0);
    let b = Attributor::from_snapshot(&a.snapshot()).unwrap();
    check_same(&a, &b, &w, 7, 5_000);
}

/// A small snapshot with every kind of thing in it.
fn small_snapshot() -> Vec<u8> {
    build(&world(3, TINY)).snapshot()
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = small_snapshot();
    for len in 0..bytes.len() {
        let err = Attributor::from_snapshot(&bytes[..len]).unwrap_err();
        let expected = if len < 24 { 24 } else { bytes.len() as u64 };
        assert_eq!(
            err,
            SnapshotError::Truncated {
                expected,
                found: len as u64
            },
            "cut at {len}"
        );
    }
}

#[test]
fn every_flipped_bit_is_an_error() {
    let mut bytes = small_snapshot();
    for i in 0..bytes.len() * 8 {
        bytes[i / 8] ^= 1 << (i % 8);
        let err = Attributor::from_snapshot(&bytes).unwrap_err();
        let expected = match i / 8 {
            0..8 => matches!(err, SnapshotError::NotASnapshot),
            8..12 => matches!(err, SnapshotError::Version { .. }),
            12..16 => err == SnapshotError::Checksum,
            16..24 => matches!(
                err,
                SnapshotError::Truncated { .. } | SnapshotError::Corrupt { .. }
            ),
            _ => err == SnapshotError::Checksum,
        };
        assert!(expected, "bit {i}: {err}");
        bytes[i / 8] ^= 1 << (i % 8);
    }
    assert!(Attributor::from_snapshot(&bytes).is_ok());
}

#[test]
fn foreign_bytes_and_other_versions_are_refused() {
    let bytes = small_snapshot();
    assert_eq!(
        Attributor::from_snapshot(br#"[{"id": "org-17"}]"#).unwrap_err(),
        SnapshotError::NotASnapshot
    );
    assert_eq!(
        Attributor::from_snapshot(b"BAKEN").unwrap_err(),
        SnapshotError::Truncated {
            expected: 24,
            found: 5
        }
    );
    let mut other = bytes.clone();
    other[8..12].copy_from_slice(&1u32.to_le_bytes());
    let err = Attributor::from_snapshot(&other).unwrap_err();
    assert_eq!(
        err,
        SnapshotError::Version {
            found: 1,
            supported: FORMAT_VERSION
        }
    );
    assert_eq!(
        err.to_string(),
        "attributor snapshot format version 1 cannot be read by this build, which reads version 5; build the snapshot again"
    );
    let mut longer = bytes.clone();
    longer.push(0);
    let err = Attributor::from_snapshot(&longer).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "attributor snapshot is corrupt at byte {}: 1 bytes after the end its header gives; build the snapshot again",
            bytes.len()
        )
    );
}

/// Sets the header's checksum to match the payload, as the format documents it.
/// The snapshot with its first block of organisations decompressed, changed by `edit` (which
/// keeps its length and where its records end), compressed again, and sealed.
fn edit_first_block(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    // the header, the text outside the blocks, the count of organisations
    let head = 24 + 4 + word(24) + 4;
    let (len, zstd_len) = (word(head + 4), word(head + 8));
    let block = head + 12..head + 12 + zstd_len;
    let mut raw = zstd::bulk::decompress(&bytes[block.clone()], len).unwrap();
    edit(&mut raw);
    assert_eq!(raw.len(), len);
    let zstd = zstd::bulk::compress(&raw, 1).unwrap();
    let mut out = bytes[..head + 8].to_vec();
    out.extend_from_slice(&(zstd.len() as u32).to_le_bytes());
    out.extend_from_slice(&zstd);
    out.extend_from_slice(&bytes[block.end..]);
    let length = (out.len() - 24) as u64;
    out[16..24].copy_from_slice(&length.to_le_bytes());
    seal(&mut out);
    out
}

fn seal(bytes: &mut [u8]) {
    let crc = crc32fast::hash(&bytes[24..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// A damaged snapshot whose checksum was made to match: loading finds what is wrong with it
/// or loads an index whose lookups stay in bounds and whose organisations decode, and never
/// panics.
#[test]
fn damaged_contents_with_a_matching_checksum_never_panic() {
    let shapes = [
        (TINY, 2_000),
        (
            Shape {
                orgs: 100,
                routed_v4: 1_000,
                routed_v6: 50,
                abuse: 50,
                default_route: false,
            },
            300,
        ),
        (
            Shape {
                orgs: 50,
                routed_v4: 100,
                routed_v6: 1_500,
                abuse: 20,
                default_route: false,
            },
            10,
        ),
    ];
    for (n, (shape, tries)) in shapes.into_iter().enumerate() {
        let w = world(40 + n as u64, shape);
        let good = build(&w).snapshot();
        let rng = &mut StdRng::seed_from_u64(n as u64);
        for _ in 0..tries {
            let mut bytes = good.clone();
            for _ in 0..rng.gen_range(1..=3) {
                let at = rng.gen_range(24..bytes.len());
                match rng.gen_range(0..3) {
                    0 => bytes[at] ^= 1 << rng.gen_range(0..8),
                    1 => bytes[at] = rng.r#gen(),
                    // a small count or index made larger or smaller
                    _ => bytes[at] = bytes[at].wrapping_add(if rng.r#gen() { 1 } else { 255 }),
                }
            }
            seal(&mut bytes);
            if let Ok(loaded) = Attributor::from_snapshot(&bytes) {
                // the organisations, decoded on first use, were checked when loaded
                assert_eq!(loaded.organisations().len(), loaded.stats().organisations);
                for _ in 0..20 {
                    let ip = address(rng, &w, &[]);
                    loaded.attribute(
                        Some(ip),
                        Some(rng.gen_range(1..5_000)),
                        Some("org1.example"),
                    );
                    let _ = loaded.lookup(&ip.to_string());
                }
            }
        }
    }
}

/// The bytes of a fixed index: a change to the encoding must come with a new format version.
#[test]
fn the_encoding_of_a_fixed_index_is_pinned() {
    let mut org: Organisation = toml::from_str(
        r#"
        id = "org-17"
        name = "Example Zorg BV"
        kind = "organisation"
        sector = "health"
        vital = true
        wbni = { report = true, care = true }
        cert = "z-cert"
        networks = ["198.18.4.0/24", "2001:db8:17::/48"]
        asns = [64496]
        domains = ["zorg.example"]
        contacts = [
          { email = "soc@zorg.example", role = "security", language = "nl" },
          { email = "abuse@zorg.example", role = "abuse" },
        ]
        "#,
    )
    .unwrap();
    org.supervisor = Some("igj".into());
    let orgs = vec![org];
    let routed = vec![
        RoutedPrefix {
            net: "198.18.0.0/15".parse().unwrap(),
            asn: 64497,
        },
        RoutedPrefix {
            net: "2001:db8::/32".parse().unwrap(),
            asn: 64498,
        },
    ];
    let abuse = vec![
        AbuseRecord {
            scope: AbuseScope::Network("198.19.0.0/16".parse().unwrap()),
            contact: AbuseContact {
                email: "abuse@hoster.example".into(),
                via: "inetnum 198.19.0.0 - 198.19.255.255".into(),
                holder: Some("HOSTER-NET".into()),
                country: Some("NL".into()),
            },
        },
        AbuseRecord {
            scope: AbuseScope::Asn(64497),
            contact: AbuseContact {
                email: "noc@transit.example".into(),
                via: "aut-num AS64497".into(),
                holder: None,
                country: None,
            },
        },
    ];
    let bytes = Attributor::new(orgs, routed, abuse).unwrap().snapshot();
    assert_eq!(bytes[..8], MAGIC);
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    let crc = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    assert_eq!(
        (version, bytes.len(), format!("{crc:08x}")),
        (FORMAT_VERSION, 692, "9e9b4e22".to_string()),
        "the encoding changed: raise FORMAT_VERSION if it did on purpose, and pin the new length and checksum here"
    );
}
