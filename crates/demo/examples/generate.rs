//! Writes the demo's synthetic world (registry, routing table, RPSL dump, Shadowserver feed,
//! CSAF advisory, inventories) into a directory, for benchmarks of single steps:
//! `cargo run --release -p baken-demo --example generate -- ORGS DIR`.

use std::path::PathBuf;

use baken_demo::generate::{Params, generate};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(orgs), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: generate ORGS DIR");
        std::process::exit(2);
    };
    let orgs: u32 = orgs.parse().expect("ORGS is a number");
    let g = generate(
        &Params {
            orgs,
            ..Params::default()
        },
        &PathBuf::from(dir),
    )
    .expect("the world is written");
    println!("registry {}", g.registry.display());
    println!("inventories {}", g.inventories.len());
}
