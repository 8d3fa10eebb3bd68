//! Ingest: parse → attribute → store, streaming, in whole batches.
//!
//! [`ingest_file`] reads a file on one machine. A distributed ingest (`baken-work`) uses the
//! same pieces apart: [`Split`] cuts a file into parts where rows start, [`begin`] starts the
//! run, [`read_part`] reads one part as [`ingest_file`] reads those rows (on any worker), and
//! [`finish`] ends the run once every part is stored.

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

/// A file opened for reading: its rows from the first on, the lines they come from, and how
/// the run that stores them must record its source.
struct Opened {
    rows: baken_feeds::Rows,
    /// The first row, already read into `ahead_event`.
    ahead: Option<RowInto>,
    ahead_event: Event,
    text: LineText,
    /// The line of the first row (1 when there is none).
    first_line: u64,
    /// The lines before it, as read (empty when the text is not kept).
    header: Vec<u8>,
    /// Whether rows are kept as their input text (else as the events they gave).
    keep_text: bool,
    source: RunSource,
}

/// The options ingest parses with: strict, and with a fixed observation time so that a
/// kept row reads again as the same event.
fn ingest_options(options: &Options) -> Options {
    // Ingest never accepts a row whose required fields are invalid (see `Options::strict`).
    let observation_time = options
        .observation_time
        .clone()
        .unwrap_or_else(observation_now);
    Options {
        strict: true,
        observation_time: Some(observation_time),
        ..options.clone()
    }
}

impl Opened {
    fn open(input: &Input, options: &Options) -> Result<Self, PipelineError> {
        let mut rows = baken_feeds::open(input.feed, &input.path, options)?;
        // Events are parsed into the same few buffers batch after batch (the parsers reuse an
        // event's allocations), and one row is read ahead to know where a batch's text ends.
        let mut ahead_event = Event::new();
        let ahead = rows.next_into(&mut ahead_event);
        let mut text = LineText::open(&input.path)?;
        let first_line = ahead.as_ref().map_or(1, |r| r.line);
        let mut header = Vec::new();
        text.take(1, Some(first_line - 1), &mut header)
            .map_err(crate::io_error(&input.path))?;
        // The text is kept only where its lines are the parser's lines (line breaks of `\n`,
        // a header that reads as text, a feed whose rows are lines); otherwise each row is
        // kept as the event it gave.
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
            observation_time: options.observation_time.clone(),
            raw: options.raw,
        };
        Ok(Opened {
            rows,
            ahead,
            ahead_event,
            text,
            first_line,
            header,
            keep_text,
            source,
        })
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
    let batch_size = settings.batch_size;
    let file = input.path.display().to_string();
    let _span = tracing::info_span!("ingest", file = %file, feed = input.feed.name()).entered();
    let options = ingest_options(options);
    let opened = Opened::open(input, &options)?;
    // the bar's total: the file's lines after the header (a record over several lines
    // counts once in the rows, so the bar may end short of it)
    if progress.shows_total() {
        progress.expect(count_lines(&input.path)?.saturating_sub(opened.first_line - 1));
    }
    let run = begin(store, &file, &opened.source, settings)?;
    tracing::info!(file = %file, feed = input.feed.name(), run, batch_size, "ingest started");
    // Reading (parse, attribute, keep the text) runs on a thread of its own and hands
    // whole batches to this one, which stores them in order: the two overlap, and a batch
    // read waits until the one before is taken, so that at most two are in memory.
    let mut counts = BatchCounts::default();
    let reader = Reader {
        attributor,
        file: &file,
        path: &input.path,
        batch_size: batch_size.max(1),
        keep_text: opened.keep_text,
    };
    let Opened {
        rows,
        ahead,
        ahead_event,
        text,
        ..
    } = opened;
    let (batches, received) = std::sync::mpsc::sync_channel::<Result<Batch, PipelineError>>(0);
    let read = std::thread::scope(|scope| -> Result<Read, PipelineError> {
        let reading = scope.spawn(move || {
            reader.read(rows, ahead, ahead_event, text, &mut |batch| {
                batches.send(batch).is_ok()
            })
        });
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
    })?;
    let summary = finish(store, run, &file, input.feed, read, counts, settings)?;
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
    Ok(summary)
}

/// What reading rows gave besides the batches: the rows read, the first quarantine reasons
/// (`file:line: reason`, at most 20) and what the parser altered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    /// Rows read.
    pub rows: u64,
    /// The first quarantine reasons, at most 20.
    pub samples: Vec<String>,
    /// What the parser altered.
    pub altered: Alterations,
}

