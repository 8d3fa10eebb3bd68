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
mod fields;
mod harmonize;
mod net;
mod parallel;
mod pydate;
mod pyval;
mod records;
mod schema;
mod shape;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

pub use convert::Conversion;
pub use parallel::par_chunks;
pub use schema::{
    FieldRule, Report, SCHEMA_ENV, Schema, SchemaError, Target, report_name_from_file_name,
};

use crate::{Alterations, Event, FeedError, Options, Row, RowError, RowInto, RowStream, Rows};
use convert::RowLookup;
use fields::{FieldOrder, same_text};
use harmonize::{AddError, Added, Eval, KeyKind, Name, Overwrite};
use pyval::PyVal;
use records::{Records, is_strip_space};
use shape::{CellClass, SKIP, Shapes, Src, code};

/// Opens a Shadowserver CSV report, loading the schema from [`Options::schema`] or
/// [`Schema::default_path`].
pub fn open(path: &Path, options: &Options) -> Result<Rows, FeedError> {
    open_with_schema(path, &*load_schema(path, options)?, options)
}

/// The schema [`open`] uses for `path`: read once per process, and again only when the
/// file changes (its length or modification time), so that a run over a day's reports
/// (a hundred files or so) parses the 700 KB schema once rather than per report.
fn load_schema(path: &Path, options: &Options) -> Result<Arc<Schema>, FeedError> {
    use std::sync::{Mutex, OnceLock};
    type Stamp = (u64, Option<std::time::SystemTime>);
    /// A schema read: its file, the file's stamp when read, and the schema.
    type Loaded = (PathBuf, Stamp, Arc<Schema>);
    /// Schemas read so far.
    static LOADED: OnceLock<Mutex<Vec<Loaded>>> = OnceLock::new();
    /// At most this many schema files are kept.
    const KEPT: usize = 4;
    let format_error = |message: String| FeedError::Format {
        path: path.to_path_buf(),
        message,
    };
    let schema_path = match &options.schema {
        Some(p) => p.clone(),
        None => Schema::default_path().map_err(|e| format_error(e.to_string()))?,
    };
    let load = || Schema::load(&schema_path).map_err(|e| format_error(e.to_string()));
    // a file whose stamp cannot be read is read every time (and its error reported)
    let Ok(meta) = std::fs::metadata(&schema_path) else {
        return load().map(Arc::new);
    };
    let stamp: Stamp = (meta.len(), meta.modified().ok());
    let loaded = LOADED.get_or_init(Mutex::default);
    // a poisoned lock still holds whole entries: nothing panics while changing one
    let mut loaded = loaded.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, schema)) = (loaded.iter()).find(|(p, s, _)| *p == schema_path && *s == stamp)
    {
        return Ok(Arc::clone(schema));
    }
    let schema = Arc::new(load()?);
    loaded.retain(|(p, _, _)| *p != schema_path);
    if loaded.len() >= KEPT {
        loaded.remove(0);
    }
    loaded.push((schema_path.clone(), stamp, Arc::clone(&schema)));
    Ok(schema)
}

/// Opens a Shadowserver CSV report with an already loaded schema.
pub fn open_with_schema(
    path: &Path,
    schema: &Schema,
    options: &Options,
) -> Result<Rows, FeedError> {
    Ok(Box::new(parser(path, schema, options)?))
}

/// The parser of `path`, its header read.
fn parser(
    path: &Path,
    schema: &Schema,
    options: &Options,
) -> Result<Parser<BufReader<File>>, FeedError> {
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
    parser_of(
        BufReader::with_capacity(64 * 1024, file),
        path,
        schema,
        options,
        line_ending,
    )
}

/// Parses `text`, the lines of a report named `name` (header first), as [`open`] parses a
/// file: the report type comes from [`Options::report`] or from `name`.
pub fn read_text(name: &Path, text: Vec<u8>, options: &Options) -> Result<Rows, FeedError> {
    let schema = load_schema(name, options)?;
    let line_ending = if options.raw {
        detect_line_ending(io::Cursor::new(&text)).map_err(|source| FeedError::Io {
            path: name.to_path_buf(),
            source,
        })?
    } else {
        "\r\n"
    };
    Ok(Box::new(parser_of(
        io::Cursor::new(text),
        name,
        &schema,
        options,
        line_ending,
    )?))
}

/// The parser of `input`, the bytes of the report `path`, its header read.
fn parser_of<R: Read>(
    input: R,
    path: &Path,
    schema: &Schema,
    options: &Options,
    line_ending: &'static str,
) -> Result<Parser<R>, FeedError> {
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
    let observation = options
        .observation_time
        .clone()
        .unwrap_or_else(now_observation);
    let parser = Parser::new(
        input,
        report,
        path.to_path_buf(),
        observation,
        options.raw,
        line_ending,
    )?;
    Ok(Parser {
        strict: options.strict,
        ..parser
    })
}

/// `DateTime.generate_datetime_now()`: now in UTC, whole seconds, `+00:00`.
fn now_observation() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// The line ending IntelMQ uses in `raw`: `io.StringIO(report, newline='').newlines` of the
/// stripped report, `\r\n` when there is none or a mix.
fn detect_line_ending(mut file: impl Read) -> io::Result<&'static str> {
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
    /// The conversion reads the whole row; otherwise the outcome depends on the cell alone
    /// and is remembered per distinct cell text.
    with_row: bool,
    /// For an optional key that is not a field of the harmonisation: the field
    /// `extra.<key>` its values go to.
    invalid_key_field: Option<usize>,
}

/// Where `Message.add` puts a key: the event field it fills.
#[derive(Debug, Clone)]
struct KeyTarget {
    name: Name,
    kind: KeyKind,
    /// The key's place in [`Plan::order`]; `None` for keys that are never stored (invalid
    /// keys, JSONDict fields as a whole, sub keys of other fields).
    field: Option<usize>,
    /// The key is `extra`, which `Message.__contains__` finds when any `extra.*` is set.
    whole_extra: bool,
}

#[derive(Debug, Clone)]
enum StepTarget {
    /// `event.add(key, …)`.
    Key(KeyTarget),
    /// Optional `extra.` (the column name) or `extra.<name>`: that field.
    Extra(usize),
    /// Optional `False`.
    Ignore,
    /// Required `extra.*`/`False`/other: `event.add` with a key that is not a string.
    Broken(KeyTarget),
}

