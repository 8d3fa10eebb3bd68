//! Shadowserver CSV reports, mapped by Shadowserver's published schema exactly as IntelMQ
//! 3.5.0's Shadowserver parser maps them.
//!
//! The schema (IntelMQ's `intelmq.json`, see [`Schema`]) is read at run time, so a newer
//! schema with new report types works without a rebuild. The report type comes from the
//! file name (`2026-03-24-scan_http_vulnerable-nl-geo-asn.csv` → `scan_http_vulnerable`)
//! unless [`Options::report`] names it.
//!
//! What IntelMQ does, and so this parser does, row by row (`ShadowserverParserBot.parse_line`
//! and `Message.add`):
//!
//! * `time.observation` (from the options), `feed.name` (the schema's `feed_name`) and
//!   `feed.documentation` (its `url`) are set first.
//! * Required fields: a conversion that raises, an invalid value, or a field set twice fails
//!   the row (a [`RowError`] naming the column). A conversion giving `None` leaves the
//!   column to `extra`.
//! * Optional fields: a value the harmonisation rejects is left to `extra` under its column
//!   name; `extra.` targets go to `extra` directly (empty strings included); `""`, `"-"` and
//!   `"N/A"` are dropped.
//! * Constant fields are set, then `raw` (when [`Options::raw`]): base64 of the header,
//!   quoted, and the row's last physical line, as `recover_line_csv_dict` gives it.
//! * Every column not consumed and not empty goes to `extra.<column>`.
//!
//! Differences from IntelMQ that remain: dates are parsed by a subset of dateutil's fuzzy
//! parser (see `pydate`), integers are limited to `i64`, non-ASCII domain names use an
//! approximation of nameprep, and a required column missing from the header is a
//! [`FeedError`] rather than one failure per row.

mod convert;
mod harmonize;
mod net;
mod pydate;
mod pyval;
mod schema;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

pub use convert::Conversion;
pub use schema::{
    FieldRule, Report, SCHEMA_ENV, Schema, SchemaError, Target, report_name_from_file_name,
};

use crate::{Event, FeedError, Options, Row, RowError, Rows};
use convert::RowLookup;
use harmonize::{AddError, KeyKind, Name, Overwrite};
use pyval::PyVal;

/// Opens a Shadowserver CSV report, loading the schema from [`Options::schema`] or
/// [`Schema::default_path`].
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let schema_path = match &options.schema {
        Some(p) => p.clone(),
        None => Schema::default_path().map_err(|e| FeedError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?,
    };
    let schema = Schema::load(&schema_path).map_err(|e| FeedError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    open_with_schema(path, &schema, options)
}

/// Opens a Shadowserver CSV report with an already loaded schema.
pub fn open_with_schema(
    path: &Path,
    schema: &Schema,
    options: &Options,
) -> Result<Rows, FeedError> {
    let format_error = |message: String| FeedError::Format {
        path: path.to_path_buf(),
        message,
    };
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let report = match &options.report {
        Some(name) => schema.report(name).ok_or_else(|| {
            format_error(format!(
                "unknown shadowserver report {name:?}; give a file_name or feed_name of the schema"
            ))
        })?,
        None => schema.detect(file_name).ok_or_else(|| {
            format_error(format!(
                "cannot tell the shadowserver report type from the file name {file_name:?}; \
                 name the file like 2026-03-24-scan_http-nl.csv or use --report"
            ))
        })?,
    };
    let io_error = |source| FeedError::Io {
        path: path.to_path_buf(),
        source,
    };
    let line_ending = if options.raw {
        detect_line_ending(File::open(path).map_err(io_error)?).map_err(io_error)?
    } else {
        "\r\n"
    };
    let file = File::open(path).map_err(io_error)?;
    let observation = options
        .observation_time
        .clone()
        .unwrap_or_else(now_observation);
    let parser = Parser::new(
        BufReader::with_capacity(64 * 1024, file),
        report,
        path.to_path_buf(),
        observation,
        options.raw,
        line_ending,
    )?;
    let parser = Parser {
        strict: options.strict,
        ..parser
    };
    Ok(Box::new(parser))
}

/// `DateTime.generate_datetime_now()`: now in UTC, whole seconds, `+00:00`.
fn now_observation() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn is_strip_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0x1c..=0x1f)
}

