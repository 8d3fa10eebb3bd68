//! Each stage of the IntelMQ-comparison chain alone, on generated data: parse (Shadowserver
//! CSV → events), attribute (routing-table lookup setting `source.asn`/`source.network`, and
//! the full `Attributor::attribute`), filter (the keep-our-ASNs decision) and serialise
//! (events → JSON lines).
//!
//! The feed is a synthetic Vulnerable-HTTP report in the column order of
//! `../shared/bench/intelmq/gen_data.py` (addresses from 198.18.0.0/15); the routing table
//! holds one /24 per 256 addresses of that block, 80 % of them "our" ASNs. Throughput is in
//! events. `BAKEN_BENCH_ROWS` overrides the row count (default 20,000).
//!
//! `cargo bench -p baken-pipeline --bench stages`

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use std::io::Write;
use std::net::Ipv4Addr;

use baken_attribute::Attributor;
use baken_feeds::{Event, FeedKind, Options};
use baken_model::RoutedPrefix;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KEEP: std::ops::RangeInclusive<u32> = 4_200_000_000..=4_200_000_799;

const HEADER: &str = "timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,city,naics,hostname_source,sector,http,http_code,http_reason,content_type,connection,www_authenticate,set_cookie,server,content_length,transfer_encoding,http_date,version,build_date,detail,build_branch";

fn feed(path: &std::path::Path, rows: u64) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "{HEADER}").unwrap();
    let mut rng = StdRng::seed_from_u64(20260324);
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let tags = [
        ("citrix;cve-2019-19781", "Apache", 443),
        ("pulse-secure;cve-2019-11510", "", 443),
        ("fortinet;fortios;cve-2018-13379", "xxxxxxxx-xxxxx", 10443),
        ("http;basic-auth", "lighttpd", 8080),
    ];
    for i in 0..rows {
        let ip = Ipv4Addr::from(base + rng.gen_range(0..131_072));
        let (tag, server, port) = tags[rng.gen_range(0..tags.len())];
        let sec = i % 86_400;
        let (h, m, s) = (sec / 3600, sec % 3600 / 60, sec % 60);
        let host = if rng.gen_bool(0.6) {
            format!("host-{}.example.nl", ip.to_string().replace('.', "-"))
        } else {
            String::new()
        };
        let source = if host.is_empty() { "" } else { "ptr" };
        writeln!(
            f,
            "2026-03-24 {h:02}:{m:02}:{s:02},critical,{ip},tcp,{port},{host},{tag},,NL,UTRECHT,UTRECHT,517311,{source},Education,HTTP/1.1,200,OK,text/html,close,,,{server},{},,\"Tue, 24 Mar 2026 {h:02}:{m:02}:{s:02} GMT\",,,,",
            rng.gen_range(100..20_000)
        )
        .unwrap();
    }
}

fn routing() -> Vec<RoutedPrefix> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..512u32)
        .map(|i| {
            let net = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (i << 8));
            let asn = if rng.gen_bool(0.8) {
                4_200_000_000 + rng.gen_range(0..800)
            } else {
                4_200_001_000 + rng.gen_range(0..400)
            };
            RoutedPrefix {
                net: format!("{net}/24").parse().unwrap(),
                asn,
            }
        })
        .collect()
}

/// IntelMQ's `asn_lookup`: `source.asn` and `source.network` from the longest routed
/// prefix containing `source.ip` (`Attributor::routed`); nothing without a route.
fn lookup(event: &mut Event, attributor: &Attributor) {
    if let Some((net, asn)) = event.source_ip().and_then(|ip| attributor.routed(ip)) {
        event.insert_static("source.asn", asn);
        event.insert_static("source.network", baken_model::network_text(&net));
    }
}

fn keep(event: &Event) -> bool {
    event.source_asn().is_some_and(|a| KEEP.contains(&a))
}

fn bench(c: &mut Criterion) {
    let rows: u64 = std::env::var("BAKEN_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("2026-03-24-scan_http_vulnerable-nl-geo-asn.csv");
    feed(&path, rows);
    let options = Options {
        observation_time: Some("2026-03-24T06:00:00+00:00".into()),
        ..Options::default()
    };
    let attributor = Attributor::new(Vec::new(), routing(), Vec::new()).unwrap();
    let mut looked_up: Vec<Event> = baken_feeds::open(FeedKind::Shadowserver, &path, &options)
        .unwrap()
        .map(|r| r.outcome.unwrap())
        .collect();
    looked_up.iter_mut().for_each(|e| lookup(e, &attributor));
    let kept: Vec<Event> = looked_up.iter().filter(|e| keep(e)).cloned().collect();

    let mut group = c.benchmark_group("stages");
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
            let mut stream = baken_feeds::open(FeedKind::Shadowserver, &path, &options).unwrap();
            let mut event = Event::new();
            while let Some(row) = stream.next_into(&mut event) {
                n += u64::from(row.outcome.is_ok());
            }
            assert_eq!(n, rows);
        })
    });
    let parse_all = || -> Vec<Event> {
        baken_feeds::open(FeedKind::Shadowserver, &path, &options)
            .unwrap()
            .map(|r| r.outcome.unwrap())
            .collect()
    };
    group.bench_function("attribute/routed_lookup", |b| {
        // fresh from the parser (a clone would have no spare room for the two new fields)
        b.iter_batched_ref(
            parse_all,
            |events| events.iter_mut().for_each(|e| lookup(e, &attributor)),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("attribute/attributor", |b| {
        b.iter(|| {
            looked_up
                .iter()
                .map(|e| attributor.attribute(e.source_ip(), e.source_asn(), e.source_domain()))
                .filter(|a| a.rule != baken_model::Rule::None)
                .count()
        })
    });
    group.bench_function("decide/filter", |b| {
        b.iter(|| looked_up.iter().filter(|e| keep(e)).count())
    });
    group.throughput(Throughput::Elements(kept.len() as u64));
    group.bench_function("serialise/json_lines", |b| {
        let mut out = Vec::with_capacity(1 << 20);
        b.iter(|| {
            out.clear();
            for e in &kept {
                e.write_json_line(&mut out);
                out.push(b'\n');
            }
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
