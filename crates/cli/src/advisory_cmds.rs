//! `advisory new` and `advisory publish`, and printing what `advisory import` and
//! `advisory sync` did with a document of many entries (a KEV catalogue, a page of NVD
//! records): every entry recorded or rejected, counted.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use baken_advisory::author::{Draft, ProductSpec};
use baken_app::App;
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

/// `advisory new`.
#[derive(clap::Args)]
pub(crate) struct NewArgs {
    /// The advisory's tracking id (default: BAKEN-<CVE>).
    #[arg(long)]
    id: Option<String>,
    /// A CVE the advisory is about (repeat for more).
    #[arg(long = "cve")]
    cves: Vec<String>,
    /// An affected product, vendor/product/versions: versions separated by commas, each
    /// exact (13.0) or a range (<13.0.47.24, >=12.1|<12.1.55.18, vers:semver/<2.4.50).
    #[arg(long = "product")]
    products: Vec<String>,
    /// The title (default: "Vulnerability in PRODUCTS").
    #[arg(long)]
    title: Option<String>,
    /// What the vulnerability is (default: a sentence naming the CVEs and products).
    #[arg(long)]
    description: Option<String>,
    /// A CVSS v3.x vector, scored for every product.
    #[arg(long)]
    cvss: Option<String>,
    /// TLP label: CLEAR (written WHITE, as CSAF 2.0 names it), GREEN, AMBER or RED.
    #[arg(long, default_value = "CLEAR")]
    tlp: String,
    /// The publisher's name.
    #[arg(long, env = "BAKEN_PUBLISHER_NAME", default_value = "National CSIRT")]
    publisher_name: String,
    /// The publisher's namespace, a URL.
    #[arg(
        long,
        env = "BAKEN_PUBLISHER_NAMESPACE",
        default_value = "https://csirt.example"
    )]
    publisher_namespace: String,
    /// An edited CSAF 2.0 document to store instead (the options above are not used).
    #[arg(long, conflicts_with_all = ["cves", "products"])]
    from: Option<PathBuf>,
    /// Also write the document to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// CSAF 2.0 JSON schema (default as for import).
    #[arg(long)]
    schema: Option<PathBuf>,
}

/// `advisory publish`.
#[derive(clap::Args)]
pub(crate) struct PublishArgs {
    /// The advisories (tracking ids).
    #[arg(required = true)]
    ids: Vec<String>,
    /// The provider directory, served as https://DOMAIN/.well-known/csaf/.
    #[arg(long)]
    out: PathBuf,
    /// The URL the directory is served at.
    #[arg(long, env = "BAKEN_CSAF_BASE_URL")]
    base_url: String,
    /// The OpenPGP secret key that signs, armored, without a passphrase.
    #[arg(long)]
    key: PathBuf,
}

/// Authors an advisory and prints what was stored.
pub(crate) fn new(app: &mut App, args: NewArgs) -> Result<()> {
    let authored = match &args.from {
        Some(file) => {
            let bytes = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
            let doc = serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not JSON", file.display()))?;
            app.author_advisory_from(doc, args.schema.as_deref())?
        }
        None => {
            let products = args
                .products
                .iter()
                .map(|p| ProductSpec::parse(p))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--product {e}"))?;
            let first_cve = args.cves.first().map(|c| c.to_ascii_uppercase());
            let draft = Draft {
                id: args
                    .id
                    .clone()
                    .or_else(|| first_cve.as_ref().map(|c| format!("BAKEN-{c}")))
                    .unwrap_or_default(),
                title: args.title.clone().unwrap_or_else(|| {
                    let names: Vec<String> = products
                        .iter()
                        .map(|p| format!("{} {}", p.vendor, p.product))
                        .collect();
                    format!("Vulnerability in {}", names.join(", "))
                }),
                cves: args.cves.clone(),
                products,
                description: args.description.clone(),
                cvss: args.cvss.clone(),
                tlp: args.tlp.clone(),
                publisher_name: args.publisher_name.clone(),
                publisher_namespace: args.publisher_namespace.clone(),
                released: chrono::Utc::now(),
            };
            app.author_advisory(&draft, args.schema.as_deref())?
        }
    };
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_vec_pretty(&authored.document)?)
            .with_context(|| format!("{}", out.display()))?;
    }
    let id = authored.document["document"]["tracking"]["id"]
        .as_str()
        .unwrap_or("-");
    let label = authored.document["document"]["distribution"]["tlp"]["label"]
        .as_str()
        .unwrap_or("-");
    match &authored.outcome {
        ImportOutcome::Imported { put, .. } => println!(
            "{id}: CSAF 2.0 advisory, TLP:{label}, {}",
            match put {
                baken_store::AdvisoryPut::New => "stored",
                baken_store::AdvisoryPut::Revision => "stored as a new revision",
                baken_store::AdvisoryPut::Unchanged => "already stored",
            }
        ),
        _ => println!("{id}: stored"),
    }
    Ok(())
}

/// Publishes advisories and prints what was written.
pub(crate) fn publish(app: &mut App, args: PublishArgs) -> Result<()> {
    let report = app.publish_advisories(&args.ids, &args.out, &args.base_url, &args.key)?;
    for p in &report.published {
        println!("{}: {} (sha256 {})", p.id, p.path, p.sha256);
    }
    println!(
        "{}: {} published now, {} listed, signed by {}",
        report.provider_metadata.display(),
        report.published.len(),
        report.listed,
        report.fingerprint
    );
    Ok(())
}