/// The line ending IntelMQ uses in `raw`: `io.StringIO(report, newline='').newlines` of the
/// stripped report, `\r\n` when there is none or a mix.
fn detect_line_ending(mut file: File) -> io::Result<&'static str> {
    const LF: u8 = 1;
    const CRLF: u8 = 2;
    const CR: u8 = 4;
    // kinds seen between non-space bytes, and in the current run of white space
    let (mut seen, mut pending) = (0u8, 0u8);
    let mut started = false;
    let mut prev_cr = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            if prev_cr {
                pending |= if b == b'\n' { CRLF } else { CR };
            } else if b == b'\n' {
                pending |= LF;
            }
            prev_cr = b == b'\r';
            if is_strip_space(b) {
                continue;
            }
            if started {
                seen |= pending;
            }
            started = true;
            pending = 0;
        }
    }
    Ok(match seen {
        LF => "\n",
        CR => "\r",
        _ => "\r\n",
    })
}

/// A reader that applies IntelMQ's `raw_report.strip()` and `.translate({0: None})` to the
/// byte stream and keeps the bytes handed out until the parser has consumed them.
struct Source<R> {
    inner: R,
    /// Bytes handed to the CSV reader and not yet released, starting at offset `base`.
    kept: Vec<u8>,
    base: u64,
    /// Bytes ready to be handed out.
    ready: Vec<u8>,
    ready_pos: usize,
    /// White space held back until something other than white space follows.
    pending: Vec<u8>,
    started: bool,
    /// Newlines dropped before the first non-space byte.
    leading_newlines: u64,
    eof: bool,
}

impl<R: Read> Source<R> {
    fn new(inner: R) -> Self {
        Source {
            inner,
            kept: Vec::new(),
            base: 0,
            ready: Vec::new(),
            ready_pos: 0,
            pending: Vec::new(),
            started: false,
            leading_newlines: 0,
            eof: false,
        }
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 64 * 1024];
        self.ready.clear();
        self.ready_pos = 0;
        while self.ready.is_empty() && !self.eof {
            let n = self.inner.read(&mut buf)?;
            if n == 0 {
                self.eof = true;
                break;
            }
            let mut chunk = &buf[..n];
            if !self.started {
                // leading white space is dropped; its newlines are counted
                let first = chunk.iter().position(|&b| !is_strip_space(b));
                let skipped = &chunk[..first.unwrap_or(chunk.len())];
                self.leading_newlines += skipped.iter().filter(|&&b| b == b'\n').count() as u64;
                match first {
                    Some(i) => {
                        chunk = &chunk[i..];
                        self.started = true;
                    }
                    None => continue,
                }
            }
            // white space is held back until something other than white space follows it
            match chunk.iter().rposition(|&b| !is_strip_space(b)) {
                None => self.pending.extend_from_slice(chunk),
                Some(last) => {
                    self.ready.append(&mut self.pending);
                    let body = &chunk[..=last];
                    if body.contains(&0) {
                        self.ready.extend(body.iter().copied().filter(|&b| b != 0));
                    } else {
                        self.ready.extend_from_slice(body);
                    }
                    self.pending.extend_from_slice(&chunk[last + 1..]);
                }
            }
        }
        Ok(())
    }

    /// Moves the bytes from stream offset `from` to `to` into `out` (replacing its
    /// contents); they are released afterwards.
    fn take_into(&mut self, from: u64, to: u64, out: &mut Vec<u8>) {
        let start = from.saturating_sub(self.base) as usize;
        let end = (to.saturating_sub(self.base) as usize).min(self.kept.len());
        out.clear();
        out.extend_from_slice(&self.kept[start.min(end)..end]);
        // release consumed bytes in large steps, not per row
        if end >= 64 * 1024 {
            self.kept.drain(..end);
            self.base += end as u64;
        }
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.ready_pos >= self.ready.len() {
            self.fill()?;
        }
        let avail = &self.ready[self.ready_pos..];
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.kept.extend_from_slice(&avail[..n]);
        self.ready_pos += n;
        Ok(n)
    }
}

/// Bytes as Python's `decode('utf-8', 'ignore')` gives them: invalid sequences dropped.
fn decode_ignore(b: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(b.len());
            for chunk in b.utf8_chunks() {
                out.push_str(chunk.valid());
            }
            std::borrow::Cow::Owned(out)
        }
    }
}

