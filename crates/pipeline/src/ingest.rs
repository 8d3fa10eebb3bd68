//! Ingest: parse → attribute → store, streaming, in whole batches.

use std::path::{Path, PathBuf};

use baken_attribute::Attributor;
use baken_feeds::{FeedKind, Options, Row};
use baken_model::Event;
use baken_store::{BatchCounts, Label, NewEvent, QuarantinedRow, Store, TimelineStep, now};
use serde::Serialize;

use crate::{PipelineError, Progress};

/// Rows stored per transaction. A kill leaves only whole batches behind.
pub const DEFAULT_BATCH: usize = 5_000;

/// One file to ingest.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// Its feed.
    pub feed: FeedKind,
}

/// What ingesting one file did. `read == stored + duplicate + quarantined` always holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// The file.
    pub file: String,
    /// The feed.
    pub feed: String,
    /// Rows read.
    pub read: u64,
    /// New events stored.
    pub stored: u64,
    /// Events already in the store.
    pub duplicate: u64,
    /// Rows quarantined.
    pub quarantined: u64,
    /// The first quarantine reasons (file:line: field: reason), at most 20.
    pub quarantine_samples: Vec<String>,
}

impl FileSummary {
    /// Whether the counts reconcile.
    pub fn reconciles(&self) -> bool {
        self.read == self.stored + self.duplicate + self.quarantined
    }
}

/// The incidents an event belongs to: each CVE it carries (lower case), or else its
/// `classification.identifier`, `classification.type`, or `feed.name`.
pub fn incidents_of(event: &Event) -> Vec<String> {
    let cves = event.vulnerabilities();
    if !cves.is_empty() {
        return cves;
    }
    for key in [
        "classification.identifier",
        "classification.type",
        "feed.name",
    ] {
        if let Some(v) = event.get_str(key) {
            return vec![v.to_ascii_lowercase()];
        }
    }
    vec!["unclassified".into()]
}

/// Ingests one file into `store`, attributing every event with `attributor`.
///
/// Rows whose required fields have no valid value are quarantined (strict parsing). Every
/// stored event carries `label`: its TLP and who supplied it.
pub fn ingest_file(
    store: &mut dyn Store,
    attributor: &Attributor,
    input: &Input,
    options: &Options,
    label: &Label,
    batch_size: usize,
    progress: &dyn Progress,
) -> Result<FileSummary, PipelineError> {
    let file = input.path.display().to_string();
    // Ingest never accepts a row whose required fields are invalid (see `Options::strict`).
    let options = Options {
        strict: true,
        ..options.clone()
    };
    let rows = baken_feeds::open(input.feed, &input.path, &options)?;
    let run = store.begin_run(&file, input.feed.name(), label)?;
    store.add_step(&TimelineStep {
        incident: "*".into(),
        step: "feed-received".into(),
        at: now(),
        detail: file.clone(),
    })?;
    let mut summary = FileSummary {
        file: file.clone(),
        feed: input.feed.name().into(),
        ..FileSummary::default()
    };
    let mut counts = BatchCounts::default();
    let mut batch: Vec<Row> = Vec::with_capacity(batch_size);
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        batch.clear();
        batch.extend(rows.by_ref().take(batch_size.max(1)));
        summary.read += batch.len() as u64;
        let done = store_rows(store, attributor, run, &file, &batch, &mut summary)?;
        counts += done;
        progress.advance(batch.len() as u64);
    }
    store.finish_run(run, summary.read, counts)?;
    store.add_step(&TimelineStep {
        incident: "*".into(),
        step: "ingested".into(),
        at: now(),
        detail: format!(
            "{file}: {} read, {} stored, {} duplicate, {} quarantined",
            summary.read, counts.stored, counts.duplicate, counts.quarantined
        ),
    })?;
    summary.stored = counts.stored;
    summary.duplicate = counts.duplicate;
    summary.quarantined = counts.quarantined;
    debug_assert!(summary.reconciles());
    Ok(summary)
}

fn store_rows(
    store: &mut dyn Store,
    attributor: &Attributor,
    run: i64,
    file: &str,
    batch: &[Row],
    summary: &mut FileSummary,
) -> Result<BatchCounts, PipelineError> {
    let mut attributions = Vec::with_capacity(batch.len());
    let mut incidents = Vec::with_capacity(batch.len());
    for row in batch {
        if let Ok(event) = &row.outcome {
            attributions.push(attributor.attribute(
                event.source_ip(),
                event.source_asn(),
                event.source_domain(),
            ));
            incidents.push(incidents_of(event));
        }
    }
    let mut events = Vec::with_capacity(attributions.len());
    let mut quarantined = Vec::new();
    let mut accepted = 0;
    for row in batch {
        match &row.outcome {
            Ok(event) => {
                events.push(NewEvent {
                    file,
                    line: row.line,
                    event,
                    attribution: &attributions[accepted],
                    incidents: &incidents[accepted],
                });
                accepted += 1;
            }
            Err(e) => {
                if summary.quarantine_samples.len() < 20 {
                    summary
                        .quarantine_samples
                        .push(format!("{file}:{}: {e}", row.line));
                }
                quarantined.push(QuarantinedRow {
                    file,
                    line: row.line,
                    field: e.field.as_deref(),
                    reason: &e.message,
                    raw: &e.raw,
                });
            }
        }
    }
    Ok(store.store_batch(run, &events, &quarantined)?)
}

/// Guesses the feed of `path`, or says what to pass.
pub fn guess_feed(path: &Path) -> Result<FeedKind, PipelineError> {
    FeedKind::guess(path).ok_or_else(|| PipelineError::Usage(format!(
        "{}: cannot tell the feed from the file name; pass --feed shadowserver|nuclei|zgrab2|intelmq",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidents_are_cves_else_classification() {
        let mut e = Event::new();
        e.insert("classification.identifier", "Vulnerable-HTTP");
        assert_eq!(incidents_of(&e), vec!["vulnerable-http"]);
        e.insert("product.vulnerabilities", "CVE-2019-19781,cve-2020-8193");
        assert_eq!(incidents_of(&e), vec!["cve-2019-19781", "cve-2020-8193"]);
    }
}
