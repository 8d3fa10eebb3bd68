//! `baken incident-report`: files, lists and answers the incident reports of obligated
//! organisations (the work is `baken_pipeline::incident_reports`, through the core).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use baken_app::{App, Viewer};
use baken_pipeline::incident_reports::{IncidentReport, ReportDocument, StageStatus};
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum IncidentReportCommand {
    /// File one stage of a report from FILE (JSON or TOML, as the README's schema shows):
    /// an early warning, a notification, an intermediate or a final report. Prints the report
    /// with its deadlines.
    Submit {
        /// The document.
        file: PathBuf,
        /// Who files it (a name or address), recorded with the stage.
        #[arg(long, default_value = "analyst")]
        by: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every report with each stage's deadline and whether it was met.
    List {
        /// Only reports with a stage past its deadline and not filed.
        #[arg(long)]
        overdue: bool,
        /// One JSON array of reports.
        #[arg(long)]
        json: bool,
    },
    /// Record the CSIRT's reply to the early warning of report REFERENCE of ORGANISATION.
    Reply {
        /// The organisation (registry id).
        organisation: String,
        /// Its reference of the report.
        reference: String,
        /// What the CSIRT answered, in short.
        #[arg(long)]
        note: Option<String>,
        /// Who answered.
        #[arg(long, default_value = "analyst")]
        by: String,
    },
}

pub(crate) fn run(data: &Path, command: IncidentReportCommand) -> Result<()> {
    let mut app = App::open(data)?;
    match command {
        IncidentReportCommand::Submit { file, by, json } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let doc = ReportDocument::parse(&text, &file.display().to_string())
                .map_err(anyhow::Error::msg)?;
            let (report, new) =
                app.submit_incident_report(&doc, &Viewer::Analyst, &format!("{by} (CLI)"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} of report {} of {}",
                    if new {
                        "filed"
                    } else {
                        "already filed: nothing changed;"
                    },
                    report.reference,
                    report.organisation
                );
                print_report(&report);
            }
        }
        IncidentReportCommand::List { overdue, json } => {
            let reports: Vec<IncidentReport> = app
                .all_incident_reports()?
                .into_iter()
                .filter(|r| !overdue || r.overdue)
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else if reports.is_empty() {
                println!(
                    "{}",
                    if overdue {
                        "no report has a stage overdue"
                    } else {
                        "no incident reports"
                    }
                );
            } else {
                for r in &reports {
                    print_report(r);
                    println!();
                }
                let late = reports.iter().filter(|r| r.overdue).count();
                println!("{} reports, {late} with a stage overdue", reports.len());
            }
        }
        IncidentReportCommand::Reply {
            organisation,
            reference,
            note,
            by,
        } => {
            let report = app.reply_incident_report(
                &organisation,
                &reference,
                &format!("{by} (CLI)"),
                note.as_deref(),
            )?;
            println!("reply recorded");
            print_report(&report);
        }
    }
    Ok(())
}

fn print_report(r: &IncidentReport) {
    println!(
        "{} / {}  {}{}{}  TLP:{}  aware {}",
        r.organisation,
        r.reference,
        r.name.as_deref().unwrap_or("(not in the registry)"),
        r.sector
            .as_deref()
            .map(|s| format!(", {s}"))
            .unwrap_or_default(),
        if r.vital { ", vital" } else { "" },
        r.tlp,
        r.aware_at
    );
    if !r.incidents.is_empty() {
        println!(
            "  incidents {}{}",
            r.incidents.join(", "),
            if r.open_findings > 0 {
                format!(" ({} open findings of this organisation)", r.open_findings)
            } else {
                String::new()
            }
        );
    }
    if r.compromised {
        println!("  systems compromised");
    }
    for s in &r.stages {
        let mark = match s.status {
            StageStatus::Complete => "complete",
            StageStatus::Late => "LATE",
            StageStatus::Overdue => "OVERDUE",
            StageStatus::Due => "due",
            StageStatus::Filed => "filed",
        };
        println!(
            "  {:<13} {:<9} due {:<21} filed {}",
            s.stage.as_str(),
            mark,
            s.due.as_deref().unwrap_or("-"),
            match (&s.filed, &s.by) {
                (Some(f), Some(b)) => format!("{f} by {b}"),
                (Some(f), None) => f.clone(),
                _ => "-".into(),
            }
        );
    }
}