/// What one step makes of one cell before looking at the event: the conversion, and what
/// `Message.add` would do with the result. It depends on the cell's text alone (for steps
/// that do not read the whole row), so the parser works it out once per distinct text.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The conversion raised.
    ConvFailed(String),
    /// The conversion gave `None`.
    NoValue,
    /// A key target: what `Message.add` does with the value when the key is free.
    Add(Eval),
    /// An `extra.` target: the value goes to that field as it is.
    Extra(Value),
    /// An ignored (`False`) target.
    Consumed,
    /// An optional key target whose key is invalid: the value goes to `extra.<key>`.
    InvalidKey(Value),
    /// An optional target that is not a string: the row fails.
    Broken,
}

/// The per-report mapping compiled against one header.
#[derive(Debug)]
struct Plan {
    /// The column index Python's `DictReader` takes each distinct header name from (the
    /// last of equal names).
    name_col: Vec<usize>,
    by_name: HashMap<String, usize>,
    /// How often each distinct name is in the header (the initial `fields` multiset).
    initial_counts: Vec<u32>,
    /// `time.observation`, `feed.name` and `feed.documentation`, and what adding each
    /// does (`add(…, sanitize=False, raise_failure=False)` then `add(…, sanitize=True)`
    /// for the first, `add(…, overwrite=False)` for the others).
    observation: (KeyTarget, Eval, Eval, String),
    feed: Vec<(KeyTarget, Eval, String)>,
    required: Vec<Step>,
    optional: Vec<Step>,
    /// The constant fields: target, `add(…, sanitize=False, raise_failure=False)`,
    /// `add(…, sanitize=True)`, the value as JSON (for messages).
    constants: Vec<(KeyTarget, Eval, Eval, Value)>,
    /// The field of `extra.<name>` for each distinct header name.
    extra_fields: Vec<usize>,
    /// The field `raw`.
    raw_field: usize,
    /// Every field an event of this report can have, in order.
    order: FieldOrder,
    /// Which of them are `extra.*`.
    is_extra: Vec<bool>,
    /// The header as `csv.DictWriter.writeheader()` writes it (all fields quoted).
    quoted_header: String,
    /// The header's cells: a row with fewer is short, one with more is long.
    columns: usize,
}

impl Plan {
    /// Step `j` of the required steps, then the optional ones.
    fn step(&self, j: usize) -> &Step {
        match j.checked_sub(self.required.len()) {
            None => &self.required[j],
            Some(k) => &self.optional[k],
        }
    }

    fn new(
        report: &Report,
        header: Vec<String>,
        observation: &str,
        path: &Path,
    ) -> Result<Plan, FeedError> {
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
        // every name an event can get, first as names, then resolved against the order
        let mut fields: Vec<Cow<'static, str>> = Vec::new();
        let mut key = |k: &str| -> (Name, KeyKind) {
            let name = Name::new(k);
            let kind = harmonize::key_kind(k);
            let stored = match &kind {
                KeyKind::Field(spec) => spec.kind != harmonize::Kind::JsonDict,
                KeyKind::Subitem => true,
                _ => false,
            };
            if stored {
                fields.push(name.to_cow());
            }
            (name, kind)
        };
        let mut keys: Vec<(Name, KeyKind)> = Vec::new();
        let mut key_index = |k: &str| -> usize {
            keys.push(key(k));
            keys.len() - 1
        };
        let obs_key = key_index("time.observation");
        let feed_keys = [key_index("feed.name"), key_index("feed.documentation")];
        let raw_key = key_index("raw");
        let mut extra_names: Vec<Name> = Vec::new();
        let mut extra_name = |n: String| -> usize {
            extra_names.push(Name::new(&n));
            extra_names.len() - 1
        };
        enum Pre {
            Key(usize),
            Extra(usize),
            Ignore,
            Broken,
        }
        let mut pre_step = |rule: &FieldRule, required: bool| -> (Pre, Option<usize>) {
            match (&rule.target, required) {
                (Target::Key(k), true) => (Pre::Key(key_index(k)), None),
                (Target::Key(k), false) if k == "extra." => (
                    Pre::Extra(extra_name(format!("extra.{}", rule.column))),
                    None,
                ),
                (Target::Key(k), false) if k.starts_with("extra.") => (
                    Pre::Extra(extra_name(format!("extra.{}", &k["extra.".len()..]))),
                    None,
                ),
                (Target::Key(k), false) => {
                    let i = key_index(k);
                    // an invalid key sends the value to `extra.<key>`
                    let invalid = matches!(harmonize::key_kind(k), KeyKind::Invalid);
                    (
                        Pre::Key(i),
                        invalid.then(|| extra_name(format!("extra.{k}"))),
                    )
                }
                (Target::Ignore, false) => (Pre::Ignore, None),
                (Target::Ignore | Target::Broken, _) => (Pre::Broken, None),
            }
        };
        let required_pre: Vec<_> = report.required.iter().map(|r| pre_step(r, true)).collect();
        let optional_pre: Vec<_> = report.optional.iter().map(|r| pre_step(r, false)).collect();
        let constant_keys: Vec<usize> =
            report.constants.iter().map(|(k, _)| key_index(k)).collect();
        let header_extras: Vec<usize> = names
            .iter()
            .map(|n| extra_name(format!("extra.{n}")))
            .collect();
        fields.extend(extra_names.iter().map(Name::to_cow));
        let order = FieldOrder::new(fields);
        let field_of = |name: &Name| order.index(name.as_str());
        let target = |i: usize| -> KeyTarget {
            let (name, kind) = keys[i].clone();
            let stored = match &kind {
                KeyKind::Field(spec) => spec.kind != harmonize::Kind::JsonDict,
                KeyKind::Subitem => true,
                _ => false,
            };
            KeyTarget {
                field: if stored { field_of(&name) } else { None },
                whole_extra: name.as_str() == "extra",
                name,
                kind,
            }
        };
        let extra_field =
            |i: usize| field_of(&extra_names[i]).expect("every extra name is one of the fields");
        let not_a_string = KeyTarget {
            name: Name::Static("False"),
            kind: KeyKind::NotAString,
            field: None,
            whole_extra: false,
        };
        let step = |rule: &FieldRule, pre: &(Pre, Option<usize>)| -> Step {
            let target = match pre.0 {
                Pre::Key(i) => StepTarget::Key(target(i)),
                Pre::Extra(i) => StepTarget::Extra(extra_field(i)),
                Pre::Ignore => StepTarget::Ignore,
                Pre::Broken => StepTarget::Broken(not_a_string.clone()),
            };
            Step {
                slot: by_name.get(&rule.column).copied(),
                column: rule.column.clone(),
                target,
                conversion: rule.conversion.clone(),
                with_row: rule.with_row,
                invalid_key_field: pre.1.map(extra_field),
            }
        };
        let required: Vec<Step> = report
            .required
            .iter()
            .zip(&required_pre)
            .map(|(r, p)| step(r, p))
            .collect();
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
        let optional = report
            .optional
            .iter()
            .zip(&optional_pre)
            .map(|(r, p)| step(r, p))
            .collect();
        let obs = PyVal::str(observation);
        let obs_kind = &keys[obs_key].1;
        let observation = (
            target(obs_key),
            harmonize::evaluate(obs_kind, obs.clone(), false),
            harmonize::evaluate(obs_kind, obs, true),
            observation.to_string(),
        );
        let feed = feed_keys
            .iter()
            .zip([Some(report.feed_name.as_str()), report.url.as_deref()])
            .map(|(&i, value)| {
                let v = value.map_or(PyVal::None, PyVal::str);
                (
                    target(i),
                    harmonize::evaluate(&keys[i].1, v, true),
                    value.unwrap_or_default().to_string(),
                )
            })
            .collect();
        let constants = report
            .constants
            .iter()
            .zip(&constant_keys)
            .map(|((_, value), &i)| {
                let v = PyVal::from_json(value);
                (
                    target(i),
                    harmonize::evaluate(&keys[i].1, v.clone(), false),
                    harmonize::evaluate(&keys[i].1, v, true),
                    value.clone(),
                )
            })
            .collect();
        let is_extra = (0..order.len())
            .map(|i| order.name(i).starts_with("extra."))
            .collect();
        let quoted_header = header
            .iter()
            .map(|h| format!("\"{}\"", h.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(",");
        Ok(Plan {
            name_col,
            by_name,
            initial_counts,
            observation,
            feed,
            required,
            optional,
            constants,
            extra_fields: header_extras.into_iter().map(extra_field).collect(),
            raw_field: target(raw_key).field.expect("raw is a field"),
            is_extra,
            order,
            quoted_header,
            columns: header.len(),
        })
    }
}

/// The current row as Python's `DictReader` dict.
struct RowView<'a> {
    plan: &'a Plan,
    cells: Cells<'a>,
}

/// A row's cells, decoded.
enum Cells<'a> {
    /// All valid UTF-8: a text and where each cell starts and ends in it.
    Text {
        text: &'a str,
        spans: &'a [(usize, usize)],
    },
    /// Some were not: each decoded on its own (invalid sequences dropped).
    Decoded(&'a [String]),
}

impl<'a> RowView<'a> {
    #[inline]
    fn cell(&self, col: usize) -> Option<&'a str> {
        match self.cells {
            Cells::Text { text, spans } => {
                let &(from, to) = spans.get(col)?;
                Some(&text[from..to])
            }
            Cells::Decoded(cells) => cells.get(col).map(String::as_str),
        }
    }

