//! `baken dependencies`: the cyber dependency picture, presented. The figures are computed by
//! `baken_pipeline::dependencies` through `App::dependencies`; this module only prints them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use baken_app::{App, coverage_line};
use baken_model::Tlp;
use baken_pipeline::dependencies::{self, Dependencies, DependencyOptions};
use clap::Args;

/// How many vendors, countries and suppliers the text lists.
const SHOWN: usize = 15;

#[derive(Args)]
pub(crate) struct DependenciesArgs {
    /// Only the organisations of this sector.
    #[arg(long)]
    sector: Option<String>,
    /// The blast radius of this vendor (as CPEs name it: `citrix`, `microsoft`).
    #[arg(long)]
    vendor: Option<String>,
    /// With --vendor: only this product (`application_delivery_controller_firmware`).
    #[arg(long, requires = "vendor")]
    product: Option<String>,
    /// A vendor table (`vendor,name,country,source` a line) whose rows add to the shipped
    /// one or replace its rows.
    #[arg(long)]
    vendors: Option<PathBuf>,
    /// The policy the blast radius is planned under.
    #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
    policy: String,
    /// The label an advisory about the vendor would carry, for the blast radius.
    #[arg(long, default_value = "AMBER", value_parser = crate::parse_tlp)]
    tlp: Tlp,
    /// Also write the picture as a self-contained HTML page.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

fn pct(x: f64) -> String {
    format!("{:5.1} %", 100.0 * x)
}

/// `baken dependencies`.
pub(crate) fn run(data: &Path, args: DependenciesArgs) -> Result<()> {
    let options = DependencyOptions {
        sector: args.sector,
        vendor: args.vendor,
        product: args.product,
        tlp: Some(args.tlp),
    };
    let d = App::open(data)?.dependencies(&options, args.vendors.as_deref(), &args.policy)?;
    if let Some(path) = &args.html {
        std::fs::write(path, dependencies::html(&d))
            .with_context(|| format!("cannot write the page to {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    print_text(&d);
    if let Some(path) = &args.html {
        println!();
        println!("page written to {}", path.display());
    }
    Ok(())
}

fn print_text(d: &Dependencies) {
    let c = &d.concentration;
    println!(
        "{}: {} organisations, {} with an inventory ({} entries, {} naming no vendor); {} vital providers, {} with an inventory",
        d.sector.as_deref().unwrap_or("all sectors"),
        d.organisations,
        d.with_inventory,
        d.entries,
        d.unidentified_entries,
        c.vital_providers,
        c.vital_with_inventory
    );
    println!();
    println!(
        "vendors ({}; vital share = vital providers depending on it / vital providers with an inventory)",
        d.vendors.len()
    );
    println!(
        "  {:<28} {:<7} {:>6} {:>6} {:>9} {:>11}",
        "vendor", "country", "orgs", "vital", "non-vital", "vital share"
    );
    for v in d.vendors.iter().take(SHOWN) {
        println!(
            "  {:<28} {:<7} {:>6} {:>6} {:>9} {:>11}",
            v.vendor,
            v.country.as_deref().unwrap_or("?"),
            v.organisations,
            v.vital,
            v.non_vital,
            pct(v.vital_share)
        );
        for p in v.products.iter().take(3) {
            println!(
                "    {:<40} {:>6} {:>6}",
                p.product,
                p.organisations.len(),
                p.vital
            );
        }
    }
    if d.vendors.len() > SHOWN {
        println!("  … {} more (--json lists all)", d.vendors.len() - SHOWN);
    }
    println!();
    println!("countries of headquarters (share of all organisation–vendor dependencies)");
    for k in d.countries.iter().take(SHOWN) {
        println!(
            "  {:<8} {}  {:>6} organisations, {:>5} vital ({} of vital providers)",
            k.country,
            pct(k.share),
            k.organisations,
            k.vital,
            pct(k.vital_share).trim()
        );
    }
    println!();
    println!("concentration per sector (HHI over vendors, 0–10,000)");
    for s in &c.sectors {
        println!(
            "  {:<20} HHI {:>6.0} (vital {:>6}) {:<24} largest {} {}",
            s.sector,
            s.hhi,
            s.hhi_vital
                .map_or_else(|| "-".into(), |h| format!("{h:.0}")),
            s.level,
            s.top_vendor.as_deref().unwrap_or("-"),
            pct(s.top_share).trim()
        );
    }
    println!();
    println!("non-vital suppliers of vital providers");
    for s in d.suppliers.network.iter().take(SHOWN) {
        println!(
            "  {:<36} {:<16} {:>5} vital providers, e.g. {}",
            s.name,
            s.kinds.iter().cloned().collect::<Vec<_>>().join("+"),
            s.vital_providers.len(),
            s.via.first().map(String::as_str).unwrap_or("-")
        );
    }
    for s in d.suppliers.it.iter().take(SHOWN) {
        println!(
            "  {:<36} {:<16} {:>5} vital providers",
            s.name,
            format!("it ({})", s.country.as_deref().unwrap_or("?")),
            s.vital_providers.len()
        );
    }
    if let Some(b) = &d.blast_radius {
        println!();
        println!(
            "blast radius of {}{} under policy {}: {} organisations ({} vital, {} non-vital), {} reachable, {} not",
            b.vendor,
            b.product
                .as_deref()
                .map(|p| format!(" {p}"))
                .unwrap_or_default(),
            b.policy,
            b.organisations,
            b.vital,
            b.non_vital,
            b.reached,
            b.unreachable
        );
        if b.organisations == 0 {
            println!("  no inventory names it");
        }
        let paths: Vec<String> = b.by_path.iter().map(|(p, n)| format!("{n} {p}")).collect();
        if !paths.is_empty() {
            println!("  reachable through: {}", paths.join(", "));
        }
        for (sector, s) in &b.by_sector {
            println!(
                "  {:<20} {:>5} organisations, {:>5} vital, {:>5} reachable",
                sector, s.organisations, s.vital, s.reached
            );
        }
        for a in b.parties.iter().filter(|a| a.vital) {
            println!(
                "  vital {:<12} {:<36} {}",
                a.id.to_string(),
                a.name,
                coverage_line(a)
            );
        }
    }
}