impl Read {
    /// Adds what a later stretch of the same file read (its samples after these).
    pub fn add(&mut self, other: Read) {
        self.rows += other.rows;
        let room = 20usize.saturating_sub(self.samples.len());
        self.samples.extend(other.samples.into_iter().take(room));
        self.altered.add(other.altered);
    }
}

/// The incident the timeline steps of an ingest under `settings` belong to.
fn steps_under(settings: &Settings) -> String {
    settings
        .timeline_incident
        .clone()
        .unwrap_or_else(|| "*".into())
}

/// Begins the run that stores `file`, parsed as `source` says: the run, and the timeline
/// step `feed-received`.
pub fn begin(
    store: &mut dyn Store,
    file: &str,
    source: &RunSource,
    settings: &Settings,
) -> Result<i64, PipelineError> {
    let run = store.begin_run(file, source, &settings.label)?;
    store.add_step(&TimelineStep {
        incident: steps_under(settings),
        step: "feed-received".into(),
        at: now(),
        detail: file.to_string(),
    })?;
    Ok(run)
}

/// Ends run `run` of `file` once every batch is stored, whoever stored them: its totals,
/// the findings it no longer holds counted towards verifying their fix, and the timeline step
/// `ingested`.
pub fn finish(
    store: &mut dyn Store,
    run: i64,
    file: &str,
    feed: FeedKind,
    read: Read,
    counts: BatchCounts,
    settings: &Settings,
) -> Result<FileSummary, PipelineError> {
    store.finish_run(run, read.rows, counts)?;
    // What this report no longer holds counts towards verifying the fix.
    let absences = store.count_absences(run, settings.verify_after_reports)?;
    store.add_step(&TimelineStep {
        incident: steps_under(settings),
        step: "ingested".into(),
        at: now(),
        detail: format!(
            "{file}: {} read, {} stored, {} duplicate, {} quarantined, {} new findings, \
             {} reopened, {} no longer seen, {} verified fixed",
            read.rows,
            counts.stored,
            counts.duplicate,
            counts.quarantined,
            counts.new_findings,
            counts.reopened,
            absences.missing,
            absences.verified_fixed.len()
        ) + &altered_note(&read.altered),
    })?;
    let summary = FileSummary {
        file: file.to_string(),
        feed: feed.name().into(),
        read: read.rows,
        stored: counts.stored,
        duplicate: counts.duplicate,
        quarantined: counts.quarantined,
        new_findings: counts.new_findings,
        reopened: counts.reopened,
        missing: absences.missing,
        verified_fixed: absences.verified_fixed.len() as u64,
        quarantine_samples: read.samples,
        altered: read.altered,
    };
    debug_assert!(summary.reconciles());
    Ok(summary)
}

/// One stretch of a file's rows, cut at a line where a row starts, to be parsed, attributed
/// and stored apart from the rest (by a worker of a distributed ingest; see [`read_part`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its place in the file: 0, 1, …
    pub number: u64,
    /// The line its text starts on.
    pub first_line: u64,
    /// The rows it holds.
    pub rows: u64,
    /// Its lines, line breaks included.
    pub text: Vec<u8>,
}

/// A file cut into [`Part`]s of about `rows_per_part` rows and at most `max_bytes` of text
/// each (a row longer than that is a part of its own), read as ingest reads it: the same
/// options, rows and quarantine reasons.
///
/// Parts are cut where the parser starts a row on a new line, so that each part read after
/// the run's header gives exactly its rows (as a kept chunk does). A file whose rows are not
/// lines (a STIX bundle, a MISP event, text with lone `\r` line breaks) is one part.
pub struct Split {
    /// How the run that stores the parts records its source.
    pub source: RunSource,
    /// The lines before the first row, to be put before each part's text when it is parsed
    /// (empty when the file is one part).
    pub header: Vec<u8>,
    /// Whether rows are kept as their input text (else as the events they gave).
    pub keep_text: bool,
    file: String,
    path: PathBuf,
    rows: baken_feeds::Rows,
    event: Event,
    text: LineText,
    rows_per_part: u64,
    max_bytes: usize,
    read: Read,
    /// The line where the rows read since the last line boundary start, and how many.
    group: Option<(u64, u64)>,
    /// The part being filled: its first line, rows and text.
    filling: (u64, u64, Vec<u8>),
    ready: std::collections::VecDeque<Part>,
    numbered: u64,
    ended: bool,
}

