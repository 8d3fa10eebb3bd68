//! Feed parsers: each turns one input file into a stream of normalised [`Event`]s.
//!
//! Every parser follows one contract:
//!
//! * It streams: rows are read one at a time, whatever the file size.
//! * Bad input is data: a row that cannot be parsed becomes a [`Row`] whose outcome is a
//!   [`RowError`] naming the line and field, and parsing goes on. Only a problem with the
//!   whole file (unreadable, unknown report type, a required column missing from the header)
//!   is a [`FeedError`].
//! * Events carry IntelMQ's field names and value forms.
//!
//! ```no_run
//! use baken_feeds::{open, FeedKind, Options};
//! let rows = open(FeedKind::Shadowserver, "2026-03-24-scan_http_vulnerable-nl-geo-asn.csv".as_ref(), &Options::default())?;
//! for row in rows {
//!     match row.outcome {
//!         Ok(event) => println!("{}", event.to_json_line()),
//!         Err(e) => eprintln!("line {}: {e}", row.line),
//!     }
//! }
//! # Ok::<(), baken_feeds::FeedError>(())
//! ```

mod document;
pub mod intelmq;
pub mod masscan;
pub mod misp;
pub mod nmap;
pub mod nuclei;
pub mod shadowserver;
pub mod stix;
pub mod zgrab2;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use baken_model::Event;

/// The feeds baken reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKind {
    /// Shadowserver CSV reports, mapped by Shadowserver's published schema.
    Shadowserver,
    /// nuclei JSON lines output (`-jsonl`).
    Nuclei,
    /// zgrab2 JSON lines output.
    Zgrab2,
    /// IntelMQ events, one JSON object per line.
    Intelmq,
    /// A STIX 2.1 bundle (JSON) of observed vulnerable systems.
    Stix,
    /// A MISP event export (JSON).
    Misp,
    /// masscan output, JSON (`-oJ`) or list (`-oL`).
    Masscan,
    /// nmap XML output (`-oX`).
    Nmap,
}

impl FeedKind {
    /// All feeds, for help texts.
    pub const ALL: [FeedKind; 8] = [
        FeedKind::Shadowserver,
        FeedKind::Nuclei,
        FeedKind::Zgrab2,
        FeedKind::Intelmq,
        FeedKind::Stix,
        FeedKind::Misp,
        FeedKind::Masscan,
        FeedKind::Nmap,
    ];

    /// The name used on the command line and in the store.
    pub fn name(self) -> &'static str {
        match self {
            FeedKind::Shadowserver => "shadowserver",
            FeedKind::Nuclei => "nuclei",
            FeedKind::Zgrab2 => "zgrab2",
            FeedKind::Intelmq => "intelmq",
            FeedKind::Stix => "stix",
            FeedKind::Misp => "misp",
            FeedKind::Masscan => "masscan",
            FeedKind::Nmap => "nmap",
        }
    }

    /// Whether each row stands on its own line, so that the lines of a row can be kept and
    /// parsed again alone; a feed read as one document (STIX, MISP) keeps its events instead.
    pub fn rows_are_lines(self) -> bool {
        !matches!(self, FeedKind::Stix | FeedKind::Misp)
    }

    /// Guesses the feed from a file name: `.csv` is Shadowserver, `.xml` nmap, and a name
    /// holding a feed's name is that feed; otherwise `None`.
    pub fn guess(path: &Path) -> Option<FeedKind> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.ends_with(".csv") {
            Some(FeedKind::Shadowserver)
        } else if name.contains("nuclei") {
            Some(FeedKind::Nuclei)
        } else if name.contains("zgrab") {
            Some(FeedKind::Zgrab2)
        } else if name.contains("intelmq") {
            Some(FeedKind::Intelmq)
        } else if name.contains("masscan") {
            Some(FeedKind::Masscan)
        } else if name.contains("stix") {
            Some(FeedKind::Stix)
        } else if name.contains("misp") {
            Some(FeedKind::Misp)
        } else if name.contains("nmap") || name.ends_with(".xml") {
            Some(FeedKind::Nmap)
        } else {
            None
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FeedKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown feed {s:?}; use one of {}",
                    FeedKind::ALL.map(FeedKind::name).join(", ")
                )
            })
    }
}