    /// [`RowView::cell`]'s bytes, without making them a `str` again (whose ends would be
    /// checked to be character boundaries): for comparing a cell with remembered texts.
    #[inline]
    fn cell_bytes(&self, col: usize) -> Option<&'a [u8]> {
        match self.cells {
            Cells::Text { text, spans } => {
                let &(from, to) = spans.get(col)?;
                text.as_bytes().get(from..to)
            }
            Cells::Decoded(cells) => cells.get(col).map(String::as_bytes),
        }
    }

    #[inline]
    fn slot(&self, slot: usize) -> Option<&'a str> {
        self.cell(self.plan.name_col[slot])
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

/// A set of fields of [`Plan::order`], one bit each.
#[derive(Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }

    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn unset(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }

    fn clear(&mut self) {
        self.0.fill(0);
    }

    fn any(&self) -> bool {
        self.0.iter().any(|&w| w != 0)
    }
}

/// The event being built for one row: a value per field of [`Plan::order`], reused from
/// row to row.
struct Scratch {
    values: Vec<Value>,
    /// Set by `Message.add`.
    set: Bits,
    /// Set as `extra` at the end of the row (IntelMQ collects these and adds them last).
    pending: Bits,
    /// How many `extra.*` fields are set by `Message.add`.
    set_extras: usize,
    /// String buffers set free where a value of another type took a string's place, for the
    /// next string that takes a place held by another type (the fields of an event shift
    /// from row to row, and with them the buffers swapped in and out).
    spare: Vec<String>,
    /// Where each field's value came from (see [`Shape`]), and where the values written
    /// now come from.
    sources: Vec<Src>,
    src: Src,
}

impl Scratch {
    fn new(n: usize) -> Self {
        Scratch {
            values: vec![Value::Null; n],
            set: Bits::new(n),
            pending: Bits::new(n),
            set_extras: 0,
            spare: Vec::new(),
            sources: vec![Src::Const; n],
            src: Src::Const,
        }
    }

    /// `values[field] = value.clone()`, reusing the buffer there or a spare one.
    fn assign(&mut self, field: usize, value: &Value) {
        self.sources[field] = self.src;
        let dst = &mut self.values[field];
        match (dst, value) {
            (Value::String(d), Value::String(v)) => {
                d.clear();
                d.push_str(v);
            }
            (dst, Value::String(v)) => {
                let mut d = self.spare.pop().unwrap_or_default();
                d.clear();
                d.push_str(v);
                *dst = Value::String(d);
            }
            (dst, v) => {
                if let Value::String(old) = std::mem::replace(dst, v.clone())
                    && self.spare.len() < SPARE_STRINGS
                {
                    self.spare.push(old);
                }
            }
        }
    }

    fn clear(&mut self) {
        self.set.clear();
        self.pending.clear();
        self.set_extras = 0;
    }

    /// `key in event`.
    fn contains(&self, target: &KeyTarget) -> bool {
        if target.whole_extra {
            return self.set_extras > 0;
        }
        target.field.is_some_and(|f| self.set.get(f))
    }

    fn store(&mut self, plan: &Plan, field: usize, value: &Value) {
        if !self.set.get(field) {
            self.set.set(field);
            if plan.is_extra[field] {
                self.set_extras += 1;
            }
        }
        self.assign(field, value);
    }

    /// `del event[key]`.
    fn remove(&mut self, plan: &Plan, target: &KeyTarget) {
        if target.whole_extra {
            for (f, &extra) in plan.is_extra.iter().enumerate() {
                if extra {
                    self.set.unset(f);
                }
            }
            self.set_extras = 0;
        } else if let Some(f) = target.field.filter(|&f| self.set.get(f)) {
            self.set.unset(f);
            if plan.is_extra[f] {
                self.set_extras -= 1;
            }
        }
    }

