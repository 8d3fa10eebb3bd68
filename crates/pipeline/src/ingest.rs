//! Ingest: parse → attribute → store, streaming, in whole batches.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use baken_attribute::Attributor;
use baken_feeds::{Alterations, FeedKind, Options, RowInto};
use baken_model::Event;
use baken_store::{
    Batch, BatchCounts, KeptChunk, Label, Observed, QuarantinedRow, RunSource, Store, TimelineStep,
    now,
};
use serde::Serialize;

use crate::{PipelineError, Progress};

/// Rows stored per transaction. A kill leaves only whole batches behind.
pub const DEFAULT_BATCH: usize = 50_000;

/// A header longer than this is not kept (a file without `\n` line breaks reads as one line).
const MAX_HEADER: usize = 1 << 20;

/// Rows per kept chunk: reading one row again parses (at most) its chunk, a millisecond or
/// two; the reader keeps this many events in memory.
const CHUNK_ROWS: usize = 2_048;

/// One file to ingest.
#[derive(Debug, Clone)]
pub struct Input {
    /// The file.
    pub path: PathBuf,
    /// Its feed.
    pub feed: FeedKind,
}

/// How to store what one file holds.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The TLP label and supplier every stored item carries.
    pub label: Label,
    /// Rows per stored batch (one transaction each).
    pub batch_size: usize,
    /// Later reports of the same feed and type in a row that must no longer hold a finding
    /// before it counts as verified fixed (the policy's `verify_after_reports`).
    pub verify_after_reports: u32,
    /// The incident the file's timeline steps (feed received, ingested) belong to; `None`
    /// for every incident (`*`), as a feed may hold any. An exercise names its own, so that
    /// its rows appear in no real incident's timeline.
    pub timeline_incident: Option<String>,
}

impl Default for Settings {
    /// TLP:AMBER from our own feeds, [`DEFAULT_BATCH`] rows a batch, one report to verify.
    fn default() -> Self {
        Self {
            label: Label::default(),
            batch_size: DEFAULT_BATCH,
            verify_after_reports: 1,
            timeline_incident: None,
        }
    }
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
    /// Rows that gave a new observation of a finding.
    pub stored: u64,
    /// Rows already in the store (the same finding at the same `time.source`).
    pub duplicate: u64,
    /// Rows quarantined.
    pub quarantined: u64,
    /// Findings seen for the first time.
    pub new_findings: u64,
    /// Findings seen again after they were verified fixed.
    pub reopened: u64,
    /// Findings of this feed and report type seen before and not held by this report.
    pub missing: u64,
    /// Those of them that are now verified fixed.
    pub verified_fixed: u64,
    /// The first quarantine reasons (file:line: field: reason), at most 20.
    pub quarantine_samples: Vec<String>,
    /// What the parser altered in rows it read, as IntelMQ alters them (NUL bytes removed,
    /// invalid UTF-8 dropped, short and long rows read as the header says): counted so
    /// that nothing is changed without a trace.
    pub altered: Alterations,
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

/// The incidents of events, remembered by the text they come from: a feed repeats a few
/// lists of CVEs and classifications over millions of rows.
#[derive(Default)]
struct Incidents {
    by_vulnerabilities: HashMap<String, Arc<[String]>>,
    by_identifier: HashMap<String, Arc<[String]>>,
}

impl Incidents {
    /// Distinct texts kept before the memory starts over.
    const KEPT: usize = 4096;

