//! `baken inventory import`: one organisation's file, or many at once from a directory or a
//! manifest, as the application core imports them, printed.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use baken_app::{App, InventorySource};
use baken_pipeline::Progress;

/// `baken inventory import ORG FILE | --dir DIR | --manifest FILE`.
pub fn import(
    data: &Path,
    single: Option<(String, PathBuf)>,
    source: Option<InventorySource>,
    progress: &dyn Fn() -> Box<dyn Progress>,
) -> Result<()> {
    let mut app = App::open(data)?;
    if let Some((org, file)) = single {
        let r = app.import_inventory(&org, &file)?;
        println!(
            "{}: {} entries imported for {org}",
            file.display(),
            r.entries
        );
        for p in &r.problems {
            eprintln!("  skipped {p}");
        }
        return Ok(());
    }
    let Some(source) = source else {
        bail!("give ORG FILE, --dir DIR or --manifest FILE");
    };
    let r = {
        let bar = progress();
        app.import_inventories(&source, bar.as_ref())?
    };
    if !r.refused.is_empty() {
        for p in &r.refused {
            eprintln!("refused {p}");
        }
        bail!(
            "{} file(s) refused, so nothing was imported (all or nothing); fix or remove them and run again",
            r.refused.len()
        );
    }
    let skipped: usize = r.imported.iter().map(|f| f.problems.len()).sum();
    for f in &r.imported {
        for p in f.problems.iter().take(10) {
            eprintln!("  skipped {p}");
        }
        if f.problems.len() > 10 {
            eprintln!("  … {} more skipped in {}", f.problems.len() - 10, f.file);
        }
    }
    let orgs: std::collections::BTreeSet<&str> =
        r.imported.iter().map(|f| f.org.as_str()).collect();
    println!(
        "{} entries imported from {} files for {} organisations ({skipped} entries skipped)",
        r.entries,
        r.imported.len(),
        orgs.len()
    );
    Ok(())
}
