//! Printing what `advisory import` and `advisory sync` did with a document of many entries
//! (a KEV catalogue, a page of NVD records): every entry recorded or rejected, counted.

use std::path::Path;

use baken_pipeline::advisories::ImportOutcome;

/// Prints a document's entries: what was recorded, then each rejected entry on standard
/// error with its JSON path and field, and the counts, which add up to the entries read.
pub(crate) fn print_entries(file: &Path, outcome: &ImportOutcome) {
    let file = file.display();
    match outcome {
        ImportOutcome::Exploited {
            catalog,
            read,
            cves,
            advisories,
            rejected,
        } => {
            println!(
                "{file}: {catalog}: exploitation dates of {cves} CVEs recorded ({read} read, {cves} recorded, {} rejected)",
                rejected.len()
            );
            if !advisories.is_empty() {
                println!("  advisories marked exploited: {}", advisories.join(", "));
            }
            for r in rejected {
                eprintln!("{file}: rejected entry {r}");
            }
        }
        ImportOutcome::Records {
            read,
            imported,
            exploited,
            rejected,
            warnings,
        } => {
            for (id, revision, put) in imported {
                println!(
                    "{file}: {id} revision {} {}",
                    revision.as_deref().unwrap_or("-"),
                    match put {
                        baken_store::AdvisoryPut::New => "imported",
                        baken_store::AdvisoryPut::Revision => "imported as a new revision",
                        baken_store::AdvisoryPut::Unchanged => "already imported",
                    }
                );
            }
            for w in warnings {
                println!("  warning: {w}");
            }
            for r in rejected {
                eprintln!("{file}: rejected entry {r}");
            }
            println!(
                "{file}: {read} records read, {} stored, {} rejected; {exploited} known exploited (cisaExploitAdd recorded)",
                imported.len(),
                rejected.len()
            );
        }
        _ => {}
    }
}