/// Line breaks (`\r\n`, `\r`, `\n`) in `b`: all of them, those before the first other
/// byte, and whether `b` ends in `\r`. `after_cr`: the bytes before `b` ended in `\r`.
fn line_breaks(b: &[u8], after_cr: bool) -> (u64, u64, bool) {
    let (mut all, mut leading) = (0u64, 0u64);
    let mut prev_cr = after_cr;
    let mut in_lead = true;
    for &c in b {
        let brk = c == b'\r' || (c == b'\n' && !prev_cr);
        if brk {
            all += 1;
            if in_lead {
                leading += 1;
            }
        } else if c != b'\n' {
            in_lead = false;
        }
        prev_cr = c == b'\r';
    }
    (all, leading, prev_cr)
}

/// Where a rule's column is, resolved against the header.
#[derive(Debug, Clone)]
struct Step {
    /// Index into the distinct header names (the `fields` multiset); `None` when the column
    /// is not in the header.
    slot: Option<usize>,
    column: String,
    target: StepTarget,
    conversion: Option<Conversion>,
    with_row: bool,
}

#[derive(Debug, Clone)]
enum StepTarget {
    /// `event.add(key, …)`.
    Key(Name, KeyKind),
    /// Optional `extra.` (the column name) or `extra.<name>`: the whole key.
    Extra(Name),
    /// Optional `False`.
    Ignore,
    /// Required `extra.*`/`False`/other: handled by `event.add` like any key.
    Broken,
}

/// The per-report mapping compiled against one header.
#[derive(Debug)]
struct Plan {
    feed_name: String,
    documentation: Option<String>,
    /// Distinct header names and the column index Python's `DictReader` takes each from
    /// (the last of equal names).
    names: Vec<String>,
    name_col: Vec<usize>,
    by_name: HashMap<String, usize>,
    /// How often each distinct name is in the header (the initial `fields` multiset).
    initial_counts: Vec<u32>,
    required: Vec<Step>,
    optional: Vec<Step>,
    constants: Vec<(Name, KeyKind, Value)>,
    /// `extra.<name>` for each distinct header name.
    extra_names: Vec<Name>,
    /// The header as `csv.DictWriter.writeheader()` writes it (all fields quoted).
    quoted_header: String,
}

impl Plan {
    fn new(report: &Report, header: Vec<String>, path: &Path) -> Result<Plan, FeedError> {
        let mut names: Vec<String> = Vec::new();
        let mut name_col: Vec<usize> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut initial_counts: Vec<u32> = Vec::new();
        for (col, name) in header.iter().enumerate() {
            match by_name.get(name) {
                Some(&slot) => {
                    name_col[slot] = col;
                    initial_counts[slot] += 1;
                }
                None => {
                    by_name.insert(name.clone(), names.len());
                    names.push(name.clone());
                    name_col.push(col);
                    initial_counts.push(1);
                }
            }
        }
        let step = |rule: &FieldRule, required: bool| -> Step {
            let target = match (&rule.target, required) {
                (Target::Key(k), true) => StepTarget::Key(Name::new(k), harmonize::key_kind(k)),
                (Target::Key(k), false) if k == "extra." => {
                    StepTarget::Extra(Name::new(&format!("extra.{}", rule.column)))
                }
                (Target::Key(k), false) if k.starts_with("extra.") => {
                    StepTarget::Extra(Name::new(&format!("extra.{}", &k["extra.".len()..])))
                }
                (Target::Key(k), false) => StepTarget::Key(Name::new(k), harmonize::key_kind(k)),
                (Target::Ignore, false) => StepTarget::Ignore,
                (Target::Ignore | Target::Broken, _) => StepTarget::Broken,
            };
            Step {
                slot: by_name.get(&rule.column).copied(),
                column: rule.column.clone(),
                target,
                conversion: rule.conversion.clone(),
                with_row: rule.with_row,
            }
        };
        let required: Vec<Step> = report.required.iter().map(|r| step(r, true)).collect();
        if let Some(missing) = required.iter().find(|s| s.slot.is_none()) {
            return Err(FeedError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "required column {:?} of shadowserver report {:?} is not in the header; \
                     the data format may have changed or the report type is wrong (see --report)",
                    missing.column, report.file_name
                ),
            });
        }
        let optional = report.optional.iter().map(|r| step(r, false)).collect();
        let constants = report
            .constants
            .iter()
            .map(|(k, v)| (Name::new(k), harmonize::key_kind(k), v.clone()))
            .collect();
        let extra_names = names
            .iter()
            .map(|n| Name::new(&format!("extra.{n}")))
            .collect();
        let quoted_header = header
            .iter()
            .map(|h| format!("\"{}\"", h.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Plan {
            feed_name: report.feed_name.clone(),
            documentation: report.url.clone(),
            names,
            name_col,
            by_name,
            initial_counts,
            required,
            optional,
            constants,
            extra_names,
            quoted_header,
        })
    }
}

