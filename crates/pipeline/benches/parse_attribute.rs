//! parse → attribute on a generated 1 M-row Shadowserver Vulnerable-HTTP feed.
//!
//! The registry, routing table and RPSL dump are the demo's (10,000 organisations); the feed
//! holds 1,000,000 rows with addresses spread over the demo's address plan (registered
//! networks, hosting providers, unregistered space). Throughput is in rows.
//!
//! `BAKEN_BENCH_ROWS` overrides the row count.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::io::Write;
use std::net::Ipv4Addr;

use baken_attribute::Attributor;
use baken_demo::generate::{Params, generate};
use baken_feeds::{Event, FeedKind, Options};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn feed(path: &std::path::Path, rows: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,build_date,detail,build_branch").unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    for _ in 0..rows {
        let ip = Ipv4Addr::from(base + rng.gen_range(0..131_072));
        writeln!(
            f,
            "2020-01-10 04:12:33,critical,{ip},tcp,443,host.org-1.example,citrix;cve-2019-19781,,NL,NOORD-HOLLAND,AMSTERDAM,0,rdns,,HTTP/1.1,200,OK,text/html,close,,NSC_TEMP=xyz,Apache,1024,,\"Fri, 10 Jan 2020 10:00:00 GMT\",13.0,,,"
        )
        .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let rows: u64 = std::env::var("BAKEN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let world = generate(&Params::default(), &dir.path().join("world")).unwrap();
    let orgs = baken_attribute::registry::load_registry(&world.registry).unwrap();
    let routed = baken_attribute::routing::load_routing(&world.pfx2as)
        .unwrap()
        .prefixes;
    let abuse = baken_attribute::rpsl::load_rpsl(&[&world.rpsl])
        .unwrap()
        .records;
    let attributor = Attributor::new(orgs, routed, abuse).unwrap();
    let path = dir
        .path()
        .join("2020-01-10-scan_http_vulnerable-nl-geo-asn.csv");
    feed(&path, rows);
    let options = Options {
        observation_time: Some("2020-01-10T12:00:00+00:00".into()),
        ..Options::default()
    };

    let rows_total = rows;
    let mut group = c.benchmark_group("chain");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function("parse", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for row in baken_feeds::open(FeedKind::Shadowserver, &path, &options).unwrap() {
                n += u64::from(row.outcome.is_ok());
            }
            assert_eq!(n, rows);
        })
    });
    group.bench_function("parse_refill", |b| {
        b.iter(|| {
            let mut n = 0u64;
            let mut rows = baken_feeds::open(FeedKind::Shadowserver, &path, &options).unwrap();
            let mut event = Event::new();
            while let Some(row) = rows.next_into(&mut event) {
                n += u64::from(row.outcome.is_ok());
            }
            assert_eq!(n, rows_total);
        })
    });
    group.bench_function("parse_attribute", |b| {
        b.iter(|| {
            let mut owned = 0u64;
            let mut rows = baken_feeds::open(FeedKind::Shadowserver, &path, &options).unwrap();
            let mut event = Event::new();
            while let Some(row) = rows.next_into(&mut event) {
                row.outcome.unwrap();
                let a = attributor.attribute(
                    event.source_ip(),
                    event.source_asn(),
                    event.source_domain(),
                );
                owned += u64::from(a.rule != baken_model::Rule::None);
            }
            std::hint::black_box(owned)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