/// Options common to all feeds.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Shadowserver: the report type (`scan_http_vulnerable`); taken from the file name when
    /// `None`.
    pub report: Option<String>,
    /// Shadowserver: the schema file; the copy shipped beside the binary / in `../shared` when
    /// `None` (see [`shadowserver::Schema::default_path`]).
    pub schema: Option<PathBuf>,
    /// Add IntelMQ's `raw` field (base64 of the input row).
    pub raw: bool,
    /// Value of `time.observation`; the current time when `None`.
    pub observation_time: Option<String>,
    /// Shadowserver: reject a row whose required field (e.g. `ip`) has no valid value.
    /// IntelMQ keeps such a row as an event without the field (the raw value lands in
    /// `extra`), and so does this parser when `strict` is off (`baken parse --lenient`,
    /// the IntelMQ differential test); `baken ingest` and `baken parse` set it, so that one
    /// row is valid or not whichever command reads it, and a rejected row is quarantined
    /// or reported with the reason.
    pub strict: bool,
}

/// One input row: its line number (1-based, first line of the record) and what came of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line number where the record starts.
    pub line: u64,
    /// The event, or why the row was rejected.
    pub outcome: Result<Event, RowError>,
}

/// Why one row was rejected. The row is quarantined; parsing goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", field.as_ref().map(|f| format!("field {f:?}: ")).unwrap_or_default())]
pub struct RowError {
    /// The input field (column or JSON key) at fault, when one is.
    pub field: Option<String>,
    /// What is wrong, in lower case, without a trailing period.
    pub message: String,
    /// The row as read, for the quarantine.
    pub raw: String,
}

/// A problem with a whole input file.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not in the form the feed expects.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
}

/// One row read into a caller's event by [`RowStream::next_into`].
#[derive(Debug, Clone, PartialEq)]
pub struct RowInto {
    /// 1-based line number where the record starts.
    pub line: u64,
    /// `Ok` when the event was filled, else why the row was rejected (the event is then
    /// left as it was).
    pub outcome: Result<(), RowError>,
}

/// What a parser changed in the input as it read it, the way IntelMQ changes it, so that
/// nothing is altered without a trace: callers add these up and report them beside the
/// rows read and rejected. Only Shadowserver reports are altered so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Alterations {
    /// NUL bytes removed from the file (IntelMQ: `.translate({0: None})`).
    pub nul_bytes: u64,
    /// Bytes that are not UTF-8, dropped from the file before it is read as CSV (IntelMQ:
    /// `decode('utf-8', 'ignore')`).
    pub invalid_utf8_bytes: u64,
    /// Rows with fewer cells than the header; the missing cells were read as absent
    /// (`csv.DictReader` fills them with `None`).
    pub short_rows: Tally,
    /// Rows with more cells than the header; the cells past the header were dropped
    /// (`csv.DictReader` puts them under the key `None`, which IntelMQ never reads).
    pub long_rows: Tally,
}

/// How many rows had one kind of [`Alterations`], and the first of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// The rows.
    pub rows: u64,
    /// The line where the first of them starts.
    pub first_line: Option<u64>,
}

impl Tally {
    /// Counts the row starting at `line`.
    pub fn count(&mut self, line: u64) {
        self.rows += 1;
        self.first_line = Some(self.first_line.map_or(line, |l| l.min(line)));
    }