    /// `Message.add(key, value, overwrite=…, raise_failure=…)` with the value's part done.
    fn add(
        &mut self,
        plan: &Plan,
        target: &KeyTarget,
        eval: &Eval,
        overwrite: Overwrite,
        raise_failure: bool,
    ) -> Result<Added, AddError> {
        let exists = self.contains(target);
        match overwrite {
            Overwrite::Raise if exists => return Err(AddError::KeyExists),
            Overwrite::Keep if exists => return Ok(Added::No),
            _ => {}
        }
        match eval {
            Eval::Ignored => {
                if overwrite == Overwrite::Replace && exists {
                    self.remove(plan, target);
                }
                Ok(Added::Ignored)
            }
            Eval::Store(v) => {
                let field = target
                    .field
                    .expect("a key whose values are stored is one of the fields");
                self.store(plan, field, v);
                Ok(Added::Yes)
            }
            Eval::Invalid if raise_failure => Err(AddError::InvalidValue),
            Eval::Invalid => Ok(Added::No),
            Eval::Fails(e) => Err(e.clone()),
        }
    }

    /// Sets `field` as `extra` at the end of the row (the last value wins).
    fn pend(&mut self, field: usize, value: &Value) {
        self.pending.set(field);
        self.assign(field, value);
    }

    fn pend_str(&mut self, field: usize, value: &str) {
        self.pending.set(field);
        self.sources[field] = self.src;
        match &mut self.values[field] {
            Value::String(s) => {
                s.clear();
                s.push_str(value);
            }
            v => {
                let mut s = self.spare.pop().unwrap_or_default();
                s.clear();
                s.push_str(value);
                *v = Value::String(s);
            }
        }
    }

    /// The fields of the event, in order, to be moved into it.
    fn fields(&mut self) -> impl Iterator<Item = (usize, &mut Value)> {
        let (set, pending) = (&self.set.0, &self.pending.0);
        self.values
            .iter_mut()
            .enumerate()
            .filter(move |(f, _)| (set[f / 64] | pending[f / 64]) & (1 << (f % 64)) != 0)
    }
}

/// Spare string buffers a [`Scratch`] keeps at most.
const SPARE_STRINGS: usize = 64;

/// A step's outcomes remembered per distinct cell text, for as long as that pays: a column
/// whose texts rarely repeat (addresses, time stamps) stops being remembered after a few
/// thousand rows.
#[derive(Default)]
struct Memo {
    /// The outcome looked up last, and its code: columns often hold the same text row after
    /// row (a protocol, a country, an empty cell), which this finds without hashing.
    last: Option<(usize, u8)>,
    /// The index of the text seen last at each place of a small table, placed by a cheap
    /// hash of the text ([`front_place`]), or [`NO_TEXT`]: most lookups end here, without
    /// hashing the whole text and probing `index`.
    front: Vec<u16>,
    /// Indices into `texts` and `outcomes`, by the hash of the text.
    index: hashbrown::HashTable<usize>,
    hasher: foldhash::fast::RandomState,
    texts: Vec<Box<str>>,
    outcomes: Vec<Outcome>,
    /// Each outcome's [`shape::code`].
    codes: Vec<u8>,
    lookups: u32,
    misses: u32,
    off: bool,
}

/// At most this many outcomes are remembered per step (their indices fit `u16`).
const MEMO_CAPACITY: usize = 1024;
/// The size of a memo's front table, and the empty place.
const FRONT_BITS: u32 = 10;
const NO_TEXT: u16 = u16::MAX;

/// A text's place in a memo's front table: a hash of its length and its first and last
/// eight bytes (cell texts are short, and differ there when they differ).
#[inline]
fn front_place(text: &[u8]) -> usize {
    let word = |w: Option<&[u8; 8]>| w.map_or(0, |w| u64::from_le_bytes(*w));
    let half = |w: Option<&[u8; 4]>| w.map_or(0, |w| u64::from(u32::from_le_bytes(*w)));
    // a short text is read as whole words too (overlapping), not copied into one byte by
    // byte: a copy through `memcpy`, then read back as a word, stalls the processor
    let (first, last) = match text.len() {
        8.. => (word(text.first_chunk()), word(text.last_chunk())),
        4..=7 => (half(text.first_chunk()), half(text.last_chunk())),
        1..=3 => {
            let b = |i: usize| u64::from(text[i]);
            (b(0) | b(text.len() / 2) << 8 | b(text.len() - 1) << 16, 0)
        }
        0 => (0, 0),
    };
    let h = (first ^ last.rotate_left(29) ^ text.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> (64 - FRONT_BITS)) as usize
}
/// After this many lookups a step whose texts repeated less than half of the time in the
/// second half of them is no longer remembered. Only the second half counts: a column of a
/// few hundred distinct texts misses at first, each text being new, and then hits every
/// time. The trial was 4,096 lookups, judged as a whole: that cost 13 million instructions
/// more per run of the benchmark's report, for the same decisions there.
const MEMO_TRIAL: u32 = 1024;

impl Memo {
    /// The outcome for `text`, computed by `compute` unless remembered.
    fn get(&mut self, text: &str, compute: impl FnOnce() -> Outcome) -> Cow<'_, Outcome> {
        match self.index(text, compute) {
            Ok(i) => Cow::Borrowed(&self.outcomes[i]),
            Err(outcome) => Cow::Owned(outcome),
        }
    }

    /// The outcome for `text`: where it is remembered ([`Memo::outcome`]), or, when it is
    /// not, the outcome `compute` gives.
    fn index(&mut self, text: &str, compute: impl FnOnce() -> Outcome) -> Result<usize, Outcome> {
        use std::hash::BuildHasher;
        if self.off {
            return Err(compute());
        }
        let in_trial = self.lookups < MEMO_TRIAL;
        if in_trial {
            self.lookups += 1;
        } else if self.misses * 4 > MEMO_TRIAL {
            self.off = true;
            self.index = hashbrown::HashTable::new();
            self.front = Vec::new();
            self.texts = Vec::new();
            self.outcomes = Vec::new();
            self.codes = Vec::new();
            self.last = None;
            return Err(compute());
        }
        if let Some((i, _)) = self.last
            && same_text(self.texts[i].as_bytes(), text.as_bytes())
        {
            return Ok(i);
        }
        let place = front_place(text.as_bytes());
        if let Some(i) = self.front_hit(place, text.as_bytes()) {
            return Ok(i);
        }
        if self.front.is_empty() {
            self.front = vec![NO_TEXT; 1 << FRONT_BITS];
        }
        let hash = self.hasher.hash_one(text);
        let texts = &self.texts;
        if let Some(&i) = self
            .index
            .find(hash, |&i| same_text(texts[i].as_bytes(), text.as_bytes()))
        {
            self.last = Some((i, self.codes[i]));
            self.front[place] = i as u16;
            return Ok(i);
        }
        if in_trial && self.lookups > MEMO_TRIAL / 2 {
            self.misses += 1;
        }
        let outcome = compute();
        if self.outcomes.len() >= MEMO_CAPACITY {
            return Err(outcome);
        }
        let (hasher, texts) = (&self.hasher, &self.texts);
        self.index
            .insert_unique(hash, self.outcomes.len(), |&i| hasher.hash_one(&*texts[i]));
        let code = shape::code(&outcome);
        self.last = Some((self.outcomes.len(), code));
        self.front[place] = self.outcomes.len() as u16;
        self.texts.push(text.into());
        self.codes.push(code);
        self.outcomes.push(outcome);
        Ok(self.outcomes.len() - 1)
    }

    /// The outcome for `text` when it is the text looked up last and the trial is over
    /// (when [`Memo::index`] would find it without hashing and without counting): its index
    /// and its code, kept beside the index rather than looked up.
    #[inline]
    fn again(&self, text: &[u8]) -> Option<(usize, u8)> {
        let (i, code) = self.last?;
        (self.lookups >= MEMO_TRIAL && same_text(self.texts[i].as_bytes(), text))
            .then_some((i, code))
    }

    /// The outcome for `text` when the front table holds it and the trial is over (when
    /// [`Memo::index`] would find it there without counting): the lookup of most rows,
    /// small enough to inline.
    #[inline]
    fn in_front(&mut self, text: &[u8]) -> Option<usize> {
        if self.lookups < MEMO_TRIAL {
            return None;
        }
        self.front_hit(front_place(text), text)
    }

    /// The outcome of `text` when the front table holds it at `place`, made the last one.
    #[inline]
    fn front_hit(&mut self, place: usize, text: &[u8]) -> Option<usize> {
        let i = usize::from(*self.front.get(place)?);
        if i == usize::from(NO_TEXT) || !same_text(self.texts[i].as_bytes(), text) {
            return None;
        }
        self.last = Some((i, self.codes[i]));
        Some(i)
    }

    /// Whether this step's outcomes are no longer remembered.
    fn is_off(&self) -> bool {
        self.off
    }

    /// A remembered outcome, by the index [`Memo::index`] gave.
    fn outcome(&self, i: usize) -> &Outcome {
        &self.outcomes[i]
    }

    /// The [`shape::code`] of a remembered outcome.
    fn code(&self, i: usize) -> u8 {
        self.codes[i]
    }
}