impl Split {
    /// Opens `input` to be cut into parts.
    pub fn open(
        input: &Input,
        options: &Options,
        rows_per_part: u64,
        max_bytes: usize,
    ) -> Result<Self, PipelineError> {
        let options = ingest_options(options);
        let opened = Opened::open(input, &options)?;
        let mut split = Split {
            source: opened.source,
            header: opened.header,
            keep_text: opened.keep_text,
            file: input.path.display().to_string(),
            path: input.path.clone(),
            rows: opened.rows,
            event: opened.ahead_event,
            text: opened.text,
            rows_per_part: rows_per_part.max(1),
            max_bytes,
            read: Read::default(),
            group: None,
            filling: (opened.first_line, 0, Vec::new()),
            ready: Default::default(),
            numbered: 0,
            ended: false,
        };
        match opened.ahead {
            Some(first) => {
                split.count(&first);
                split.group = Some((first.line, 1));
            }
            None => split.ended = true,
        }
        Ok(split)
    }

    /// Keeps each part's text under `max_bytes` from now on.
    pub fn set_max_bytes(&mut self, max_bytes: usize) {
        self.max_bytes = max_bytes;
    }

    /// The lines before the first row that [`Split::header`] holds.
    pub fn header_lines(&self) -> u64 {
        if self.keep_text {
            self.source.header_lines
        } else {
            0
        }
    }

    /// What was read so far: after the last part, the file's rows, first quarantine
    /// reasons and alterations.
    pub fn read(&self) -> &Read {
        &self.read
    }

    fn count(&mut self, row: &RowInto) {
        self.read.rows += 1;
        if let Err(e) = &row.outcome
            && self.read.samples.len() < 20
        {
            self.read
                .samples
                .push(format!("{}:{}: {e}", self.file, row.line));
        }
    }

    /// The next part, or `None` after the last.
    pub fn next_part(&mut self) -> Result<Option<Part>, PipelineError> {
        loop {
            if let Some(part) = self.ready.pop_front() {
                return Ok(Some(part));
            }
            if self.ended {
                self.read.altered.add(self.rows.take_alterations());
                return Ok(None);
            }
            if !self.keep_text {
                // one part: the whole file, read as it is
                while let Some(row) = self.rows.next_into(&mut self.event) {
                    self.count(&row);
                }
                let text = std::fs::read(&self.path).map_err(crate::io_error(&self.path))?;
                self.push(1, self.read.rows, text);
                self.ended = true;
                continue;
            }
            let row = self.rows.next_into(&mut self.event);
            if let Some(row) = &row {
                self.count(row);
            }
            let (line, n) = self.group.expect("a group is open until the end");
            match row {
                Some(row) if row.line == line => self.group = Some((line, n + 1)),
                Some(row) => {
                    self.close_group(line, n, Some(row.line - 1))?;
                    self.group = Some((row.line, 1));
                }
                None => {
                    self.close_group(line, n, None)?;
                    let (first, rows, text) = std::mem::take(&mut self.filling);
                    if rows > 0 {
                        self.push(first, rows, text);
                    }
                    self.ended = true;
                }
            }
        }
    }

    /// Adds the rows of lines `line` through `to` (to the end when `None`) to the part being
    /// filled, first handing that part out when it is full.
    fn close_group(&mut self, line: u64, n: u64, to: Option<u64>) -> Result<(), PipelineError> {
        let mut text = Vec::new();
        self.text
            .take(line, to, &mut text)
            .map_err(crate::io_error(&self.path))?;
        let (_, rows, filled) = &self.filling;
        if *rows > 0 && (*rows >= self.rows_per_part || filled.len() + text.len() > self.max_bytes)
        {
            let (first, rows, filled) = std::mem::replace(&mut self.filling, (line, 0, Vec::new()));
            self.push(first, rows, filled);
        }
        if self.filling.1 == 0 {
            self.filling.0 = line;
        }
        self.filling.1 += n;
        self.filling.2.extend_from_slice(&text);
        Ok(())
    }

    fn push(&mut self, first_line: u64, rows: u64, text: Vec<u8>) {
        self.ready.push_back(Part {
            number: self.numbered,
            first_line,
            rows,
            text,
        });
        self.numbered += 1;
    }
}

/// A part of a file as a worker receives it.
#[derive(Debug, Clone, Copy)]
pub struct PartText<'a> {
    /// The file, as named to the run (a Shadowserver report's type may come from its name).
    pub file: &'a str,
    /// Its feed.
    pub feed: FeedKind,
    /// The lines before the file's first row ([`Split::header`]).
    pub header: &'a [u8],
    /// How many lines `header` holds ([`Split::header_lines`]).
    pub header_lines: u64,
    /// The line the part's text starts on.
    pub first_line: u64,
    /// The part's lines.
    pub text: &'a [u8],
    /// Whether rows are kept as their input text ([`Split::keep_text`]).
    pub keep_text: bool,
}

