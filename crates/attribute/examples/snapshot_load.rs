//! Times loading an `Attributor` snapshot as a fresh `baken` process does: read the file,
//! load it; then the first call to `organisations()`, which decodes them. `write` builds the index of `benches/support/snapshot_inputs.rs` (100 k
//! organisations, 1 M routed prefixes, 25 k abuse records), timing `Attributor::new`, and
//! writes its snapshot.
//!
//! ```sh
//! cargo build --release -p baken-attribute --example snapshot_load
//! target/release/examples/snapshot_load write /tmp/attributor.snapshot
//! target/release/examples/snapshot_load /tmp/attributor.snapshot
//! ```

#[path = "../benches/support/snapshot_inputs.rs"]
mod snapshot_inputs;

use std::error::Error;
use std::time::Instant;

use baken_attribute::Attributor;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [write, path] if write == "write" => {
            let (orgs, routed, abuse) = snapshot_inputs::inputs();
            let started = Instant::now();
            let attributor = Attributor::new(orgs, routed, abuse)?;
            let built = started.elapsed();
            let bytes = attributor.snapshot();
            std::fs::write(path, &bytes)?;
            println!(
                "Attributor::new {built:.1?}; a snapshot of {:.1} MiB written to {path}",
                bytes.len() as f64 / f64::from(1 << 20)
            );
        }
        [path] => {
            let started = Instant::now();
            let bytes = std::fs::read(path)?;
            let read = started.elapsed();
            let attributor = Attributor::from_snapshot(&bytes)?;
            let both = started.elapsed();
            println!(
                "read {read:.1?}, Attributor::from_snapshot {:.1?}, both {both:.1?}: {:?}",
                both - read,
                attributor.stats()
            );
            let started = Instant::now();
            let n = attributor.organisations().len();
            println!(
                "the first organisations() decodes {n} organisations in {:.1?}",
                started.elapsed()
            );
        }
        _ => return Err("usage: snapshot_load [write] FILE".into()),
    }
    Ok(())
}