/// The value a step hands to `Message.add`: its cell through its conversion.
fn converted<'a>(
    step: &Step,
    required: bool,
    cell: Option<&'a str>,
    row: &'a RowView<'a>,
) -> Result<PyVal<'a>, String> {
    Ok(match (&step.conversion, cell) {
        // IntelMQ skips an unknown conversion of an optional field, and fails a required one
        (Some(conv), Some(v)) if required || conv.is_known() => {
            convert::apply(conv, v, row, step.with_row).map_err(|e| e.0)?
        }
        (_, Some(v)) => PyVal::str(v),
        (_, None) => PyVal::None,
    })
}

fn outcome(step: &Step, required: bool, cell: Option<&str>, row: &RowView<'_>) -> Outcome {
    if let Some(known) = cell.and_then(|c| plain_outcome(step, c)) {
        return known;
    }
    general_outcome(step, required, cell, row)
}

/// The outcome of the commonest cells of the columns whose texts rarely repeat — a plain
/// time stamp into a date-time key, a dotted quad into an address key, a plain lower-case
/// host name into a domain key — written down directly where the general path is known to
/// give the same (each is tested against it). `None`: take the general path.
fn plain_outcome(step: &Step, cell: &str) -> Option<Outcome> {
    let mut out = Outcome::NoValue;
    let plain = Plain::of(step)?;
    plain_into(plain, cell, &mut out, &mut Vec::new()).then_some(out)
}

/// Room for the longest of [`plain_into`]'s values: an IPv4 address, a host name of usual
/// length, an ISO 8601 time stamp with its offset (25 bytes).
const PLAIN_ROOM: usize = 64;

/// The kinds of cell [`plain_into`] knows, one per step: what the step does to its cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Plain {
    /// `convert_int` of plain decimal digits into `extra`.
    Integer,
    /// `convert_date` of an RFC 9110 HTTP date into `extra`.
    HttpDate,
    /// `add_UTC_to_timestamp`, then DateTime's sanitise and check.
    Timestamp,
    /// `validate_ip` (or none), then IPAddress's sanitise and check.
    Address,
    /// FQDN's sanitise and check.
    HostName,
}