    /// Adds the rows `other` counted.
    pub fn add(&mut self, other: Tally) {
        self.rows += other.rows;
        self.first_line = match (self.first_line, other.first_line) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

impl Alterations {
    /// Whether nothing was altered.
    pub fn is_empty(&self) -> bool {
        *self == Alterations::default()
    }

    /// Adds what `other` counted.
    pub fn add(&mut self, other: Alterations) {
        self.nul_bytes += other.nul_bytes;
        self.invalid_utf8_bytes += other.invalid_utf8_bytes;
        self.short_rows.add(other.short_rows);
        self.long_rows.add(other.long_rows);
    }

    /// The alterations in words, one phrase per kind that happened (`2 NUL bytes removed`,
    /// `3 rows short (cells missing, first at line 7)`); empty when nothing was altered.
    pub fn phrases(&self) -> Vec<String> {
        let mut out = Vec::new();
        let bytes = |n: u64| if n == 1 { "byte" } else { "bytes" };
        if self.nul_bytes > 0 {
            let n = self.nul_bytes;
            out.push(format!("{n} NUL {} removed", bytes(n)));
        }
        if self.invalid_utf8_bytes > 0 {
            let n = self.invalid_utf8_bytes;
            out.push(format!("{n} {} of invalid UTF-8 dropped", bytes(n)));
        }
        let tallies = [
            (self.short_rows, "short (cells missing"),
            (self.long_rows, "long (cells past the header dropped"),
        ];
        for (tally, what) in tallies {
            if tally.rows > 0 {
                let first = tally
                    .first_line
                    .map(|l| format!(", first at line {l}"))
                    .unwrap_or_default();
                let rows = if tally.rows == 1 { "row" } else { "rows" };
                out.push(format!("{} {rows} {what}{first})", tally.rows));
            }
        }
        out
    }
}

/// A stream of rows: an iterator of [`Row`]s that can also fill one event the caller keeps
/// ([`RowStream::next_into`]), which saves a fresh event per row where the caller handles
/// each event before reading the next (writers, filters, counters).
pub trait RowStream: Iterator<Item = Row> + Send {
    /// Reads the next row into `event`, replacing its fields; `None` at the end.
    fn next_into(&mut self, event: &mut Event) -> Option<RowInto> {
        self.next().map(|row| RowInto {
            line: row.line,
            outcome: row.outcome.map(|e| *event = e),
        })
    }

    /// What the parser altered in the input read since the last call (see
    /// [`Alterations`]), and forgets it: a caller adds these up as it goes, chunk by chunk
    /// under [`par_chunks`]. A feed that alters nothing gives none.
    fn take_alterations(&mut self) -> Alterations {
        Alterations::default()
    }
}

/// A stream of rows from one file.
pub type Rows = Box<dyn RowStream>;

/// Parses `path` as a feed of `kind` on `threads` threads where the feed allows it
/// (Shadowserver reports; see [`shadowserver::par_chunks`]): `work` runs on a worker thread
/// for each chunk of rows, `done` receives its results in file order on the calling thread
/// and returns whether to go on. `work` is meant to read its chunk to the end; rows it
/// leaves are skipped. Other feeds, and `threads` ≤ 1, run `work` on the calling thread, a
/// chunk of [`CHUNK_ROWS`] rows at a time.
pub fn par_chunks<T, W, D>(
    kind: FeedKind,
    path: &Path,
    options: &Options,
    threads: usize,
    work: W,
    done: D,
) -> Result<(), FeedError>
where
    T: Send,
    W: Fn(&mut dyn RowStream) -> T + Sync,
    D: FnMut(T) -> bool,
{
    match kind {
        FeedKind::Shadowserver => shadowserver::par_chunks(path, options, threads, work, done),
        _ => {
            let mut rows = open(kind, path, options)?;
            in_chunks(&mut *rows, work, done);
            Ok(())
        }
    }
}

/// Rows per chunk of [`par_chunks`]: large enough that handing a chunk between threads is
/// cheap next to parsing it, small enough that the workers start at once and what a chunk's
/// work returns stays small.
pub(crate) const CHUNK_ROWS: usize = 2048;

/// [`par_chunks`] on the calling thread: `work` over [`CHUNK_ROWS`] rows at a time.
pub(crate) fn in_chunks<T, W, D>(rows: &mut dyn RowStream, work: W, mut done: D)
where
    W: Fn(&mut dyn RowStream) -> T,
    D: FnMut(T) -> bool,
{
    loop {
        let mut chunk = Limited {
            rows: &mut *rows,
            left: CHUNK_ROWS,
            ended: false,
        };
        let out = work(&mut chunk);
        // rows `work` left unread are skipped, as a worker thread skips them
        while chunk.left > 0 && !chunk.ended {
            chunk.next();
        }
        if !done(out) || chunk.ended {
            return;
        }
    }
}

/// At most `left` rows of `rows`.
struct Limited<'a> {
    rows: &'a mut dyn RowStream,
    left: usize,
    ended: bool,
}

impl Iterator for Limited<'_> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.left == 0 {
            return None;
        }
        let row = self.rows.next();
        match row {
            Some(_) => self.left -= 1,
            None => self.ended = true,
        }
        row
    }
}