    /// [`incidents_of`] the event.
    fn of(&mut self, event: &Event) -> Arc<[String]> {
        if let Some(text) = event.get_str("product.vulnerabilities") {
            let list = match self.by_vulnerabilities.get(text) {
                Some(list) => list.clone(),
                None => {
                    let list: Arc<[String]> = event.vulnerabilities().into();
                    if self.by_vulnerabilities.len() >= Self::KEPT {
                        self.by_vulnerabilities.clear();
                    }
                    self.by_vulnerabilities
                        .insert(text.to_string(), list.clone());
                    list
                }
            };
            if !list.is_empty() {
                return list;
            }
        }
        if let Some(id) = event.get_str("classification.identifier") {
            if let Some(list) = self.by_identifier.get(id) {
                return list.clone();
            }
            let list: Arc<[String]> = incidents_of(event).into();
            if self.by_identifier.len() >= Self::KEPT {
                self.by_identifier.clear();
            }
            self.by_identifier.insert(id.to_string(), list.clone());
            return list;
        }
        incidents_of(event).into()
    }
}

/// Ingests one file into `store`, attributing every event with `attributor`.
///
/// Rows whose required fields have no valid value are quarantined (strict parsing). Every
/// stored event carries `label`: its TLP and who supplied it. Each batch is stored with the
/// input text it was parsed from, so that every row can be read again as the event it was.
pub fn ingest_file(
    store: &mut dyn Store,
    attributor: &Attributor,
    input: &Input,
    options: &Options,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<FileSummary, PipelineError> {
    let started = std::time::Instant::now();
    let (label, batch_size) = (&settings.label, settings.batch_size);
    let file = input.path.display().to_string();
    let _span = tracing::info_span!("ingest", file = %file, feed = input.feed.name()).entered();
    // Ingest never accepts a row whose required fields are invalid (see `Options::strict`),
    // and fixes the observation time so that a kept row reads again as the same event.
    let observation_time = options
        .observation_time
        .clone()
        .unwrap_or_else(observation_now);
    let options = Options {
        strict: true,
        observation_time: Some(observation_time.clone()),
        ..options.clone()
    };
    let mut rows = baken_feeds::open(input.feed, &input.path, &options)?;
    // Events are parsed into the same few buffers batch after batch (the parsers reuse an
    // event's allocations), and one row is read ahead to know where a batch's text ends.
    let mut ahead_event = Event::new();
    let ahead = rows.next_into(&mut ahead_event);
    let mut text = LineText::open(&input.path)?;
    let first_line = ahead.as_ref().map_or(1, |r| r.line);
    let mut header = Vec::new();
    text.take(1, Some(first_line - 1), &mut header)
        .map_err(crate::io_error(&input.path))?;
    // The text is kept only where its lines are the parser's lines (line breaks of `\n`, a
    // header that reads as text, a feed whose rows are lines); otherwise each row is kept as
    // the event it gave.
    let lone_cr = header.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n');
    let keep_text = input.feed.rows_are_lines()
        && header.len() <= MAX_HEADER
        && !lone_cr
        && text.next == first_line;
    if !keep_text {
        header.clear();
    }
    let source = RunSource {
        feed: input.feed.name().into(),
        report: options.report.clone(),
        header: String::from_utf8_lossy(&header).into_owned(),
        header_lines: first_line - 1,
        observation_time: Some(observation_time),
        raw: options.raw,
    };
    // the bar's total: the file's lines after the header (a record over several lines
    // counts once in the rows, so the bar may end short of it)
    if progress.shows_total() {
        progress.expect(count_lines(&input.path)?.saturating_sub(first_line - 1));
    }
    let steps_under = settings
        .timeline_incident
        .clone()
        .unwrap_or_else(|| "*".into());
    let run = store.begin_run(&file, &source, label)?;
    tracing::info!(file = %file, feed = input.feed.name(), run, batch_size, "ingest started");
    store.add_step(&TimelineStep {
        incident: steps_under.clone(),
        step: "feed-received".into(),
        at: now(),
        detail: file.clone(),
    })?;
    let mut summary = FileSummary {
        file: file.clone(),
        feed: input.feed.name().into(),
        ..FileSummary::default()
    };
    // Reading (parse, attribute, keep the text) runs on a thread of its own and hands
    // whole batches to this one, which stores them in order: the two overlap, and a batch
    // read waits until the one before is taken, so that at most two are in memory.
    let mut counts = BatchCounts::default();
    let reader = Reader {
        attributor,
        file: &file,
        path: &input.path,
        batch_size: batch_size.max(1),
        keep_text,
    };
    let (batches, received) = std::sync::mpsc::sync_channel::<Result<Batch, PipelineError>>(0);
    let (read, samples, alterations) = std::thread::scope(
        |scope| -> Result<(u64, Vec<String>, Alterations), PipelineError> {
            let reading = scope.spawn(move || reader.read(rows, ahead, ahead_event, text, batches));
            let mut stored = Ok(());
            for (n, batch) in received.iter().enumerate() {
                let done = batch.and_then(|batch| {
                    let c = store.store_batch(run, &batch)?;
                    tracing::debug!(
                        file = %file,
                        batch = n + 1,
                        rows = batch.rows(),
                        stored = c.stored,
                        duplicate = c.duplicate,
                        quarantined = c.quarantined,
                        "batch stored"
                    );
                    counts += c;
                    progress.advance(batch.rows() as u64);
                    Ok(())
                });
                if done.is_err() {
                    // dropping the receiver stops the reader at its next batch
                    stored = done;
                    break;
                }
            }
            drop(received);
            let read = reading
                .join()
                .map_err(|_| PipelineError::Usage(format!("{file}: the reading thread failed")))?;
            stored?;
            Ok(read)
        },
    )?;
    summary.read = read;
    summary.quarantine_samples = samples;
    summary.altered = alterations;
    store.finish_run(run, summary.read, counts)?;
    // What this report no longer holds counts towards verifying the fix.
    let absences = store.count_absences(run, settings.verify_after_reports)?;
    store.add_step(&TimelineStep {
        incident: steps_under.clone(),
        step: "ingested".into(),
        at: now(),
        detail: format!(
            "{file}: {} read, {} stored, {} duplicate, {} quarantined, {} new findings, \
             {} reopened, {} no longer seen, {} verified fixed",
            summary.read,
            counts.stored,
            counts.duplicate,
            counts.quarantined,
            counts.new_findings,
            counts.reopened,
            absences.missing,
            absences.verified_fixed.len()
        ) + &altered_note(&summary.altered),
    })?;
    summary.stored = counts.stored;
    summary.duplicate = counts.duplicate;
    summary.quarantined = counts.quarantined;
    summary.new_findings = counts.new_findings;
    summary.reopened = counts.reopened;
    summary.missing = absences.missing;
    summary.verified_fixed = absences.verified_fixed.len() as u64;
    tracing::info!(
        file = %file,
        run,
        rows = summary.read,
        stored = summary.stored,
        duplicate = summary.duplicate,
        quarantined = summary.quarantined,
        new_findings = summary.new_findings,
        reopened = summary.reopened,
        verified_fixed = summary.verified_fixed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "ingested"
    );
    debug_assert!(summary.reconciles());
    Ok(summary)
}

/// The lines of a file (its `\n` bytes, plus a last line without one), read in blocks.
fn count_lines(path: &Path) -> Result<u64, PipelineError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(crate::io_error(path))?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = file.read(&mut buf).map_err(crate::io_error(path))?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Ok(lines + u64::from(last != b'\n'))
}

/// The reading half of [`ingest_file`]: rows parsed into reused events, attributed, and cut
/// into chunks of kept text and batches to store.
struct Reader<'a> {
    attributor: &'a Attributor,
    file: &'a str,
    path: &'a Path,
    batch_size: usize,
    /// Whether rows are kept as their input text (else as the events they gave).
    keep_text: bool,
}

