//! Loading an `Attributor` from its snapshot against building it, on the data of
//! `support/snapshot_inputs.rs` (100 k organisations, 1 M routed prefixes, 25 k abuse
//! records). `from_snapshot` is timed without dropping what it loads; `new` without cloning
//! its input.
//!
//! ```sh
//! cargo bench -p baken-attribute --bench snapshot
//! ```
//!
//! `examples/snapshot_load.rs` times the same load in a fresh process, as `baken` starts.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

#[path = "support/snapshot_inputs.rs"]
mod snapshot_inputs;

use std::hint::black_box;
use std::time::Duration;

use baken_attribute::Attributor;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let (orgs, routed, abuse) = snapshot_inputs::inputs();
    let built = Attributor::new(orgs.clone(), routed.clone(), abuse.clone()).unwrap();
    let bytes = built.snapshot();
    eprintln!(
        "snapshot of {:?}: {:.1} MiB",
        built.stats(),
        bytes.len() as f64 / (1 << 20) as f64
    );

    let mut group = c.benchmark_group("attributor");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("new", |b| {
        b.iter_batched(
            || (orgs.clone(), routed.clone(), abuse.clone()),
            |(o, r, a)| Attributor::new(o, r, a).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("from_snapshot", |b| {
        b.iter_with_large_drop(|| Attributor::from_snapshot(black_box(&bytes)).unwrap())
    });
    group.bench_function("snapshot", |b| b.iter(|| black_box(&built).snapshot()));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
