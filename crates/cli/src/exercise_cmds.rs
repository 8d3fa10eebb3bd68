//! `baken exercise`: runs, ends and measures drills (the work is `baken_app`'s exercise
//! calls); this module parses and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use baken_app::{App, ExerciseReport, ExerciseRequest, NotifyRequest};
use baken_model::Tlp;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum ExerciseCommand {
    /// Inject a drill through the real chain: the scenario's advisory and scan rows for the
    /// participants' registered addresses, then a notify round. Every message says it is an
    /// exercise.
    Run {
        /// A shipped scenario (`baken exercise scenarios` lists them) or a scenario file.
        scenario: String,
        /// The participants: registry ids, one a line (`#` starts a comment); default: the
        /// organisations the scenario picks.
        #[arg(long)]
        participants: Option<PathBuf>,
        /// The exercise's id (lower-case letters and digits); default: the scenario's name
        /// and the time.
        #[arg(long)]
        id: Option<String>,
        /// Where the generated advisory and scan rows go (default: DATA/exercises/ID).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Deliver through this SMTP relay (as `baken notify --smtp`).
        #[arg(long, conflicts_with = "outbox")]
        smtp: Option<String>,
        /// Write .eml files into this directory (default: DATA/outbox).
        #[arg(long)]
        outbox: Option<PathBuf>,
        /// Sender address.
        #[arg(long, default_value = "NCSC baken <baken@ncsc.example>")]
        from: String,
        /// TLP label of the drill's findings.
        #[arg(long, default_value = "AMBER", value_parser = crate::parse_tlp)]
        tlp: Tlp,
        /// Sharing policy: nl-2020, nl-dtc-oktt, or a policy file.
        #[arg(long, env = "BAKEN_POLICY", default_value = "nl-2020")]
        policy: String,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// End a drill: its findings still open are closed (verified fixed, cause exercise).
    End {
        /// The exercise's id.
        id: String,
        /// Who ends it, recorded with each change.
        #[arg(long, default_value = "baken exercise")]
        by: String,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure a drill per participant and per sector: delivered, time to acknowledge, time
    /// to mitigation claimed, never responded, unreachable and why.
    Report {
        /// The exercise's id.
        id: String,
        /// Also write the report as one self-contained HTML page.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Print the whole report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the exercises run in this data directory.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the shipped scenarios, or print one to copy and edit.
    Scenarios {
        /// The scenario to print.
        name: Option<String>,
    },
}

pub(crate) fn run(data: &Path, command: ExerciseCommand) -> Result<()> {
    match command {
        ExerciseCommand::Run {
            scenario,
            participants,
            id,
            out,
            smtp,
            outbox,
            from,
            tlp,
            policy,
            json,
        } => {
            let participants = participants.map(|p| read_participants(&p)).transpose()?;
            let mut app = App::open(data)?;
            let (mut transport, idempotent) = crate::transport(smtp.as_deref(), outbox, data)?;
            let request = ExerciseRequest {
                scenario,
                id,
                participants,
                out,
                notify: NotifyRequest {
                    incident: None,
                    from,
                    tlp,
                    policy,
                    named: Vec::new(),
                    idempotent_transport: idempotent,
                    resend_uncertain: false,
                    daily: None,
                },
            };
            let progress = crate::bar("exercise", None);
            let run = app.exercise_run(&request, transport.as_mut(), progress.as_ref())?;
            drop(progress);
            if json {
                println!("{}", serde_json::to_string_pretty(&run)?);
                return Ok(());
            }
            println!(
                "exercise {} ({}): incident {}, advisory {}",
                run.id, run.scenario, run.incident, run.advisory
            );
            let hosts: usize = run.participants.iter().map(|p| p.hosts.len()).sum();
            println!(
                "{} participants, {hosts} hosts; {} rows read, {} stored",
                run.participants.len(),
                run.ingest.read,
                run.ingest.stored
            );
            for p in run.participants.iter().filter(|p| p.hosts.is_empty()) {
                println!(
                    "  {} ({}): no registered network, no scan row",
                    p.name, p.id
                );
            }
            let sent: usize = run.notify.incidents.iter().map(|i| i.sent()).sum();
            println!("{sent} messages sent, each marked [EXERCISE]");
            for u in &run.notify.undelivered {
                println!("  not delivered: {u}");
            }
            for input in &run.inputs {
                println!("wrote {input}");
            }
            println!(
                "participants answer as for real; then `baken exercise report {}` and \
                 `baken exercise end {}`",
                run.id, run.id
            );
        }
        ExerciseCommand::End { id, by, json } => {
            let end = App::open(data)?.exercise_end(&id, &by)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&end)?);
            } else {
                println!(
                    "exercise {} ended at {}: {} findings closed, {} closed before",
                    end.id, end.ended_at, end.closed, end.already_closed
                );
            }
        }
        ExerciseCommand::Report { id, html, json } => {
            let report = App::open(data)?.exercise_report(&id)?;
            if let Some(path) = &html {
                std::fs::write(path, report.html())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_report(&report);
                if let Some(path) = &html {
                    println!("wrote {}", path.display());
                }
            }
        }
        ExerciseCommand::List { json } => {
            let list = App::open(data)?.exercises()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            for e in &list {
                println!(
                    "{:<24} {:<14} {:>3} participants {:>5} findings  started {}  {}",
                    e.id,
                    e.scenario,
                    e.participants,
                    e.findings,
                    e.started_at,
                    e.ended_at
                        .as_deref()
                        .map_or_else(|| "running".to_string(), |t| format!("ended {t}"))
                );
            }
        }
        ExerciseCommand::Scenarios { name } => match name {
            Some(name) => {
                let Some(s) = baken_app::scenarios().into_iter().find(|s| s.name == name) else {
                    bail!("no shipped scenario {name:?}; `baken exercise scenarios` lists them");
                };
                print!("{}", s.text);
            }
            None => {
                for s in baken_app::scenarios() {
                    println!("{:<14} {:<22} {}", s.name, s.rehearses, s.title);
                }
            }
        },
    }
    Ok(())
}