impl Reader<'_> {
    /// Reads every row from `ahead` (already read into `ahead_event`) on, sending each batch
    /// to `batches` (an error ends the reading); returns the rows read, the first
    /// quarantine reasons and what the parser altered. Stops early when the receiver is
    /// gone.
    fn read(
        &self,
        mut rows: baken_feeds::Rows,
        mut ahead: Option<RowInto>,
        mut ahead_event: Event,
        mut text: LineText,
        batches: std::sync::mpsc::SyncSender<Result<Batch, PipelineError>>,
    ) -> (u64, Vec<String>, Alterations) {
        let file = self.file;
        let chunk_rows = CHUNK_ROWS.min(self.batch_size);
        let mut read = 0u64;
        let mut samples = Vec::new();
        let mut events: Vec<Event> = Vec::new();
        let mut rows_read: Vec<RowInto> = Vec::with_capacity(chunk_rows);
        let mut kept = Vec::new();
        let mut known = Incidents::default();
        let mut pending = Batch::default();
        // the last line of the chunk before, and how many of its rows came from that line
        let mut before: Option<(u64, u32)> = None;
        while let Some(first) = ahead.take() {
            rows_read.clear();
            if events.is_empty() {
                events.push(Event::new());
            }
            std::mem::swap(&mut events[0], &mut ahead_event);
            rows_read.push(first);
            while rows_read.len() < chunk_rows {
                if events.len() == rows_read.len() {
                    events.push(Event::new());
                }
                match rows.next_into(&mut events[rows_read.len()]) {
                    Some(row) => rows_read.push(row),
                    None => break,
                }
            }
            if rows_read.len() == chunk_rows {
                ahead = rows.next_into(&mut ahead_event);
            }
            let start = rows_read[0].line;
            let last = rows_read[rows_read.len() - 1].line;
            let skip = match before {
                Some((line, n)) if line == start => n,
                _ => 0,
            };
            // the text runs to the line before the next row, or through the last line when
            // the next row comes from it too
            let end = ahead
                .as_ref()
                .map(|next| next.line.saturating_sub(1).max(last));
            if let Err(e) = text.take(start, end, &mut kept) {
                let _ = batches.send(Err(crate::io_error(self.path)(e)));
                return (read, samples, rows.take_alterations());
            }
            let tail = rows_read
                .iter()
                .rev()
                .take_while(|r| r.line == last)
                .count() as u32;
            before = Some((last, if start == last { skip + tail } else { tail }));
            read += rows_read.len() as u64;
            let mut observed = Vec::with_capacity(rows_read.len());
            for (i, (row, event)) in rows_read.iter().zip(&events).enumerate() {
                match &row.outcome {
                    Ok(()) => {
                        let attribution = self.attributor.attribute(
                            event.source_ip(),
                            event.source_asn(),
                            event.source_domain(),
                        );
                        observed.push(Observed::of(event, i as u32, &attribution, known.of(event)));
                    }
                    Err(e) => {
                        if samples.len() < 20 {
                            samples.push(format!("{file}:{}: {e}", row.line));
                        }
                        pending.quarantined.push(QuarantinedRow {
                            file: file.to_string(),
                            line: row.line,
                            field: e.field.clone(),
                            reason: e.message.clone(),
                            raw: e.raw.clone(),
                        });
                    }
                }
            }
            // the text must hold every line of the chunk's rows, else the events are kept
            let covered = self.keep_text && text.next > last;
            if !covered && !observed.is_empty() {
                let accepted: Vec<&Event> = rows_read
                    .iter()
                    .zip(&events)
                    .filter(|(row, _)| row.outcome.is_ok())
                    .map(|(_, e)| e)
                    .collect();
                for (place, o) in observed.iter_mut().enumerate() {
                    o.row = place as u32;
                }
                match KeptChunk::events(start, &accepted, observed) {
                    Ok(chunk) => pending.chunks.push(chunk),
                    Err(e) => {
                        let _ = batches.send(Err(e.into()));
                        return (read, samples, rows.take_alterations());
                    }
                }
            } else if !observed.is_empty() {
                let n = rows_read.len() as u32;
                match KeptChunk::text(start, skip, n, &kept, observed) {
                    Ok(chunk) => pending.chunks.push(chunk),
                    Err(e) => {
                        let _ = batches.send(Err(e.into()));
                        return (read, samples, rows.take_alterations());
                    }
                }
            }
            if pending.rows() >= self.batch_size || ahead.is_none() {
                let batch = std::mem::take(&mut pending);
                if batches.send(Ok(batch)).is_err() {
                    // the store failed; it says why
                    return (read, samples, rows.take_alterations());
                }
            }
        }
        (read, samples, rows.take_alterations())
    }
}