/// The current row as Python's `DictReader` dict.
struct RowView<'a> {
    plan: &'a Plan,
    fields: &'a [std::borrow::Cow<'a, str>],
}

impl RowView<'_> {
    fn slot(&self, slot: usize) -> Option<&str> {
        self.fields
            .get(self.plan.name_col[slot])
            .map(|c| c.as_ref())
    }
}

impl RowLookup for RowView<'_> {
    fn get(&self, column: &str) -> Option<Option<&str>> {
        self.plan.by_name.get(column).map(|&s| self.slot(s))
    }
}

/// A failed row: which column and why.
struct Failure {
    column: Option<String>,
    message: String,
}

fn add_error_message(e: &AddError, key: &str, value: &str) -> String {
    match e {
        AddError::InvalidKey => format!("{key:?} is not a field of the harmonisation"),
        AddError::InvalidValue => format!("invalid value {value:?} for {key:?}"),
        AddError::KeyExists => format!("{key:?} is set twice"),
        AddError::Other(m) => format!("{key:?}: {m}"),
    }
}

/// The streaming parser: one [`Row`] per CSV record.
struct Parser<R: Read> {
    reader: csv::Reader<Source<R>>,
    plan: Arc<Plan>,
    path: PathBuf,
    observation: String,
    raw: bool,
    /// Reject rows whose required fields have no valid value (see [`Options::strict`]).
    strict: bool,
    line_ending: &'static str,
    record: csv::ByteRecord,
    /// The current record's bytes as read (reused from row to row).
    row_bytes: Vec<u8>,
    counts: Vec<u32>,
    consumed: u64,
    /// The 1-based line number at stream offset `consumed`.
    line: u64,
    /// Whether the bytes before `consumed` ended in `\r` (a following `\n` is the same break).
    after_cr: bool,
    done: bool,
}