/// Parses and attributes one part of a file, as [`ingest_file`] reads those rows: the batch
/// that stores them (line numbers those of the file) and what reading them gave. `options`
/// must be those of the run (its report, `raw`, observation time); parsing is strict.
pub fn read_part(
    attributor: &Attributor,
    part: PartText<'_>,
    options: &Options,
) -> Result<(Batch, Read), PipelineError> {
    let options = Options {
        strict: true,
        ..options.clone()
    };
    let mut all = Vec::with_capacity(part.header.len() + part.text.len());
    all.extend_from_slice(part.header);
    all.extend_from_slice(part.text);
    let rows = baken_feeds::read_text(part.feed, Path::new(part.file), all, &options)?;
    let by = (part.first_line - 1).saturating_sub(part.header_lines);
    let mut rows: baken_feeds::Rows = Box::new(Shifted { rows, by });
    let mut ahead_event = Event::new();
    let ahead = rows.next_into(&mut ahead_event);
    let text = LineText::in_memory(part.text.to_vec(), part.first_line);
    let path = PathBuf::from(part.file);
    let reader = Reader {
        attributor,
        file: part.file,
        path: &path,
        batch_size: usize::MAX,
        keep_text: part.keep_text,
    };
    let mut batch = Batch::default();
    let mut failed = None;
    let read = reader.read(rows, ahead, ahead_event, text, &mut |b| match b {
        Ok(b) => {
            batch = b;
            true
        }
        Err(e) => {
            failed = Some(e);
            false
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok((batch, read)),
    }
}

/// Rows whose line numbers are `by` more than their stream says: a part's rows, parsed
/// after the header, numbered as in the file.
struct Shifted {
    rows: baken_feeds::Rows,
    by: u64,
}

impl Iterator for Shifted {
    type Item = baken_feeds::Row;

    fn next(&mut self) -> Option<baken_feeds::Row> {
        self.rows.next().map(|mut row| {
            row.line += self.by;
            row
        })
    }
}

impl baken_feeds::RowStream for Shifted {
    fn next_into(&mut self, event: &mut Event) -> Option<RowInto> {
        self.rows.next_into(event).map(|mut row| {
            row.line += self.by;
            row
        })
    }

    fn take_alterations(&mut self) -> Alterations {
        self.rows.take_alterations()
    }
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
    /// Reads every row from `ahead` (already read into `ahead_event`) on, handing each batch
    /// to `send` (an error ends the reading); returns the rows read, the first quarantine
    /// reasons and what the parser altered. Stops early when `send` answers `false`.
    fn read(
        &self,
        mut rows: baken_feeds::Rows,
        mut ahead: Option<RowInto>,
        mut ahead_event: Event,
        mut text: LineText,
        send: &mut dyn FnMut(Result<Batch, PipelineError>) -> bool,
    ) -> Read {
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
                send(Err(crate::io_error(self.path)(e)));
                return done(read, samples, &mut rows);
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
                        send(Err(e.into()));
                        return done(read, samples, &mut rows);
                    }
                }
            } else if !observed.is_empty() {
                let n = rows_read.len() as u32;
                match KeptChunk::text(start, skip, n, &kept, observed) {
                    Ok(chunk) => pending.chunks.push(chunk),
                    Err(e) => {
                        send(Err(e.into()));
                        return done(read, samples, &mut rows);
                    }
                }
            }
            if pending.rows() >= self.batch_size || ahead.is_none() {
                let batch = std::mem::take(&mut pending);
                if !send(Ok(batch)) {
                    // the store failed; it says why
                    return done(read, samples, &mut rows);
                }
            }
        }
        done(read, samples, &mut rows)
    }
}

/// What [`Reader::read`] answers.
fn done(rows: u64, samples: Vec<String>, stream: &mut baken_feeds::Rows) -> Read {
    Read {
        rows,
        samples,
        altered: stream.take_alterations(),
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
    reader: Box<dyn BufRead + Send>,
    /// The number of the next line to read.
    next: u64,
    /// The line before it, as read.
    last: Vec<u8>,
}

impl LineText {
    fn open(path: &Path) -> Result<Self, PipelineError> {
        let file = File::open(path).map_err(crate::io_error(path))?;
        Ok(Self {
            reader: Box::new(BufReader::with_capacity(256 * 1024, file)),
            next: 1,
            last: Vec::new(),
        })
    }

    /// Lines held in memory, the first of them numbered `first_line`.
    fn in_memory(text: Vec<u8>, first_line: u64) -> Self {
        Self {
            reader: Box::new(std::io::Cursor::new(text)),
            next: first_line,
            last: Vec::new(),
        }
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