impl Plain {
    /// The kind of plain cell `step` knows, if any: worked out once per step, rather than
    /// from its target and conversion for every cell.
    fn of(step: &Step) -> Option<Plain> {
        match (&step.target, &step.conversion) {
            (StepTarget::Extra(_), Some(Conversion::ConvertInt)) => Some(Plain::Integer),
            (StepTarget::Extra(_), Some(Conversion::ConvertDate)) => Some(Plain::HttpDate),
            (StepTarget::Key(target), conversion) => {
                let KeyKind::Field(spec) = &target.kind else {
                    return None;
                };
                // no length limit, and no pattern but the one plain host names always meet
                if spec.length.is_some()
                    || spec.pattern.is_some_and(|p| {
                        p != harmonize::Pattern::NoTrailingDot || spec.kind != harmonize::Kind::Fqdn
                    })
                {
                    return None;
                }
                match (conversion, spec.kind) {
                    (Some(Conversion::AddUtcToTimestamp), harmonize::Kind::DateTime) => {
                        Some(Plain::Timestamp)
                    }
                    (Some(Conversion::ValidateIp) | None, harmonize::Kind::IpAddress) => {
                        Some(Plain::Address)
                    }
                    (None, harmonize::Kind::Fqdn) => Some(Plain::HostName),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// [`plain_outcome`] written over `out`, reusing its string (or one of `spare`): `false`
/// (and `out` left to be overwritten, its string in `spare`) for cells it does not know.
/// `plain` is [`Plain::of`] the step.
fn plain_into(plain: Plain, cell: &str, out: &mut Outcome, spare: &mut Vec<String>) -> bool {
    if plain == Plain::Integer {
        return plain_integer_into(cell, out);
    }
    let mut text = match out {
        Outcome::Extra(Value::String(s)) | Outcome::Add(Eval::Store(Value::String(s))) => {
            std::mem::take(s)
        }
        _ => spare.pop().unwrap_or_default(),
    };
    text.clear();
    // the strings of these outcomes trade places with the event's values (see
    // `shape::fill`), so one that comes back may be a short one's: room for the longest
    // plain value once, rather than growing it row after row
    text.reserve(PLAIN_ROOM);
    let known = match plain {
        Plain::HttpDate => pydate::http_date_iso_into(cell, &mut text),
        Plain::Timestamp => pydate::plain_timestamp_iso_into(cell, &mut text),
        Plain::Address => net::parse_v4(cell).is_some_and(|a| a != 0),
        Plain::HostName => harmonize::plain_host_name(cell) == Some(true),
        Plain::Integer => false,
    };
    if !known {
        keep_spare(spare, text);
        return false;
    }
    if matches!(plain, Plain::Address | Plain::HostName) {
        text.push_str(cell);
    }
    // back where it was taken from when that is the outcome's place (most rows), without
    // dropping and rebuilding the outcome
    match (plain, &mut *out) {
        (Plain::HttpDate, Outcome::Extra(Value::String(s)))
        | (
            Plain::Timestamp | Plain::Address | Plain::HostName,
            Outcome::Add(Eval::Store(Value::String(s))),
        ) => *s = text,
        (Plain::HttpDate, out) => *out = Outcome::Extra(Value::String(text)),
        (_, out) => *out = Outcome::Add(Eval::Store(Value::String(text))),
    }
    true
}

/// What `convert_int` into an `extra.` field makes of one to eighteen ASCII digits (leading
/// zeros too, as Python's `int` reads them): their value, which `u64` and JSON hold as it is.
/// `false` (and `out` left to be overwritten) for anything else.
fn plain_integer_into(cell: &str, out: &mut Outcome) -> bool {
    let b = cell.as_bytes();
    if !(1..=18).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = b.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    *out = Outcome::Extra(Value::from(n));
    true
}

/// [`outcome`] written over `out`, reusing its string where the cell is a plain one (`plain`
/// is [`Plain::of`] the step). The string of an outcome overwritten otherwise goes to
/// `spare`, for a later plain one.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn outcome_into(
    step: &Step,
    plain: Option<Plain>,
    required: bool,
    cell: Option<&str>,
    row: &RowView<'_>,
    out: &mut Outcome,
    spare: &mut Vec<String>,
) {
    if let (Some(c), Some(plain)) = (cell, plain)
        && plain_into(plain, c, out, spare)
    {
        return;
    }
    let old = std::mem::replace(out, general_outcome(step, required, cell, row));
    if let Outcome::Extra(Value::String(s)) | Outcome::Add(Eval::Store(Value::String(s))) = old {
        keep_spare(spare, s);
    }
}

/// Strings [`outcome_into`] keeps at most for later outcomes.
const SPARE_OUTCOME_STRINGS: usize = 8;

/// Keeps `s` in `spare` when there is room.
fn keep_spare(spare: &mut Vec<String>, s: String) {
    if spare.len() < SPARE_OUTCOME_STRINGS && s.capacity() > 0 {
        spare.push(s);
    }
}

/// [`outcome`] by IntelMQ's general rules: the conversion, then `Message.add`'s value half.
fn general_outcome(step: &Step, required: bool, cell: Option<&str>, row: &RowView<'_>) -> Outcome {
    let value = match converted(step, required, cell, row) {
        Ok(v) => v,
        Err(e) => return Outcome::ConvFailed(e),
    };
    if value.is_none() {
        return Outcome::NoValue;
    }
    match &step.target {
        StepTarget::Key(t) if required => Outcome::Add(harmonize::evaluate(&t.kind, value, true)),
        StepTarget::Broken(t) => {
            if required {
                Outcome::Add(harmonize::evaluate(&t.kind, value, true))
            } else {
                Outcome::Broken
            }
        }
        StepTarget::Key(t) => {
            let json = matches!(t.kind, KeyKind::Invalid).then(|| value.to_json());
            match harmonize::evaluate(&t.kind, value, true) {
                Eval::Fails(AddError::InvalidKey) => {
                    Outcome::InvalidKey(json.expect("InvalidKey comes from an invalid key"))
                }
                eval => Outcome::Add(eval),
            }
        }
        StepTarget::Extra(_) => Outcome::Extra(value.into_json()),
        StepTarget::Ignore => Outcome::Consumed,
    }
}

/// What a row's parse keeps from row to row.
struct Work {
    scratch: Scratch,
    /// One per step: the required ones, then the optional ones.
    memos: Vec<Memo>,
    /// Whether outcomes are remembered at all (tests compare with and without).
    remember: bool,
    counts: Vec<u32>,
    /// The shapes of the rows read so far, and whether rows are filled by them (tests
    /// compare with and without).
    shapes: Shapes,
    shaped: bool,
    /// The row just read by [`parse_row`]: each step's [`code`], and the columns left to
    /// `extra` with their cells' [`CellClass`].
    codes: Vec<u8>,
    leftover: Vec<(usize, CellClass)>,
    /// The row being filled by a shape: each step's outcome, remembered by its memo (the
    /// index) or worked out for this row alone (in `owned`; [`shape::OWNED`]).
    got: Vec<u32>,
    owned: Vec<Outcome>,
    /// Strings of outcomes in `owned` overwritten by ones without a string.
    spare: Vec<String>,
    /// Strings of the caller's event dropped or overwritten, for its later values.
    event_spare: fields::Spare,
    /// Per step, what the shape path needs to know of it in every row.
    lanes: Vec<shape::Lane>,
}

impl Work {
    fn new(plan: &Plan) -> Self {
        let steps = plan.required.len() + plan.optional.len();
        Work {
            scratch: Scratch::new(plan.order.len()),
            memos: (0..steps).map(|_| Memo::default()).collect(),
            remember: true,
            counts: plan.initial_counts.clone(),
            shapes: Shapes::default(),
            shaped: true,
            codes: vec![SKIP; steps],
            leftover: Vec::new(),
            got: vec![shape::OWNED; steps],
            owned: vec![Outcome::NoValue; steps],
            spare: Vec::new(),
            event_spare: fields::Spare::default(),
            lanes: (plan.required.iter().chain(&plan.optional))
                .map(|step| shape::Lane {
                    column: step.slot.map(|slot| plan.name_col[slot]),
                    remembered: !step.with_row,
                    plain: Plain::of(step),
                })
                .collect(),
        }
    }
}

/// Builds one row's event in `work.scratch` as IntelMQ's `parse_line` and `Message.add`
/// would.
fn parse_row(
    plan: &Plan,
    work: &mut Work,
    row: &RowView<'_>,
    strict: bool,
    raw: Option<(&str, &str)>,
) -> Result<(), Failure> {
    let Work {
        scratch,
        memos,
        remember,
        counts,
        codes,
        leftover,
        ..
    } = work;
    let remember = *remember;
    scratch.clear();
    scratch.src = Src::Const;
    counts.copy_from_slice(&plan.initial_counts);
    leftover.clear();
    let fail = |column: &str, message: String| Failure {
        column: Some(column.to_string()),
        message,
    };
    let whole = |e: AddError, key: &str, value: &str| Failure {
        column: None,
        message: add_error_message(&e, key, value),
    };
    // Event(report): time.observation; then feed.name and feed.documentation
    let (target, first, second, value) = &plan.observation;
    if scratch.add(plan, target, first, Overwrite::Raise, false) != Ok(Added::Yes) {
        scratch
            .add(plan, target, second, Overwrite::Raise, true)
            .map_err(|e| whole(e, target.name.as_str(), value))?;
    }
    for (target, eval, value) in &plan.feed {
        scratch
            .add(plan, target, eval, Overwrite::Keep, true)
            .map_err(|e| whole(e, target.name.as_str(), value))?;
    }
    // the text `str(value)` gives, for a message about a step's value
    let shown = |step: &Step, required: bool, cell: Option<&str>| -> String {
        converted(step, required, cell, row)
            .map(|v| v.py_str().into_owned())
            .unwrap_or_default()
    };
    let (required_memos, optional_memos) = memos.split_at_mut(plan.required.len());

    for (j, (step, memo)) in plan.required.iter().zip(required_memos).enumerate() {
        scratch.src = Src::Step(j as u32);
        let slot = step
            .slot
            .expect("required columns were checked against the header");
        if counts[slot] == 0 {
            counts[slot] += 1;
        }
        let cell = row.slot(slot);
        let compute = || outcome(step, true, cell, row);
        let result = match cell {
            Some(text) if !step.with_row && remember => memo.get(text, compute),
            _ => Cow::Owned(compute()),
        };
        codes[j] = code(&result);
        let target = match &step.target {
            StepTarget::Key(t) | StepTarget::Broken(t) => t,
            _ => unreachable!("required steps add a key or fail"),
        };
        match &*result {
            Outcome::ConvFailed(e) => {
                return Err(fail(&step.column, format!("conversion failed: {e}")));
            }
            Outcome::NoValue => {
                if strict {
                    let what = match cell {
                        Some(v) if !v.is_empty() => format!("{v:?} is not a valid value"),
                        _ => "the value is missing".to_string(),
                    };
                    return Err(fail(&step.column, format!("required field: {what}")));
                }
            }
            Outcome::Add(eval) => match scratch.add(plan, target, eval, Overwrite::Raise, true) {
                Ok(_) | Err(AddError::InvalidKey) => counts[slot] -= 1,
                Err(e) => {
                    let value = shown(step, true, cell);
                    return Err(fail(
                        &step.column,
                        add_error_message(&e, target.name.as_str(), &value),
                    ));
                }
            },
            _ => unreachable!("required steps add a key"),
        }
    }

    for (j, (step, memo)) in plan.optional.iter().zip(optional_memos).enumerate() {
        let j = plan.required.len() + j;
        scratch.src = Src::Step(j as u32);
        let Some(slot) = step.slot else { continue };
        if counts[slot] == 0 {
            counts[slot] += 1;
        }
        let cell = row.slot(slot);
        let compute = || outcome(step, false, cell, row);
        let result = match cell {
            Some(text) if !step.with_row && remember => memo.get(text, compute),
            _ => Cow::Owned(compute()),
        };
        codes[j] = code(&result);
        match (&*result, &step.target) {
            (Outcome::ConvFailed(e), _) => {
                return Err(fail(&step.column, format!("conversion failed: {e}")));
            }
            (Outcome::NoValue | Outcome::Consumed, _) => counts[slot] -= 1,
            (Outcome::Extra(v), StepTarget::Extra(field)) => {
                scratch.pend(*field, v);
                counts[slot] -= 1;
            }
            (Outcome::InvalidKey(v), _) => {
                // the key is never stored, so it is never there already
                let field = step
                    .invalid_key_field
                    .expect("an invalid key has its extra.<key> field");
                scratch.pend(field, v);
                counts[slot] -= 1;
            }
            (Outcome::Add(eval), StepTarget::Key(target)) => {
                match scratch.add(plan, target, eval, Overwrite::Raise, true) {
                    Ok(_) => counts[slot] -= 1,
                    // only an invalid value leaves the column to `extra`
                    Err(AddError::InvalidValue) => {}
                    Err(e) => {
                        let value = shown(step, false, cell);
                        return Err(fail(
                            &step.column,
                            add_error_message(&e, target.name.as_str(), &value),
                        ));
                    }
                }
            }
            (Outcome::Broken, _) => {
                return Err(fail(
                    &step.column,
                    "the schema's field name is not a string".into(),
                ));
            }
            _ => unreachable!("a step's outcome matches its target"),
        }
    }

    // event.update(constant_fields)
    scratch.src = Src::Const;
    for (target, first, second, value) in &plan.constants {
        if scratch.add(plan, target, first, Overwrite::Replace, false) != Ok(Added::Yes) {
            scratch
                .add(plan, target, second, Overwrite::Replace, true)
                .map_err(|e| whole(e, target.name.as_str(), &value.to_string()))?;
        }
    }

    if let Some((line_ending, last_line)) = raw {
        if scratch.set.get(plan.raw_field) {
            return Err(whole(AddError::KeyExists, "raw", ""));
        }
        let field = plan.raw_field;
        if !matches!(scratch.values[field], Value::String(_)) {
            scratch.values[field] = Value::String(String::new());
        }
        if let Value::String(s) = &mut scratch.values[field] {
            raw_value(plan, line_ending, last_line, s);
        }
        scratch.set.set(field);
        scratch.sources[field] = Src::Raw;
    }

    let mut any_extra = scratch.pending.any();
    for (slot, &n) in counts.iter().enumerate() {
        if n == 0 {
            continue;
        }
        let cell = row.slot(slot);
        leftover.push((slot, CellClass::of(cell)));
        scratch.src = Src::Cell(slot as u32);
        match cell {
            Some("") => {}
            Some(v) => {
                scratch.pend_str(plan.extra_fields[slot], v);
                any_extra = true;
            }
            None => {
                scratch.pend(plan.extra_fields[slot], &Value::Null);
                any_extra = true;
            }
        }
    }
    if any_extra && scratch.set_extras > 0 {
        return Err(whole(AddError::KeyExists, "extra", ""));
    }
    Ok(())
}

/// `raw`: base64 of the header (quoted) and the row's last physical line, as IntelMQ's
/// `recover_line_csv_dict` gives them, written over `out`.
fn raw_value(plan: &Plan, line_ending: &str, last_line: &str, out: &mut String) {
    let mut recovered = String::with_capacity(plan.quoted_header.len() + last_line.len() + 2);
    recovered.push_str(&plan.quoted_header);
    recovered.push_str(line_ending);
    recovered.push_str(last_line);
    let recovered = pyval::py_strip(&recovered);
    out.clear();
    base64::engine::general_purpose::STANDARD.encode_string(recovered.as_bytes(), out);
}

/// Line breaks (`\r\n`, `\r`, `\n`) in `b`, as [`line_breaks`] counts them, without a
/// byte-by-byte loop when `b` has no `\r` (the usual case).
fn count_line_breaks(b: &[u8], after_cr: bool) -> (u64, u64, bool) {
    if memchr::memchr(b'\r', b).is_some() {
        return line_breaks(b, after_cr);
    }
    let all = memchr::memchr_iter(b'\n', b).count() as u64;
    let lead = b.iter().take_while(|&&c| c == b'\n').count() as u64;
    // a `\n` right after a `\r` that ended the bytes before is part of that break
    let joined = u64::from(after_cr && lead > 0);
    (all - joined, lead - joined, false)
}

/// The streaming parser: one [`Row`] per CSV record.
struct Parser<R: Read> {
    records: Records<R>,
    plan: Arc<Plan>,
    work: Work,
    /// Cells of a row that is not all valid UTF-8, decoded one by one.
    decoded: Vec<String>,
    /// What was altered in the rows read since [`RowStream::take_alterations`] last took
    /// it (the NUL bytes removed are counted by `records`).
    alterations: Alterations,
    path: PathBuf,
    raw: bool,
    /// Reject rows whose required fields have no valid value (see [`Options::strict`]).
    strict: bool,
    line_ending: &'static str,
    /// The 1-based line number at the end of the last record.
    line: u64,
    /// Whether the bytes before ended in `\r` (a following `\n` is the same break).
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
        let mut records = Records::new(input);
        let has_header = records.advance().map_err(|e| FeedError::Format {
            path: path.clone(),
            message: format!("cannot read the header: {e}"),
        })?;
        let header: Vec<String> = if has_header {
            let (text, spans) = records.fields();
            spans
                .iter()
                .map(|&(from, to)| decode_ignore(&text[from..to]).into_owned())
                .collect()
        } else {
            Vec::new()
        };
        let leading_newlines = records.leading_newlines();
        let (breaks, _, after_cr) = line_breaks(records.bytes(), false);
        let plan = if has_header {
            Plan::new(report, header, &observation, &path)?
        } else {
            // an empty report has no rows; nothing to check
            Plan::new(
                &Report {
                    required: Vec::new(),
                    ..report.clone()
                },
                Vec::new(),
                &observation,
                &path,
            )?
        };
        let work = Work::new(&plan);
        Ok(Parser {
            records,
            plan: Arc::new(plan),
            work,
            decoded: Vec::new(),
            alterations: Alterations::default(),
            path,
            raw,
            strict: false,
            line_ending,
            line: 1 + leading_newlines + breaks,
            after_cr,
            done: !has_header,
        })
    }
}

impl<R: Read> Parser<R> {
    /// What was altered since the last call ([`RowStream::take_alterations`]).
    fn alterations_so_far(&mut self) -> Alterations {
        let mut alterations = std::mem::take(&mut self.alterations);
        alterations.nul_bytes += self.records.take_nul_bytes();
        alterations.invalid_utf8_bytes += self.records.take_invalid_utf8();
        alterations
    }
}

impl<R: Read + Send> RowStream for Parser<R> {
    fn next_into(&mut self, event: &mut Event) -> Option<RowInto> {
        if self.done {
            return None;
        }
        match self.records.advance() {
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(RowInto {
                    line: self.line,
                    outcome: Err(RowError {
                        field: None,
                        message: format!(
                            "{}: cannot read the rest of the file: {e}",
                            self.path.display()
                        ),
                        raw: String::new(),
                    }),
                })
            }
            Ok(true) => {
                let bytes = self.records.bytes();
                // a record read as one line has one break, its end: nothing to count
                let (breaks, leading, after_cr) = if self.records.is_one_line() {
                    (1, 0, false)
                } else {
                    count_line_breaks(bytes, self.after_cr)
                };
                let line = self.line + leading;
                self.line += breaks;
                self.after_cr = after_cr;
                // the row's text: for `raw` and for the quarantine of a failed row only
                let row_text = |bytes: &[u8]| -> String {
                    let text = decode_ignore(bytes);
                    text.trim_matches(['\r', '\n']).to_string()
                };
                let text = self.raw.then(|| row_text(bytes));
                // Python's line iterator: the last physical line of the record
                let last_line = text
                    .as_deref()
                    .map_or("", |t| t.rfind(['\r', '\n']).map_or(t, |i| &t[i + 1..]));
                let (cells, spans) = self.records.fields();
                // as `DictReader` reads them: missing cells are absent, extra ones dropped
                if spans.len() != self.plan.columns {
                    let tally = if spans.len() < self.plan.columns {
                        &mut self.alterations.short_rows
                    } else {
                        &mut self.alterations.long_rows
                    };
                    tally.count(line);
                }
                let in_place = self.records.split_in_place();
                let cells = match simdutf8::basic::from_utf8(cells) {
                    // every cell is valid when the whole is and none is cut mid-character
                    Ok(text)
                        if in_place
                            || spans.iter().all(|&(from, to)| {
                                text.is_char_boundary(from) && text.is_char_boundary(to)
                            }) =>
                    {
                        Cells::Text { text, spans }
                    }
                    _ => {
                        self.decoded.clear();
                        for &(from, to) in spans {
                            self.decoded
                                .push(decode_ignore(&cells[from..to]).into_owned());
                        }
                        Cells::Decoded(&self.decoded)
                    }
                };
                let row = RowView {
                    plan: &self.plan,
                    cells,
                };
                let raw = self.raw.then_some((self.line_ending, last_line));
                let plan = &*self.plan;
                let work = &mut self.work;
                if shape::fill(plan, work, &row, raw, event) {
                    return Some(RowInto {
                        line,
                        outcome: Ok(()),
                    });
                }
                let outcome = match parse_row(plan, work, &row, self.strict, raw) {
                    Ok(()) => {
                        // (learnt before the values move into the event)
                        if work.shaped {
                            work.shapes.learn(
                                &plan.order,
                                &work.scratch,
                                &work.codes,
                                &work.leftover,
                            );
                        }
                        fields::refill(event, &plan.order, work.scratch.fields());
                        Ok(())
                    }
                    Err(f) => Err(RowError {
                        field: f.column,
                        message: f.message,
                        raw: text.unwrap_or_else(|| row_text(self.records.bytes())),
                    }),
                };
                Some(RowInto { line, outcome })
            }
        }
    }

    fn take_alterations(&mut self) -> Alterations {
        self.alterations_so_far()
    }
}

impl<R: Read + Send> Iterator for Parser<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let mut event = Event::new();
        self.next_into(&mut event).map(|r| Row {
            line: r.line,
            outcome: r.outcome.map(|()| event),
        })
    }
}