impl<R: Read> Parser<R> {
    fn new(
        input: R,
        report: &Report,
        path: PathBuf,
        observation: String,
        raw: bool,
        line_ending: &'static str,
    ) -> Result<Self, FeedError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Source::new(input));
        let mut header = csv::ByteRecord::new();
        let has_header = reader
            .read_byte_record(&mut header)
            .map_err(|e| FeedError::Format {
                path: path.clone(),
                message: format!("cannot read the header: {e}"),
            })?;
        let header: Vec<String> = if has_header {
            header
                .iter()
                .map(|f| decode_ignore(f).into_owned())
                .collect()
        } else {
            Vec::new()
        };
        let consumed = reader.position().byte();
        let leading_newlines = reader.get_ref().leading_newlines;
        let mut header_bytes = Vec::new();
        reader.get_mut().take_into(0, consumed, &mut header_bytes);
        let (breaks, _, after_cr) = line_breaks(&header_bytes, false);
        let plan = if has_header {
            Plan::new(report, header, &path)?
        } else {
            // an empty report has no rows; nothing to check
            Plan::new(
                &Report {
                    required: Vec::new(),
                    ..report.clone()
                },
                Vec::new(),
                &path,
            )?
        };
        let counts = plan.initial_counts.clone();
        Ok(Parser {
            reader,
            plan: Arc::new(plan),
            path,
            observation,
            raw,
            strict: false,
            line_ending,
            record: csv::ByteRecord::new(),
            row_bytes: Vec::new(),
            counts,
            consumed,
            line: 1 + leading_newlines + breaks,
            after_cr,
            done: !has_header,
        })
    }

    fn parse_row(
        &mut self,
        fields: &[std::borrow::Cow<'_, str>],
        last_line: &str,
    ) -> Result<Event, Failure> {
        let plan = &*self.plan;
        let strict = self.strict;
        let row = RowView { plan, fields };
        let counts = &mut self.counts;
        counts.copy_from_slice(&plan.initial_counts);
        let mut event = Event::with_capacity(plan.names.len() + plan.constants.len() + 4);
        let fail = |column: &str, message: String| Failure {
            column: Some(column.to_string()),
            message,
        };
        // Event(report): time.observation
        let obs = PyVal::str(&self.observation);
        let kind = harmonize::key_kind("time.observation");
        let observation = Name::Static("time.observation");
        if harmonize::add(
            &mut event,
            &observation,
            &kind,
            obs.clone(),
            false,
            Overwrite::Raise,
            false,
        ) != Ok(harmonize::Added::Yes)
        {
            harmonize::add(
                &mut event,
                &observation,
                &kind,
                obs,
                true,
                Overwrite::Raise,
                true,
            )
            .map_err(|e| Failure {
                column: None,
                message: add_error_message(&e, "time.observation", &self.observation),
            })?;
        }
        for (key, value) in [
            ("feed.name", Some(plan.feed_name.as_str())),
            ("feed.documentation", plan.documentation.as_deref()),
        ] {
            let v = value.map_or(PyVal::None, PyVal::str);
            harmonize::add(
                &mut event,
                &Name::Static(key),
                &harmonize::key_kind(key),
                v,
                true,
                Overwrite::Keep,
                true,
            )
            .map_err(|e| Failure {
                column: None,
                message: add_error_message(&e, key, value.unwrap_or_default()),
            })?;
        }
        let mut extra: Vec<(Name, Value)> = Vec::with_capacity(plan.names.len());
        let not_a_string = Name::Static("False");

        for step in &plan.required {
            let slot = step
                .slot
                .expect("required columns were checked against the header");
            if counts[slot] == 0 {
                counts[slot] += 1;
            }
            let raw_value = row.slot(slot);
            let value = match (&step.conversion, raw_value) {
                (Some(conv), Some(v)) => convert::apply(conv, v, &row, step.with_row)
                    .map_err(|e| fail(&step.column, format!("conversion failed: {}", e.0)))?,
                (_, Some(v)) => PyVal::str(v),
                (_, None) => PyVal::None,
            };
            if value.is_none() {
                if strict {
                    let what = match raw_value {
                        Some(v) if !v.is_empty() => format!("{v:?} is not a valid value"),
                        _ => "the value is missing".to_string(),
                    };
                    return Err(fail(&step.column, format!("required field: {what}")));
                }
                continue;
            }
            let shown = value.shown_later();
            let (key, kind) = match &step.target {
                StepTarget::Key(k, kind) => (k, kind.clone()),
                _ => (&not_a_string, KeyKind::NotAString),
            };
            match harmonize::add(&mut event, key, &kind, value, true, Overwrite::Raise, true) {
                Ok(_) | Err(AddError::InvalidKey) => counts[slot] -= 1,
                Err(e) => {
                    return Err(fail(
                        &step.column,
                        add_error_message(&e, key.as_str(), &shown.py_str()),
                    ));
                }
            }
        }

        for step in &plan.optional {
            let Some(slot) = step.slot else { continue };
            if counts[slot] == 0 {
                counts[slot] += 1;
            }
            let raw_value = row.slot(slot);
            let value = match (&step.conversion, raw_value) {
                (Some(conv), Some(v)) if conv.is_known() => {
                    convert::apply(conv, v, &row, step.with_row)
                        .map_err(|e| fail(&step.column, format!("conversion failed: {}", e.0)))?
                }
                (_, Some(v)) => PyVal::str(v),
                (_, None) => PyVal::None,
            };
            if value.is_none() {
                counts[slot] -= 1;
                continue;
            }
            match &step.target {
                StepTarget::Extra(name) => {
                    extra.push((name.clone(), value.into_json()));
                    counts[slot] -= 1;
                }
                StepTarget::Ignore => counts[slot] -= 1,
                StepTarget::Key(key, kind) => {
                    // only an invalid key sends the value to `extra`
                    let json = matches!(kind, KeyKind::Invalid).then(|| value.to_json());
                    let shown = value.shown_later();
                    match harmonize::add(&mut event, key, kind, value, true, Overwrite::Raise, true)
                    {
                        Ok(_) => counts[slot] -= 1,
                        Err(AddError::InvalidValue) => {}
                        Err(AddError::InvalidKey) => {
                            let json = json.expect("InvalidKey comes from an invalid key");
                            extra.push((Name::Owned(format!("extra.{}", key.as_str())), json));
                            counts[slot] -= 1;
                        }
                        Err(e) => {
                            return Err(fail(
                                &step.column,
                                add_error_message(&e, key.as_str(), &shown.py_str()),
                            ));
                        }
                    }
                }
                StepTarget::Broken => {
                    return Err(fail(
                        &step.column,
                        "the schema's field name is not a string".into(),
                    ));
                }
            }
        }

        // event.update(constant_fields)
        for (key, kind, value) in &plan.constants {
            let v = PyVal::from_json(value);
            let first = harmonize::add(
                &mut event,
                key,
                kind,
                v.clone(),
                false,
                Overwrite::Replace,
                false,
            );
            if !matches!(first, Ok(harmonize::Added::Yes)) {
                harmonize::add(&mut event, key, kind, v, true, Overwrite::Replace, true).map_err(
                    |e| Failure {
                        column: None,
                        message: add_error_message(&e, key.as_str(), &value.to_string()),
                    },
                )?;
            }
        }

        if self.raw {
            let mut recovered =
                String::with_capacity(plan.quoted_header.len() + last_line.len() + 2);
            recovered.push_str(&plan.quoted_header);
            recovered.push_str(self.line_ending);
            recovered.push_str(last_line);
            let recovered = pyval::py_strip(&recovered);
            if harmonize::contains(&event, "raw") {
                return Err(Failure {
                    column: None,
                    message: add_error_message(&AddError::KeyExists, "raw", ""),
                });
            }
            event.insert(
                "raw",
                base64::engine::general_purpose::STANDARD.encode(recovered.as_bytes()),
            );
        }

        for (slot, &n) in counts.iter().enumerate() {
            if n == 0 {
                continue;
            }
            match row.slot(slot) {
                Some("") => {}
                Some(v) => {
                    extra.push((plan.extra_names[slot].clone(), Value::String(v.to_string())))
                }
                None => extra.push((plan.extra_names[slot].clone(), Value::Null)),
            }
        }
        if !extra.is_empty() {
            if harmonize::contains(&event, "extra") {
                return Err(Failure {
                    column: None,
                    message: add_error_message(&AddError::KeyExists, "extra", ""),
                });
            }
            for (k, v) in extra {
                k.insert(&mut event, v);
            }
        }
        Ok(event)
    }
}