impl RowStream for Limited<'_> {
    fn next_into(&mut self, event: &mut Event) -> Option<RowInto> {
        if self.left == 0 {
            return None;
        }
        let row = self.rows.next_into(event);
        match row {
            Some(_) => self.left -= 1,
            None => self.ended = true,
        }
        row
    }

    fn take_alterations(&mut self) -> Alterations {
        self.rows.take_alterations()
    }
}

/// Opens `path` as a feed of `kind`.
pub fn open(kind: FeedKind, path: &Path, options: &Options) -> Result<Rows, FeedError> {
    let rows = match kind {
        FeedKind::Shadowserver => shadowserver::open(path, options),
        FeedKind::Nuclei => nuclei::open(path, options),
        FeedKind::Zgrab2 => zgrab2::open(path, options),
        FeedKind::Intelmq => intelmq::open(path, options),
        FeedKind::Stix => stix::open(path, options),
        FeedKind::Misp => misp::open(path, options),
        FeedKind::Masscan => masscan::open(path, options),
        FeedKind::Nmap => nmap::open(path, options),
    };
    match &rows {
        Ok(_) => tracing::debug!(
            feed = kind.name(),
            file = %path.display(),
            report = options.report.as_deref().unwrap_or(""),
            strict = options.strict,
            "feed opened"
        ),
        Err(e) => {
            tracing::debug!(feed = kind.name(), file = %path.display(), error = %e, "feed refused")
        }
    }
    rows
}

/// The TLP labels a file declares for its rows (STIX markings, MISP `tlp:` tags): the most
/// restrictive one, and how many accepted rows carry none. Feeds without labels of their own
/// declare nothing.
pub fn declared_tlp(kind: FeedKind, path: &Path, options: &Options) -> Result<Declared, FeedError> {
    let mut declared = Declared::default();
    if kind.rows_are_lines() {
        return Ok(declared);
    }
    for row in open(kind, path, options)? {
        let Ok(event) = row.outcome else { continue };
        match event
            .get_str("tlp")
            .and_then(|t| t.parse::<baken_model::Tlp>().ok())
        {
            Some(t) => declared.most_restrictive = declared.most_restrictive.max(Some(t)),
            None => declared.unlabelled += 1,
        }
    }
    Ok(declared)
}

/// What [`declared_tlp`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Declared {
    /// The most restrictive label a row carries.
    pub most_restrictive: Option<baken_model::Tlp>,
    /// Accepted rows that carry none.
    pub unlabelled: u64,
}

/// Parses `text` as [`open`] parses a file of `kind` named `name`: the same rows, events and
/// errors, line numbers counted from the start of `text`. A Shadowserver text starts with its
/// header. This is how a stored row is read again as the event it was.
pub fn read_text(
    kind: FeedKind,
    name: &Path,
    text: Vec<u8>,
    options: &Options,
) -> Result<Rows, FeedError> {
    Ok(match kind {
        FeedKind::Shadowserver => shadowserver::read_text(name, text, options)?,
        FeedKind::Nuclei => nuclei::read_text(text, options),
        FeedKind::Zgrab2 => zgrab2::read_text(text, options),
        FeedKind::Intelmq => intelmq::read_text(text, options),
        FeedKind::Stix => stix::read_text(name, text, options)?,
        FeedKind::Misp => misp::read_text(name, text, options)?,
        FeedKind::Masscan => masscan::read_text(text, options),
        FeedKind::Nmap => nmap::read_text(text, options),
    })
}
