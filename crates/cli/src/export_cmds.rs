//! `baken export stix|misp|intelmq`: what a party may see of an incident, in a peer's format.
//! What goes in is decided by `App::export` (the sharing policy, as for a mail) and audited
//! there; this module parses the arguments and writes the bytes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use baken_app::{App, ExportFormat, ExportRequest, Viewer, parse_since};
use baken_model::OrgId;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub(crate) enum ExportCommand {
    /// A STIX 2.1 bundle: the vulnerability, the affected addresses and ports as
    /// observables, sightings, remediations as courses of action, TLP 2.0 markings.
    Stix(ExportArgs),
    /// A MISP event: ip-port and vulnerability objects, tlp: tags, the distribution the
    /// policy allows.
    Misp(ExportArgs),
    /// IntelMQ events (JSON lines): every stored observation as the event it was.
    Intelmq(ExportArgs),
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// The incident (e.g. cve-2019-19781).
    #[arg(long)]
    incident: String,
    /// The party it is for (a registry id): it holds what the sharing policy lets that
    /// party see, in its form.
    #[arg(
        long = "for",
        value_name = "PARTY",
        required_unless_present = "internal"
    )]
    party: Option<String>,
    /// For the analysts' own use: everything, unfiltered (audited as such).
    #[arg(long, conflicts_with = "party")]
    internal: bool,
    /// The sharing policy that decides: nl-2020, nl-dtc-oktt, or a policy file.
    #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
    policy: String,
    /// Only findings last seen (IntelMQ: observations made) at or after this date or RFC
    /// 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// The producer's name, as the export names its author.
    #[arg(long, default_value = "baken")]
    producer: String,
    /// Write to this file (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --out: print what was exported (party, policy, findings by id, counts, TLP) as
    /// JSON.
    #[arg(long, requires = "out")]
    json: bool,
}

/// `baken export …`.
pub(crate) fn run(data: &Path, command: ExportCommand) -> Result<()> {
    let (format, args) = match command {
        ExportCommand::Stix(a) => (ExportFormat::Stix, a),
        ExportCommand::Misp(a) => (ExportFormat::Misp, a),
        ExportCommand::Intelmq(a) => (ExportFormat::Intelmq, a),
    };
    let viewer = match (&args.party, args.internal) {
        (Some(p), false) => Viewer::Party(OrgId(p.clone())),
        _ => Viewer::Analyst,
    };
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let destination = match &args.out {
        Some(path) => format!("file {}", path.display()),
        None => "standard output".to_string(),
    };
    let mut app = App::open(data)?;
    let exported = app.export(&ExportRequest {
        format,
        incident: args.incident,
        viewer,
        policy: args.policy,
        since,
        producer: Some(args.producer),
        destination,
    })?;
    match &args.out {
        Some(path) => {
            std::fs::write(path, &exported.bytes)
                .with_context(|| format!("cannot write the export to {}", path.display()))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&exported)?);
            } else {
                eprintln!(
                    "{}: {} {} for {} under {}: {} findings, {} records, {} sector counts, {}",
                    path.display(),
                    format.name(),
                    exported.incident,
                    exported.party,
                    exported.policy,
                    exported.findings.len(),
                    exported.records,
                    exported.counts,
                    exported.tlp
                );
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&exported.bytes)
                .and_then(|()| stdout.flush())
                .context("cannot write the export to standard output")?;
        }
    }
    Ok(())
}
