//! A watched intake directory: feed files and advisories dropped into it are ingested or
//! imported, then moved to `ingested/`, or to `failed/` with a `.why` file beside them.
//!
//! Files in its `lookalike/` subdirectory are names to check for lookalikes of the protected
//! list (`baken lookalike protect`); what they flag is recorded.
//!
//! Writers put a file in place whole (write elsewhere, or as a dot-file or `*.part`, then
//! rename it): hidden and `.part` files are left alone. A file is moved only after its rows
//! are stored, so a process killed in between ingests it again on the next pass, which
//! stores nothing twice (its rows are duplicates).

use std::path::{Path, PathBuf};

use baken_feeds::{FeedKind, Options};
use baken_pipeline::NoProgress;
use baken_pipeline::advisories::ImportOutcome;
use baken_pipeline::ingest::{FileSummary, Input};
use baken_store::Label;
use serde::Serialize;

use crate::{App, AppError, Result};

/// What one pass over the intake directory did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IntakePass {
    /// Feed files ingested, with what each stored.
    pub ingested: Vec<FileSummary>,
    /// Advisory files imported.
    pub advisories: Vec<String>,
    /// Files of names in `lookalike/` scanned, with what each recorded.
    pub lookalikes: Vec<(String, baken_pipeline::lookalikes::Recorded)>,
    /// Files moved to `failed/`, with why.
    pub failed: Vec<(String, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AppError + '_ {
    move |e| AppError::Usage(format!("{}: {e}", path.display()))
}

impl App {
    /// One pass over `dir`: each feed file is ingested under `policy`'s lifecycle with
    /// `label`, each advisory (`.json` that is no feed) imported; done files go to
    /// `dir/ingested/`, files that cannot be read to `dir/failed/` with a `.why`.
    pub fn intake(&mut self, dir: &Path, policy: &str, label: &Label) -> Result<IntakePass> {
        let done = dir.join("ingested");
        let failed = dir.join("failed");
        for d in [&done, &failed] {
            std::fs::create_dir_all(d).map_err(io(d))?;
        }
        let files = ready_files(dir)?;
        let settings =
            self.ingest_settings(policy, label.clone(), baken_pipeline::ingest::DEFAULT_BATCH)?;
        let mut pass = IntakePass::default();
        for path in files {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let outcome: std::result::Result<(), String> = match FeedKind::guess(&path) {
                Some(feed) => self
                    .ingest(
                        &Input {
                            path: path.clone(),
                            feed,
                        },
                        &Options::default(),
                        &settings,
                        &NoProgress,
                    )
                    .map(|s| pass.ingested.push(s))
                    .map_err(|e| e.to_string()),
                None if name.ends_with(".json") => match self.import_advisories(&path, None) {
                    Ok(outcomes) => {
                        let rejected: Vec<String> = outcomes
                            .iter()
                            .filter_map(|(_, o)| match o {
                                ImportOutcome::Rejected { problems } => Some(problems.join("; ")),
                                ImportOutcome::Skipped { reason } => Some(reason.clone()),
                                _ => None,
                            })
                            .collect();
                        if rejected.is_empty() {
                            pass.advisories.push(name.clone());
                            Ok(())
                        } else {
                            Err(rejected.join("; "))
                        }
                    }
                    Err(e) => Err(e.to_string()),
                },
                None => Err(
                    "neither a feed this baken reads (by its name) nor an advisory (.json)".into(),
                ),
            };
            let to = match &outcome {
                Ok(()) => done.join(&name),
                Err(why) => {
                    let note = failed.join(format!("{name}.why"));
                    std::fs::write(&note, format!("{why}\n")).map_err(io(&note))?;
                    tracing::warn!(file = %path.display(), error = %why, "intake refused a file");
                    pass.failed.push((name.clone(), why.clone()));
                    failed.join(&name)
                }
            };
            std::fs::rename(&path, &to).map_err(io(&path))?;
        }
        // names to check for lookalikes: lists, certstream lines, zone differences
        let names = dir.join("lookalike");
        if names.is_dir() {
            for path in ready_files(&names)? {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let to = match self.intake_lookalikes(&path) {
                    Ok(recorded) => {
                        pass.lookalikes
                            .push((format!("lookalike/{name}"), recorded));
                        done.join(format!("lookalike-{name}"))
                    }
                    Err(e) => {
                        let why = e.to_string();
                        let note = failed.join(format!("lookalike-{name}.why"));
                        std::fs::write(&note, format!("{why}\n")).map_err(io(&note))?;
                        tracing::warn!(file = %path.display(), error = %why, "intake refused a file");
                        pass.failed.push((format!("lookalike/{name}"), why));
                        failed.join(format!("lookalike-{name}"))
                    }
                };
                std::fs::rename(&path, &to).map_err(io(&path))?;
            }
        }
        Ok(pass)
    }
}

/// The files of `dir` that are whole: not hidden and not `*.part`, in name order.
fn ready_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.') && !name.ends_with(".part")
        })
        .collect();
    files.sort();
    Ok(files)
}