/// Registry ids, one a line; blank lines and `#` comments skipped.
fn read_participants(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading participants from {}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

fn hours(h: Option<f64>) -> String {
    h.map_or_else(|| "-".into(), |h| format!("{h:.1} h"))
}

fn print_report(r: &ExerciseReport) {
    println!("EXERCISE {}: {}", r.id, r.title);
    println!(
        "scenario {}, incident {}, policy {}; started {}, {}",
        r.scenario,
        r.incident,
        r.policy,
        r.started_at,
        r.ended_at
            .as_deref()
            .map_or_else(|| "not ended".to_string(), |e| format!("ended {e}"))
    );
    println!(
        "{:<20} {:>5} {:>9} {:>6} {:>7} {:>7} {:>11} {:>10} {:>10}",
        "sector",
        "part.",
        "delivered",
        "acked",
        "claimed",
        "silent",
        "unreachable",
        "ack med.",
        "claim med."
    );
    for g in r.sectors.iter().chain(std::iter::once(&r.total)) {
        println!(
            "{:<20} {:>5} {:>9} {:>6} {:>7} {:>7} {:>11} {:>10} {:>10}",
            g.group,
            g.participants,
            g.delivered,
            g.acknowledged,
            g.mitigation_claimed,
            g.never_responded,
            g.unreachable,
            hours(g.median_hours_to_acknowledge),
            hours(g.median_hours_to_mitigation_claimed)
        );
    }
    for p in &r.participants {
        let outcome = match (&p.unreachable, p.never_responded) {
            (Some(why), _) => format!("unreachable: {why}"),
            (None, true) => "never responded".into(),
            (None, false) => format!(
                "acknowledged after {}, mitigation claimed after {}",
                hours(p.hours_to_acknowledge),
                hours(p.hours_to_mitigation_claimed)
            ),
        };
        println!("  {} ({}, {}): {outcome}", p.name, p.id, p.sector);
    }
}