/// `; altered: …` naming what the parser altered, or nothing when it altered nothing.
pub fn altered_note(altered: &Alterations) -> String {
    if altered.is_empty() {
        String::new()
    } else {
        format!("; altered: {}", altered.phrases().join(", "))
    }
}

/// Now as IntelMQ writes `time.observation`: UTC, whole seconds, `+00:00`.
fn observation_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// The lines of an input file, handed out as the text of each batch.
struct LineText {
    reader: BufReader<File>,
    /// The number of the next line to read.
    next: u64,
    /// The line before it, as read.
    last: Vec<u8>,
}

impl LineText {
    fn open(path: &Path) -> Result<Self, PipelineError> {
        let file = File::open(path).map_err(crate::io_error(path))?;
        Ok(Self {
            reader: BufReader::with_capacity(256 * 1024, file),
            next: 1,
            last: Vec::new(),
        })
    }

    /// Puts lines `from` through `to` (to the end when `None`) into `out`, line breaks
    /// included. `from` may be the last line handed out before (a line split between two
    /// batches); lines before `from` not yet read are skipped.
    fn take(&mut self, from: u64, to: Option<u64>, out: &mut Vec<u8>) -> std::io::Result<()> {
        out.clear();
        if from + 1 == self.next && from > 0 {
            out.extend_from_slice(&self.last);
        }
        let mut skipped = Vec::new();
        while self.next < from {
            skipped.clear();
            if self.reader.read_until(b'\n', &mut skipped)? == 0 {
                return Ok(());
            }
            self.next += 1;
            std::mem::swap(&mut self.last, &mut skipped);
        }
        let mut line_start = out.len();
        while to.is_none_or(|to| self.next <= to) {
            line_start = out.len();
            if self.reader.read_until(b'\n', out)? == 0 {
                break;
            }
            self.next += 1;
        }
        if line_start < out.len() {
            self.last.clear();
            self.last.extend_from_slice(&out[line_start..]);
        }
        Ok(())
    }
}

/// Guesses the feed of `path`, or says what to pass.
pub fn guess_feed(path: &Path) -> Result<FeedKind, PipelineError> {
    FeedKind::guess(path).ok_or_else(|| PipelineError::Usage(format!(
        "{}: cannot tell the feed from the file name; pass --feed shadowserver|nuclei|zgrab2|intelmq|stix|misp",
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