impl<R: Read> Iterator for Parser<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.done {
            return None;
        }
        let mut record = std::mem::take(&mut self.record);
        let result = self.reader.read_byte_record(&mut record);
        let mut line = self.line;
        let outcome = match result {
            Ok(false) => {
                self.done = true;
                self.record = record;
                return None;
            }
            Err(e) => {
                self.done = true;
                Err(RowError {
                    field: None,
                    message: format!(
                        "{}: cannot read the rest of the file: {e}",
                        self.path.display()
                    ),
                    raw: String::new(),
                })
            }
            Ok(true) => {
                let end = self.reader.position().byte();
                let mut bytes = std::mem::take(&mut self.row_bytes);
                self.reader
                    .get_mut()
                    .take_into(self.consumed, end, &mut bytes);
                self.consumed = end;
                let (breaks, leading, after_cr) = line_breaks(&bytes, self.after_cr);
                line += leading;
                self.line += breaks;
                self.after_cr = after_cr;
                // the row's text: for `raw` and for the quarantine of a failed row only
                let row_text = |bytes: &[u8]| -> String {
                    let text = decode_ignore(bytes);
                    text.trim_matches(['\r', '\n']).to_string()
                };
                let text = self.raw.then(|| row_text(&bytes));
                // Python's line iterator: the last physical line of the record
                let last_line = text
                    .as_deref()
                    .map_or("", |t| t.rfind(['\r', '\n']).map_or(t, |i| &t[i + 1..]));
                let fields: Vec<std::borrow::Cow<'_, str>> =
                    record.iter().map(decode_ignore).collect();
                let outcome = match self.parse_row(&fields, last_line) {
                    Ok(event) => Ok(event),
                    Err(f) => Err(RowError {
                        field: f.column,
                        message: f.message,
                        raw: text.unwrap_or_else(|| row_text(&bytes)),
                    }),
                };
                self.row_bytes = bytes;
                outcome
            }
        };
        self.record = record;
        Some(Row { line, outcome })
    }
}
