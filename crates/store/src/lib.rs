//! baken's system of record. This is the only crate that touches a database.
//!
//! The [`Store`] trait is the interface the pipeline uses; [`SqliteStore`] is the embedded
//! default (one file, `baken.db`, in the data directory). `Store` is the union of one trait
//! per concern — [`RegistryStore`], [`FindingStore`], [`MessageStore`], [`AdvisoryStore`],
//! [`InventoryStore`], [`AuditStore`], [`TimelineStore`], [`SyncStateStore`] — each with its
//! invariants and its checks in [`contract`], so a second engine (PostgreSQL) is built and
//! checked part by part. Their methods need the traits in scope: [`prelude`].
//!
//! What is kept:
//!
//! * ingest runs with their reconciled counts (`read = stored + duplicate + quarantined`);
//! * **findings**: one vulnerable or exposed service of one owner for one incident — the key
//!   is (incident, address, port, transport) — with its owner, first and last time seen,
//!   how often it was seen and its state;
//! * **observations**: each input row that saw a finding (its `time.source`), pointing at
//!   the row as it came in. Rows are kept compactly: the input text of each batch,
//!   compressed with zstd (a *chunk*), from which a row is read again as the event it was;
//!   a row seen again at the same `time.source` is a duplicate;
//! * quarantined rows with file, line, field and reason;
//! * the registry of organisations, the routing table and public abuse records;
//! * one row per outgoing message with its delivery state, so a restart never sends a digest
//!   twice;
//! * a timeline of steps per incident (feed received, stored, digest written, …).
//!
//! ```
//! use baken_store::SqliteStore;
//! use baken_store::prelude::*;
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = SqliteStore::open(dir.path()).unwrap();
//! assert_eq!(store.organisations().unwrap().len(), 0);
//! ```

pub mod audit;
pub mod contract;
pub mod copy;
pub mod keys;
pub mod postgres;
mod schema;
mod sqlite;

use baken_model::{AbuseRecord, Attribution, Event, Organisation, Owner, RoutedPrefix, Rule, Tlp};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database {path}: {source}")]
    Database {
        /// The database file.
        path: String,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL database failed.
    #[error("database {url}: {source}")]
    Postgres {
        /// The database, its URL without a password.
        url: String,
        /// The cause.
        #[source]
        source: ::postgres::Error,
    },
    /// No connection to the PostgreSQL database could be had.
    #[error("database {url}: no connection: {detail}")]
    Pool {
        /// The database, its URL without a password.
        url: String,
        /// Why.
        detail: String,
    },
    /// The data directory could not be created.
    #[error("data directory {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A stored value could not be decoded (a bug, or a database edited by hand).
    #[error("stored {what} is corrupt: {detail}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Details.
        detail: String,
    },
}

impl StoreError {
    /// A stored value that is not one baken writes, in `column` of row `row` of `table`:
    /// [`StoreError::Corrupt`] naming all three and the value. Every engine reads stored
    /// enums (message state and kind, finding state, cause, chunk kind, owner kind and rule)
    /// through this: a value that cannot be read is an error, never a default.
    pub fn unreadable(
        what: &'static str,
        table: &str,
        row: impl std::fmt::Display,
        column: &str,
        value: &str,
    ) -> Self {
        StoreError::Corrupt {
            what,
            detail: format!(
                "table {table}, row {row}, column {column}: {value:?} is not a value baken writes \
                 (restore the database from a backup, or correct the value by hand)"
            ),
        }
    }
}

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// One accepted row, reduced to what the store keeps of it: the finding it observes (per
/// incident), when, and whose it is. The row itself is kept in its [`KeptChunk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Its place among the rows of its chunk (after the chunk's skipped ones).
    pub row: u32,
    /// The finding key: `source.ip`, else `source.fqdn`, else empty.
    pub addr: String,
    /// `source.port`, 0 when none.
    pub port: u16,
    /// `protocol.transport`, empty when none (the usual ones without an allocation).
    pub transport: std::borrow::Cow<'static, str>,
    /// `time.source` (Unix seconds), when the row has one.
    pub seen_at: Option<i64>,
    /// Who owns it.
    pub owner: Owner,
    /// By which rule.
    pub rule: Rule,
    /// The incidents it belongs to (CVE ids, else its classification).
    pub incidents: std::sync::Arc<[String]>,
}

impl Observed {
    /// What the store keeps of `event`, the `row`-th row of its chunk.
    pub fn of(
        event: &Event,
        row: u32,
        attribution: &Attribution,
        incidents: std::sync::Arc<[String]>,
    ) -> Self {
        let (addr, port, transport) = keys::finding_key(event);
        Observed {
            row,
            addr: addr.to_string(),
            port,
            transport: match transport {
                "tcp" => "tcp".into(),
                "udp" => "udp".into(),
                "" => "".into(),
                other => other.to_string().into(),
            },
            seen_at: keys::seen_at(event),
            owner: attribution.owner.clone(),
            rule: attribution.rule,
            incidents,
        }
    }
}

/// The rows of part of a batch, kept compressed so that each can be read again as the event
/// it was, and what they observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptChunk {
    /// How the rows are kept.
    pub kind: ChunkKind,
    /// The line its text starts on (for events: the first event's line).
    pub first_line: u64,
    /// Rows at its start that belong to the chunk before (a line that gave several rows
    /// split between two chunks).
    pub skip: u32,
    /// Its own rows, accepted and quarantined (after the skipped ones).
    pub rows: u32,
    /// The text, zstd-compressed.
    pub data: Vec<u8>,
    /// The accepted rows.
    pub observed: Vec<Observed>,
}

/// zstd level of kept rows: level 1 keeps a Shadowserver row in about 30 bytes, at several
/// hundred MB/s; higher levels save little on such text and cost ingest time.
const ZSTD_LEVEL: i32 = 1;

impl KeptChunk {
    /// Input text: whole lines from `first_line` on, which parsed again after the run's
    /// header give the chunk's rows in order, the first `skip` of them belonging to the
    /// chunk before, the next `rows` its own.
    pub fn text(
        first_line: u64,
        skip: u32,
        rows: u32,
        text: &[u8],
        observed: Vec<Observed>,
    ) -> Result<Self> {
        Ok(KeptChunk {
            kind: ChunkKind::Text,
            first_line,
            skip,
            rows,
            data: compress(text)?,
            observed,
        })
    }

    /// Events baken made itself (no input text), kept as IntelMQ JSON lines; row `i` of
    /// `observed` must be event `i`.
    pub fn events(first_line: u64, events: &[&Event], observed: Vec<Observed>) -> Result<Self> {
        let mut text = Vec::new();
        for e in events {
            e.write_json_line(&mut text);
            text.push(b'\n');
        }
        Ok(KeptChunk {
            kind: ChunkKind::Events,
            first_line,
            skip: 0,
            rows: events.len() as u32,
            data: compress(&text)?,
            observed,
        })
    }
}

fn compress(text: &[u8]) -> Result<Vec<u8>> {
    zstd::bulk::compress(text, ZSTD_LEVEL).map_err(|e| StoreError::Corrupt {
        what: "kept rows",
        detail: format!("cannot compress: {e}"),
    })
}

/// One batch to store, atomically: chunks of kept rows with what they observed, and the
/// rows quarantined.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The chunks.
    pub chunks: Vec<KeptChunk>,
    /// The rejected rows.
    pub quarantined: Vec<QuarantinedRow>,
    /// The batch's place in its run, for a batch that may be offered more than once (a chunk
    /// of a distributed ingest, delivered again after a worker died): the store records the
    /// counts of (run, part) in the batch's transaction, and a part already recorded stores
    /// nothing and answers the counts it was stored with. `None`: an ordinary batch.
    pub part: Option<u64>,
}

impl Batch {
    /// Rows in the batch: accepted and quarantined.
    pub fn rows(&self) -> usize {
        self.chunks.iter().map(|c| c.observed.len()).sum::<usize>() + self.quarantined.len()
    }
}

/// One rejected row, to be quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedRow {
    /// The file it came from.
    pub file: String,
    /// The line it starts on.
    pub line: u64,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Why it was rejected.
    pub reason: String,
    /// The row as read.
    pub raw: String,
}

/// A quarantined row as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineRecord {
    /// The ingest run that read it.
    pub run: i64,
    /// The file it came from.
    pub file: String,
    /// The line it starts on.
    pub line: u64,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Why it was rejected.
    pub reason: String,
    /// The row as read.
    pub raw: String,
}

/// What storing one batch did, counted in rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    /// Rows that gave at least one new observation.
    pub stored: u64,
    /// Rows whose every observation was already in the store (same finding, same
    /// `time.source`).
    pub duplicate: u64,
    /// Rows quarantined.
    pub quarantined: u64,
    /// Findings seen for the first time.
    pub new_findings: u64,
    /// Findings seen again after they were verified fixed (now `reopened`).
    #[serde(default)]
    pub reopened: u64,
}

impl std::ops::AddAssign for BatchCounts {
    fn add_assign(&mut self, other: Self) {
        self.stored += other.stored;
        self.duplicate += other.duplicate;
        self.quarantined += other.quarantined;
        self.new_findings += other.new_findings;
        self.reopened += other.reopened;
    }
}

/// How an ingest run's rows are parsed, kept with the run so that a stored row can be read
/// again as the event it was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSource {
    /// The feed (`shadowserver`, `nuclei`, `zgrab2`, `intelmq`, or `inventory` for events
    /// baken made).
    pub feed: String,
    /// The Shadowserver report type, when one was named or detected.
    #[serde(default)]
    pub report: Option<String>,
    /// The lines before the first row (a CSV header), as read.
    #[serde(default)]
    pub header: String,
    /// How many lines `header` holds.
    #[serde(default)]
    pub header_lines: u64,
    /// `time.observation` of the run's events.
    #[serde(default)]
    pub observation_time: Option<String>,
    /// Whether events carry IntelMQ's `raw` field.
    #[serde(default)]
    pub raw: bool,
}

/// Totals over the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Findings.
    pub findings: u64,
    /// Observations (rows that saw a finding).
    pub observations: u64,
    /// Quarantined rows.
    pub quarantined: u64,
}

/// The lifecycle state of a finding.
///
/// `open` (seen, nobody told yet) → `notified` → `acknowledged` → `mitigation-claimed` →
/// `verified-fixed`; `reopened` when seen again after being verified fixed, `overdue` when
/// still seen after the policy's deadline, `escalated` when that was passed on.
/// [`FindingState::may_become`] holds the rules; every change is a [`Transition`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingState {
    /// Seen; nobody has been told yet.
    Open,
    /// A message naming it was delivered.
    Notified,
    /// The recipient said it received the message.
    Acknowledged,
    /// The recipient said it is fixed; no later scan has confirmed it yet.
    MitigationClaimed,
    /// Later reports of the same feed and report type no longer held it.
    VerifiedFixed,
    /// Seen again after it was verified fixed.
    Reopened,
    /// Still seen after the policy's deadline.
    Overdue,
    /// Overdue and passed on to whom the policy names.
    Escalated,
}

impl FindingState {
    /// Every state, in lifecycle order.
    pub const ALL: [FindingState; 8] = [
        FindingState::Open,
        FindingState::Notified,
        FindingState::Acknowledged,
        FindingState::MitigationClaimed,
        FindingState::VerifiedFixed,
        FindingState::Reopened,
        FindingState::Overdue,
        FindingState::Escalated,
    ];

    /// Stable name, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Notified => "notified",
            FindingState::Acknowledged => "acknowledged",
            FindingState::MitigationClaimed => "mitigation-claimed",
            FindingState::VerifiedFixed => "verified-fixed",
            FindingState::Reopened => "reopened",
            FindingState::Overdue => "overdue",
            FindingState::Escalated => "escalated",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the finding still needs fixing as far as anyone has said: not verified fixed
    /// and not claimed fixed.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            FindingState::MitigationClaimed | FindingState::VerifiedFixed
        )
    }

    /// How far the owner has come: nobody told (0), told (1), acknowledged (2), claimed
    /// fixed (3), verified fixed (4).
    fn progress(self) -> u8 {
        match self {
            FindingState::Open | FindingState::Reopened => 0,
            FindingState::Notified | FindingState::Overdue | FindingState::Escalated => 1,
            FindingState::Acknowledged => 2,
            FindingState::MitigationClaimed => 3,
            FindingState::VerifiedFixed => 4,
        }
    }

    /// Whether a finding in this state may move to `to`, or why not:
    ///
    /// * `notified` only from `open` or `reopened` (nobody told yet);
    /// * `acknowledged` and `mitigation-claimed` only forward (a claim is not undone by a
    ///   late acknowledgement);
    /// * `verified-fixed` from any other state (a rescan outranks what was said);
    /// * `reopened` only from `verified-fixed`;
    /// * `overdue` from any state that is not fixed, claimed fixed or already overdue or
    ///   escalated; `escalated` only from `overdue`.
    pub fn may_become(self, to: FindingState) -> std::result::Result<(), String> {
        use FindingState::*;
        let ok = match to {
            Open => false,
            Notified => matches!(self, Open | Reopened),
            Acknowledged | MitigationClaimed => to.progress() > self.progress(),
            VerifiedFixed => self != VerifiedFixed,
            Reopened => self == VerifiedFixed,
            Overdue => matches!(self, Open | Notified | Acknowledged | Reopened),
            Escalated => self == Overdue,
        };
        if ok {
            Ok(())
        } else if self == to {
            Err(format!("it is already {}", self.as_str()))
        } else {
            Err(format!(
                "a finding that is {} does not become {}",
                self.as_str(),
                to.as_str()
            ))
        }
    }
}

/// What caused a change of a finding's state (or a note on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// A message was delivered (reference: its key).
    Message,
    /// An ingested report held it, or no longer did (reference: the run).
    Report,
    /// A reply from the recipient (reference: its Message-ID).
    Reply,
    /// A person said so (`baken finding ack|fixed|note --by`).
    Analyst,
    /// The policy's deadline passed (reference: the deadline).
    Deadline,
    /// The exercise the finding belongs to ended (reference: the exercise's id).
    Exercise,
    /// A check found the lookalike domain name no longer resolving or serving (reference:
    /// the check's input).
    TakenDown,
}

impl Cause {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Message => "message",
            Cause::Report => "report",
            Cause::Reply => "reply",
            Cause::Analyst => "analyst",
            Cause::Deadline => "deadline",
            Cause::Exercise => "exercise",
            Cause::TakenDown => "taken-down",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Cause::Message,
            Cause::Report,
            Cause::Reply,
            Cause::Analyst,
            Cause::Deadline,
            Cause::Exercise,
            Cause::TakenDown,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// A change of a finding's state to ask for, or a note (`to` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The finding.
    pub finding: i64,
    /// The new state; `None` for a note that changes nothing.
    pub to: Option<FindingState>,
    /// What caused it.
    pub cause: Cause,
    /// What exactly: a message key, a run id, a Message-ID.
    pub reference: Option<String>,
    /// Who (a person, a party).
    pub by: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

/// What became of an asked-for [`Transition`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum TransitionOutcome {
    /// Recorded (a note, or a state change from `from`).
    Applied {
        /// The state before.
        from: FindingState,
    },
    /// Not allowed from the finding's state; nothing was recorded.
    Refused {
        /// The finding's state.
        from: FindingState,
        /// Why.
        why: String,
    },
    /// No finding has that id.
    NoSuchFinding,
}

/// A recorded change of a finding's state, or a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransitionRecord {
    /// The finding.
    pub finding: i64,
    /// When (RFC 3339).
    pub at: String,
    /// The state before.
    pub from: FindingState,
    /// The state after (the same for a note).
    pub to: FindingState,
    /// What caused it.
    pub cause: Cause,
    /// What exactly (a message key, a run id, a Message-ID).
    pub reference: Option<String>,
    /// Who.
    pub by: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

/// What counting a report's absences did ([`FindingStore::count_absences`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Absences {
    /// Findings of the report's feed and type, last seen before it, that it did not hold.
    pub missing: u64,
    /// Those that became `verified-fixed` with it.
    pub verified_fixed: Vec<i64>,
}

/// Which findings to list. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    /// Of this incident.
    pub incident: Option<String>,
    /// Owned by this organisation.
    pub org: Option<String>,
    /// In this state.
    pub state: Option<FindingState>,
    /// Last seen at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// This finding only.
    pub id: Option<i64>,
}

/// Where a row is kept: a chunk and the row's place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowRef {
    /// The chunk.
    pub chunk: i64,
    /// The row's place among the chunk's rows (after its skipped ones).
    pub row: u32,
}

/// A stored finding, without its event (see [`FindingStore::chunk`] to read the row again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingRecord {
    /// Store id.
    pub id: i64,
    /// The incident.
    pub incident: String,
    /// `source.ip`, else `source.fqdn`, else empty.
    pub addr: String,
    /// `source.port`, 0 when none.
    pub port: u16,
    /// `protocol.transport`, empty when none.
    pub transport: String,
    /// Who owns it and by which rule, as last attributed; the reason is empty (it is
    /// worked out again from the event when read, see `baken_pipeline::findings`).
    pub attribution: Attribution,
    /// First `time.source` seen (Unix seconds).
    pub first_seen: i64,
    /// Last `time.source` seen (Unix seconds).
    pub last_seen: i64,
    /// Observations.
    pub times_seen: u64,
    /// Lifecycle state.
    pub state: FindingState,
    /// The row of its latest observation.
    pub last_row: RowRef,
    /// The ingest run of that row.
    pub run: i64,
}

/// One stored observation of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservationRecord {
    /// The finding.
    pub finding: i64,
    /// `time.source` (Unix seconds; 0 when the row had none).
    pub seen_at: i64,
    /// Where the row is kept.
    pub row: RowRef,
}

/// A chunk of kept rows, decompressed, with what is needed to parse it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Store id.
    pub id: i64,
    /// The ingest run.
    pub run: i64,
    /// How its rows are kept: `text` or `events`.
    pub kind: ChunkKind,
    /// The line its text starts on.
    pub first_line: u64,
    /// Rows at its start that belong to the chunk before.
    pub skip: u32,
    /// Its own rows, accepted and quarantined.
    pub rows: u32,
    /// The kept rows: input text, or IntelMQ JSON lines.
    pub data: Vec<u8>,
}

/// How a chunk keeps its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChunkKind {
    /// The input text, parsed again with the run's [`RunSource`].
    Text,
    /// IntelMQ events, one JSON object per line.
    Events,
}

/// An ingest run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// Store id.
    pub id: i64,
    /// The input file.
    pub file: String,
    /// How it was parsed.
    pub source: RunSource,
    /// The TLP label and supplier of its items.
    pub label: Label,
    /// When it started (RFC 3339).
    pub started_at: String,
}

impl RunRecord {
    /// A run from the columns of `ingest_run` as every engine stores them: `source` the
    /// `RunSource` as JSON (none for runs stored before it existed: the feed alone), `tlp`
    /// the label's name (none for runs stored before labels: AMBER, as scan feeds are shared).
    pub(crate) fn from_columns(
        id: i64,
        file: String,
        feed: String,
        started_at: String,
        tlp: Option<String>,
        supplied_by: Option<String>,
        source: Option<String>,
    ) -> Result<RunRecord> {
        let source = match source {
            Some(json) => serde_json::from_str(&json).map_err(|e| StoreError::Corrupt {
                what: "ingest run",
                detail: format!("run {id}: {e}"),
            })?,
            None => RunSource {
                feed,
                ..RunSource::default()
            },
        };
        let tlp = match tlp {
            Some(t) => t
                .parse()
                .map_err(|_| StoreError::unreadable("TLP label", "ingest_run", id, "tlp", &t))?,
            None => Label::default().tlp,
        };
        Ok(RunRecord {
            id,
            file,
            source,
            label: Label { tlp, supplied_by },
            started_at,
        })
    }

    /// Where its items came from: feed, file and who supplied them.
    pub fn provenance(&self) -> String {
        match &self.label.supplied_by {
            Some(by) => format!("{} {} (supplied by {by})", self.source.feed, self.file),
            None => format!("{} {}", self.source.feed, self.file),
        }
    }
}

/// How an input is labelled when it comes in: its TLP and who supplied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// The TLP label every item from the input carries.
    pub tlp: Tlp,
    /// Who supplied it (a peer CSIRT, a researcher), when not a feed of our own.
    pub supplied_by: Option<String>,
}

impl Default for Label {
    /// TLP:AMBER, as scan feeds such as Shadowserver's reports are shared.
    fn default() -> Self {
        Self {
            tlp: Tlp::Amber,
            supplied_by: None,
        }
    }
}

/// A finding with the event of its latest observation, as the notifier needs it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    /// Store id.
    pub id: i64,
    /// The event of its latest observation, or some of its fields (see `partial`).
    pub event: Event,
    /// Where the event is kept when `event` holds only some of its fields (a national
    /// plan holds its findings' addresses and reads the rest as each message is written);
    /// `None` when `event` is all a reader asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<RowRef>,
    /// Who owns it.
    pub attribution: Attribution,
    /// The TLP label it came in with (`None` for data stored before labels existed).
    pub tlp: Option<Tlp>,
    /// Where it came from: feed, file and who supplied it, shared by the findings of one
    /// input.
    pub provenance: std::sync::Arc<str>,
    /// Its lifecycle state.
    pub state: FindingState,
    /// First `time.source` seen (Unix seconds).
    pub first_seen: i64,
    /// Last `time.source` seen (Unix seconds).
    pub last_seen: i64,
}

/// Delivery state of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageState {
    /// Recorded, delivery not yet attempted.
    Pending,
    /// Delivery started; if a run stops here, whether it arrived is not known.
    Sending,
    /// Delivered.
    Sent,
    /// Delivery failed permanently.
    Failed,
}

impl MessageState {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => MessageState::Pending,
            "sending" => MessageState::Sending,
            "sent" => MessageState::Sent,
            "failed" => MessageState::Failed,
            _ => return None,
        })
    }
}

/// What a message is in the exchange with its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MessageKind {
    /// The first message to a recipient about an incident.
    First,
    /// Findings the recipient has not been told about yet.
    FollowUp,
    /// Findings still seen after the policy's deadline.
    Reminder,
    /// Overdue findings passed on to whom the policy names.
    Escalation,
    /// Fixed after exploitation began: please check for compromise.
    Compromise,
    /// A request to an abuse desk to take down a lookalike domain name.
    Takedown,
}

impl MessageKind {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::First => "first",
            MessageKind::FollowUp => "follow-up",
            MessageKind::Reminder => "reminder",
            MessageKind::Escalation => "escalation",
            MessageKind::Compromise => "compromise",
            MessageKind::Takedown => "takedown",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            MessageKind::First,
            MessageKind::FollowUp,
            MessageKind::Reminder,
            MessageKind::Escalation,
            MessageKind::Compromise,
            MessageKind::Takedown,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One finding a message carries, and in which form (`full`, `own-assets`, `aggregate`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageFinding {
    /// The finding.
    pub finding: i64,
    /// The form it was disclosed in.
    pub form: String,
}

/// A finding disclosed (or being disclosed) to a party by a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    /// The message's key.
    pub message: String,
    /// The recipient party.
    pub party: String,
    /// The finding.
    pub finding: i64,
    /// The form.
    pub form: String,
    /// The message's state.
    pub state: MessageState,
}

/// One outgoing message and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Idempotency key: one per recipient, incident and round.
    pub key: String,
    /// The ticket of the exchange with this recipient about this incident (see
    /// [`MessageStore::ticket`]); `None` for messages recorded before tickets existed.
    #[serde(default)]
    pub ticket: Option<i64>,
    /// Which message of the exchange it is: 1 for the first; 0 for messages recorded before
    /// rounds existed.
    #[serde(default)]
    pub round: u32,
    /// What it is.
    #[serde(default = "first_kind")]
    pub kind: MessageKind,
    /// The incident.
    pub incident: String,
    /// Recipient address.
    pub recipient: String,
    /// The organisation id, or the abuse contact's holder.
    pub party: String,
    /// How the recipient was found (`organisation`, `abuse`).
    pub path: String,
    /// Number of findings in the digest.
    pub findings: u64,
    /// Delivery state.
    pub state: MessageState,
    /// Where it went (outbox path, SMTP relay), or the error.
    pub detail: Option<String>,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
    /// When it was delivered (RFC 3339).
    pub sent_at: Option<String>,
}

fn first_kind() -> MessageKind {
    MessageKind::First
}

/// One step of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineStep {
    /// The incident (or `*` for steps not tied to one).
    pub incident: String,
    /// What happened (`feed-received`, `ingested`, `digest-written`, …).
    pub step: String,
    /// When (RFC 3339 with microseconds, UTC).
    pub at: String,
    /// Details.
    pub detail: String,
}

/// A summary of one ingest run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Store id of the run.
    pub id: i64,
    /// The input file.
    pub file: String,
    /// The feed.
    pub feed: String,
    /// Rows read.
    pub read: u64,
    /// Counts.
    pub counts: BatchCounts,
}

/// What [`FindingStore::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// Findings last seen before the cut-off and left with no observation.
    pub findings: u64,
    /// Observations.
    pub observations: u64,
    /// Chunks of kept rows left with no observation.
    pub chunks: u64,
    /// Quarantined rows.
    pub quarantined: u64,
}

/// One imported revision of an advisory. The document is kept as it came, so the advisory
/// can always be re-read from the original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryRecord {
    /// The publisher's identifier (CSAF `tracking.id`, CVE id, OSV id).
    pub id: String,
    /// SHA-256 of the document, hex.
    pub sha256: String,
    /// The document's revision number.
    pub revision: Option<String>,
    /// `csaf`, `cve5` or `osv`.
    pub format: String,
    /// When this revision was released (RFC 3339).
    pub released: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// TLP label of the document.
    pub tlp: Option<String>,
    /// The highest CVSS score in this revision.
    pub highest_score: Option<f64>,
    /// The vector of that score.
    pub highest_vector: Option<String>,
    /// Where it came from (file or URL).
    pub source: String,
    /// When it was imported (RFC 3339).
    pub imported_at: String,
    /// The original document.
    pub document: Vec<u8>,
}

/// What storing an advisory did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdvisoryPut {
    /// The first revision of this advisory.
    New,
    /// Another revision of an advisory already known.
    Revision,
    /// Exactly this document was imported before.
    Unchanged,
}

/// One entry of an organisation's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRecord {
    /// The organisation that declared it.
    pub org: String,
    /// The file it came from.
    pub source: String,
    /// CPE name.
    pub cpe: Option<String>,
    /// Package URL.
    pub purl: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Installed version.
    pub version: Option<String>,
    /// Where it runs (IP address or host name).
    pub host: Option<String>,
    /// Where in the file (line, JSON path).
    pub place: String,
}

// The store by concern. Each part below is one trait that an engine implements on its own,
// with the checks of its part in [`contract`]; [`Store`] is all of them. Every method is one
// transaction: it is done whole or not at all.

/// The registry: organisations, the routing table, public abuse records, and the attribution
/// index built from the three.
///
/// **Invariants**: a `replace_*` method replaces whole sets (the registry; the routing entries
/// or abuse records of one `source`, leaving other sources' alone) in one transaction; any of
/// the three changing drops the saved attribution index in that same transaction, so a saved
/// index always answers as one built from what is stored.
pub trait RegistryStore {
    /// Replaces the whole registry of organisations, given one at a time (a national
    /// registry need not be held whole; `&mut list.iter().map(Cow::Borrowed)` gives a list).
    fn replace_organisations(
        &mut self,
        orgs: &mut dyn Iterator<Item = Cow<'_, Organisation>>,
    ) -> Result<()>;
    /// The registry, by organisation id.
    fn organisations(&self) -> Result<Vec<Organisation>>;
    /// Replaces the prefix-to-AS entries that came from `source`.
    fn replace_routing(&mut self, source: &str, prefixes: &[RoutedPrefix]) -> Result<()>;
    /// The whole prefix-to-AS table.
    fn routing(&self) -> Result<Vec<RoutedPrefix>>;
    /// Replaces the abuse records that came from `source`.
    fn replace_abuse(&mut self, source: &str, records: &[AbuseRecord]) -> Result<()>;
    /// All abuse records.
    fn abuse_records(&self) -> Result<Vec<AbuseRecord>>;
    /// The attribution index built from the registry, routing table and abuse records, as
    /// last saved with [`RegistryStore::put_attribution_index`]; `None` when none was saved
    /// since any of the three last changed.
    fn attribution_index(&self) -> Result<Option<Vec<u8>>>;
    /// Saves the attribution index built from the registry, routing table and abuse records
    /// as they are now.
    fn put_attribution_index(&mut self, index: &[u8]) -> Result<()>;
}

/// Ingest runs, findings and their observations, kept rows, and each finding's lifecycle.
///
/// **Invariants**:
///
/// * *whole batches*: [`FindingStore::store_batch`] stores all of a batch or none of it;
/// * *nothing is lost*: every row of a batch is counted once, as stored, duplicate or
///   quarantined; a row whose every observation (finding, `time.source`) is already stored is
///   a duplicate, so storing a batch twice adds nothing;
/// * a finding is keyed by (incident, address, port, transport); its latest row and owner
///   are those of its latest `time.source`, whatever order rows come in;
/// * *every change of state is recorded*: only the moves [`FindingState::may_become`] allows
///   are made, each written with its cause to the finding's transitions and to the audit log
///   in the same transaction (hence the [`AuditStore`] supertrait) — including a finding
///   reopened by a batch and one verified fixed by [`FindingStore::count_absences`];
/// * counting a report's absences twice, or an older report's, changes nothing;
/// * [`FindingStore::prune`] deletes raw data only: messages, transitions and the audit log
///   stay.
pub trait FindingStore: AuditStore {
    /// Starts an ingest run of `file`, whose items carry `label` and were parsed as `source`
    /// says.
    fn begin_run(&mut self, file: &str, source: &RunSource, label: &Label) -> Result<i64>;
    /// Stores one batch atomically: either all of it is in the store afterwards or none.
    /// Each event gives one observation per incident, of the finding (incident, address,
    /// port, transport), created when new.
    fn store_batch(&mut self, run: i64, batch: &Batch) -> Result<BatchCounts>;
    /// Closes a run with its totals.
    fn finish_run(&mut self, run: i64, read: u64, counts: BatchCounts) -> Result<()>;
    /// Totals over the store.
    fn totals(&self) -> Result<Totals>;
    /// How many findings are in each state (states with none left out), in the order of
    /// [`FindingState::ALL`].
    fn finding_states(&self) -> Result<Vec<(FindingState, u64)>>;
    /// An ingest run.
    fn run(&self, id: i64) -> Result<RunRecord>;

    /// The incidents with their number of findings, largest first.
    fn incidents(&self) -> Result<Vec<(String, u64)>>;
    /// The latest `limit` quarantined rows, newest first, and how many there are in all.
    fn quarantined(&self, limit: usize) -> Result<(Vec<QuarantineRecord>, u64)>;
    /// A stamp that changes whenever a finding is added, observed again (which may change its
    /// owner or label) or changes state, by any process: e.g. the highest ids of findings, of
    /// the chunks of kept rows (each stored batch writes one) and of transitions. It must be
    /// cheap to read, so that a caller can keep what it derived from the findings until the
    /// stamp moves.
    fn findings_stamp(&self) -> Result<[i64; 3]>;
    /// The findings that `query` selects, by id.
    fn finding_records(&self, query: &FindingQuery) -> Result<Vec<FindingRecord>>;
    /// The observations of a finding, oldest `time.source` first.
    fn observations(&self, finding: i64) -> Result<Vec<ObservationRecord>>;
    /// A chunk of kept rows, decompressed.
    fn chunk(&self, id: i64) -> Result<Chunk>;
    /// Adds findings to an incident (e.g. the scan findings an advisory covers): each gets a
    /// finding of `incident` with the same address, port, transport, owner and observations.
    fn link_incident(&mut self, incident: &str, finding_ids: &[i64]) -> Result<()>;

    /// Applies state changes and notes in order, each checked with
    /// [`FindingState::may_become`]; every applied one is recorded with its time and cause
    /// and written to the audit log, in one transaction.
    fn transition(&mut self, changes: &[Transition]) -> Result<Vec<TransitionOutcome>>;
    /// The recorded changes and notes of a finding, oldest first.
    fn transitions(&self, finding: i64) -> Result<Vec<TransitionRecord>>;
    /// The recorded changes and notes of every finding of an incident, oldest first.
    fn incident_transitions(&self, incident: &str) -> Result<Vec<TransitionRecord>>;
    /// Counts run `run` as a later report, of its feed and report type, for the findings of
    /// that type it did not hold (last seen before its earliest row); a finding missing from
    /// `needed` such reports in a row becomes `verified-fixed`. Counting the same report, or
    /// an older one, twice changes nothing.
    fn count_absences(&mut self, run: i64, needed: u32) -> Result<Absences>;
    /// Records that exploitation of `name` (a CVE id or an incident, any case) began at
    /// `since` (Unix seconds), as `source` says; an earlier date already recorded stays.
    fn put_exploitation(&mut self, name: &str, since: i64, source: &str) -> Result<()>;
    /// When exploitation of `name` (a CVE id or an incident, any case) began, and the source.
    fn exploitation(&self, name: &str) -> Result<Option<(i64, String)>>;

    /// Deletes the raw data older than `before` (RFC 3339), measured from the data's own
    /// time: observations whose `time.source` is older (a row without one: its run's start),
    /// findings last seen before it with no observation left, chunks of kept rows left with
    /// no observation, and the quarantined rows of runs started before it (they have no time
    /// of their own). Messages, transitions and the audit log stay: they record who was told
    /// what, not the raw data. With `dry_run`, counts what would go and changes nothing.
    fn prune(&mut self, before: &str, dry_run: bool) -> Result<Pruned>;
}

/// Outgoing messages with their delivery state, the findings each carried and in which form,
/// and tickets (one exchange per incident and recipient).
///
/// **Invariants** (what *at most once* and *never told twice* rest on):
///
/// * a message is recorded once: recording a key again changes nothing and returns the
///   stored message, with the findings of its first record;
/// * a state is read back as written; a state or kind that cannot be read is
///   [`StoreError::Corrupt`], never a default (a message read as `pending` would be sent
///   again);
/// * a ticket, once given for (incident, party), is the same ever after; incidents and
///   parties are told apart exactly.
pub trait MessageStore {
    /// The message with this key, if recorded.
    fn message(&self, key: &str) -> Result<Option<MessageRecord>>;
    /// Records a message (state pending) with the findings it carries, unless one with its
    /// key exists; returns the stored one.
    fn record_message(
        &mut self,
        message: &MessageRecord,
        findings: &[MessageFinding],
    ) -> Result<MessageRecord>;
    /// The findings a message carries.
    fn message_findings(&self, key: &str) -> Result<Vec<MessageFinding>>;
    /// Every finding of `incident` that a message disclosed or is about to disclose, with
    /// the party, form and message state.
    fn disclosures(&self, incident: &str) -> Result<Vec<Disclosure>>;
    /// The ticket number of the exchange with `party` about `incident`, given when first
    /// asked for and the same ever after.
    fn ticket(&mut self, incident: &str, party: &str) -> Result<i64>;
    /// The messages of a ticket, oldest first.
    fn ticket_messages(&self, ticket: i64) -> Result<Vec<MessageRecord>>;
    /// Moves a message to a new state with a detail; `sent` also records when.
    fn set_message_state(&mut self, key: &str, state: MessageState, detail: &str) -> Result<()>;
    /// The messages of an incident (all incidents when `None`), oldest first.
    fn messages(&self, incident: Option<&str>) -> Result<Vec<MessageRecord>>;
    /// How many messages are in each state (states with none left out): pending, sending,
    /// sent, failed.
    fn message_states(&self) -> Result<Vec<(MessageState, u64)>>;
}

/// Advisories, every revision kept with its original document.
///
/// **Invariants**: a revision is identified by its document's SHA-256: the same document
/// stored again changes nothing; revisions are never replaced, and the latest is the one of
/// the latest release (import time for a revision without one).
pub trait AdvisoryStore {
    /// Stores one advisory revision (nothing if the same document is already stored).
    fn put_advisory(&mut self, record: &AdvisoryRecord) -> Result<AdvisoryPut>;
    /// Every stored revision of an advisory, oldest release first.
    fn advisory_revisions(&self, id: &str) -> Result<Vec<AdvisoryRecord>>;
    /// The latest revision of every advisory, by id.
    fn advisories(&self) -> Result<Vec<AdvisoryRecord>>;
}

/// What organisations declared they run (software inventories).
///
/// **Invariant**: an organisation's inventory from one source is replaced whole; other
/// sources and other organisations are left alone.
pub trait InventoryStore {
    /// Replaces what `org` declared in `source` with `entries`.
    fn replace_inventory(
        &mut self,
        org: &str,
        source: &str,
        entries: &[InventoryRecord],
    ) -> Result<()> {
        self.replace_inventories(&[InventoryReplacement {
            org,
            source,
            entries,
        }])
    }
    /// Replaces several inventories, each as [`replace_inventory`](Self::replace_inventory)
    /// would, in one transaction: all of them or none.
    fn replace_inventories(&mut self, inventories: &[InventoryReplacement<'_>]) -> Result<()>;
    /// Every inventory entry, by organisation and source, each source's in the order given.
    fn inventory(&self) -> Result<Vec<InventoryRecord>>;
}

/// What one organisation declared in one source, to replace what was imported from that
/// source before ([`InventoryStore::replace_inventories`]).
#[derive(Debug, Clone, Copy)]
pub struct InventoryReplacement<'a> {
    /// The organisation's registry id.
    pub org: &'a str,
    /// The file it came from.
    pub source: &'a str,
    /// Its entries, in order.
    pub entries: &'a [InventoryRecord],
}

/// The audit log, the decisions written to it, and signed checkpoints of its head.
///
/// **Invariants**: the log is append-only (an engine refuses changes and deletions of its
/// entries) and chained: each entry's hash covers its predecessor's ([`audit::verify`]); a
/// decision's digest is remembered in the same transaction that writes its entries;
/// checkpoints are kept as made, in order.
pub trait AuditStore {
    /// Appends entries to the audit log, chained to the last one, in one transaction.
    fn append_audit(&mut self, entries: &[audit::NewAuditEntry]) -> Result<()>;
    /// The whole audit log in order.
    fn audit_log(&self) -> Result<Vec<audit::AuditEntry>>;
    /// The digest of the decision last written to the audit log per (subject, recipient) of
    /// `incident`.
    fn decision_digests(
        &self,
        incident: &str,
    ) -> Result<std::collections::HashMap<(String, String), String>>;
    /// Appends decision entries to the audit log and remembers, in the same transaction, the
    /// digest written per (subject, recipient) of `incident`.
    fn append_decisions(
        &mut self,
        incident: &str,
        entries: &[audit::NewAuditEntry],
        digests: &[(String, String, String)],
    ) -> Result<()>;
    /// The last audit entry's seq and hash, if the log has any.
    fn audit_head(&self) -> Result<Option<(i64, String)>>;
    /// Appends a signed checkpoint of the audit log's head.
    fn add_audit_checkpoint(&mut self, checkpoint: &audit::Checkpoint) -> Result<()>;
    /// Every checkpoint, in the order made.
    fn audit_checkpoints(&self) -> Result<Vec<audit::Checkpoint>>;
}

/// The timeline: timestamped steps per incident, which the report charts.
///
/// **Invariant**: steps are only appended; an incident's timeline holds its own steps and
/// those of no incident (`*`), in order of time, steps of the same time in the order added.
pub trait TimelineStore {
    /// Appends a timeline step.
    fn add_step(&mut self, step: &TimelineStep) -> Result<()>;
    /// The timeline of an incident (including `*` steps), oldest first.
    fn timeline(&self, incident: &str) -> Result<Vec<TimelineStep>>;
}

/// Where each advisory source's sync left off.
///
/// **Invariant**: one state per source, the last one saved; the store keeps it as given
/// (JSON, as the sync crate writes it) without reading it.
pub trait SyncStateStore {
    /// The saved state of the last sync of an advisory source (JSON), if any.
    fn sync_state(&self, source: &str) -> Result<Option<String>>;
    /// Saves the state of a sync of an advisory source (JSON).
    fn put_sync_state(&mut self, source: &str, state: &str) -> Result<()>;
}

/// An API token as stored: never the token itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Its id (what `token list` shows and `token revoke` takes).
    pub id: i64,
    /// The registry id of the party it acts for.
    pub party: String,
    /// Whether it is an analyst's, who sees everything.
    pub analyst: bool,
    /// SHA-256 of the token, hex.
    pub hash: String,
    /// When it was made.
    pub created_at: String,
    /// When it stops working (RFC 3339), if ever.
    pub expires_at: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The API tokens of the service. Invariants: a token is stored only as its hash, each hash
/// once; a token is revoked, never deleted, so who acted with it stays known.
pub trait TokenStore {
    /// Stores a new token's hash; returns its id. Fails when the hash is stored already.
    fn add_token(
        &mut self,
        party: &str,
        analyst: bool,
        hash: &str,
        expires_at: Option<&str>,
    ) -> Result<i64>;
    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>>;
    /// The token with this hash, if any (revoked and expired ones too).
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>>;
    /// Revokes token `id` now; false when there is no such token or it was revoked already.
    fn revoke_token(&mut self, id: i64) -> Result<bool>;
}

/// One stage of an incident report, as filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportStageRecord {
    /// Its id.
    pub id: i64,
    /// The organisation the report is about (registry id).
    pub organisation: String,
    /// The organisation's own reference of the report; its stages share it.
    pub reference: String,
    /// `early-warning`, `notification`, `intermediate`, `final` or `csirt-reply`.
    pub stage: String,
    /// When it was filed (RFC 3339).
    pub at: String,
    /// Who filed it (the party, through which channel).
    pub by: String,
    /// Its TLP label.
    pub tlp: String,
    /// The document as filed (JSON).
    pub body: String,
}

/// A stage of an incident report to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReportStage {
    /// The organisation the report is about.
    pub organisation: String,
    /// Its reference.
    pub reference: String,
    /// The stage.
    pub stage: String,
    /// Who files it.
    pub by: String,
    /// Its TLP label.
    pub tlp: String,
    /// The document (JSON).
    pub body: String,
}

impl NewReportStage {
    /// What tells one filed document from another: the SHA-256 of its organisation,
    /// reference, stage and body, each after its length. Every engine stores it, unique, so
    /// the same document filed twice for the same stage is stored once.
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.organisation, &self.reference, &self.stage, &self.body] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    }
}

/// Incident reports of obligated organisations, stage by stage. Invariants: stages are
/// appended, never changed or deleted; the same document filed twice for the same stage of
/// the same report is stored once; every stored stage is written to the audit log in the
/// same transaction.
pub trait IncidentReportStore: AuditStore {
    /// Stores a stage; its id, or `None` when this very document was stored already.
    fn add_report_stage(&mut self, stage: &NewReportStage) -> Result<Option<i64>>;
    /// Every stage of every report, in the order filed.
    fn report_stages(&self) -> Result<Vec<ReportStageRecord>>;
}

/// A party's webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Its id.
    pub id: i64,
    /// The party whose findings it receives.
    pub party: String,
    /// Where events are POSTed.
    pub url: String,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// When it was added.
    pub created_at: String,
}

/// One event queued for one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Its id in the queue.
    pub id: i64,
    /// The webhook.
    pub webhook: i64,
    /// The event's id, the same on every attempt (receivers drop repeats by it).
    pub event_id: String,
    /// The JSON sent.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
}

/// Webhooks and the queue of their deliveries. Invariants: an event is queued once per
/// webhook however often it is offered; a delivery leaves the queue only when delivered;
/// the queue survives restarts.
pub trait WebhookStore {
    /// Adds a webhook; returns its id.
    fn add_webhook(&mut self, party: &str, url: &str, secret: &str) -> Result<i64>;
    /// The webhooks not removed, oldest first.
    fn webhooks(&self) -> Result<Vec<WebhookRecord>>;
    /// Removes webhook `id` (its queue is kept, undelivered); false when there is none.
    fn remove_webhook(&mut self, id: i64) -> Result<bool>;
    /// Queues `payload` as event `event_id` for `webhook`, due at once; false (and nothing
    /// changed) when that event is queued for it already.
    fn enqueue_webhook_event(
        &mut self,
        webhook: i64,
        event_id: &str,
        payload: &str,
    ) -> Result<bool>;
    /// Undelivered events of live webhooks due at `now` (Unix seconds), oldest first, at most
    /// `limit`.
    fn due_webhook_events(&self, now: i64, limit: usize) -> Result<Vec<WebhookDelivery>>;
    /// Records the outcome of an attempt: delivered, or failed with `error` and tried again
    /// at `retry_at`.
    fn webhook_attempted(
        &mut self,
        delivery: i64,
        outcome: std::result::Result<(), (&str, i64)>,
    ) -> Result<()>;
}

/// The whole store as the pipeline sees it: every part. Implemented for every type that
/// implements the parts, so an engine implements the parts and gets `Store`; the pipeline
/// takes `&mut dyn Store`.
///
/// Calling a part's method on a concrete store needs the part's trait in scope: `use
/// baken_store::prelude::*;`.
pub trait Store:
    RegistryStore
    + FindingStore
    + MessageStore
    + AdvisoryStore
    + InventoryStore
    + AuditStore
    + TimelineStore
    + SyncStateStore
    + TokenStore
    + WebhookStore
    + IncidentReportStore
{
}

impl<T> Store for T where
    T: RegistryStore
        + FindingStore
        + MessageStore
        + AdvisoryStore
        + InventoryStore
        + AuditStore
        + TimelineStore
        + SyncStateStore
        + TokenStore
        + WebhookStore
        + IncidentReportStore
        + ?Sized
{
}

/// Where the store is: the embedded SQLite file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite:PATH`: the SQLite database file PATH (by default `DATA/baken.db`).
    Sqlite(std::path::PathBuf),
    /// `postgres://…` or `postgresql://…`: a PostgreSQL database.
    Postgres(String),
}

impl StoreUrl {
    /// Reads `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(format!(
                    "store {text:?}: sqlite: needs the database file, e.g. sqlite:baken-data/baken.db"
                ));
            }
            return Ok(Self::Sqlite(path.into()));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_string()));
        }
        Err(format!(
            "store {:?}: not a store URL; use sqlite:PATH or postgres://USER@HOST:PORT/DB",
            postgres::shown_url(text)
        ))
    }

    /// The embedded default of the data directory `data`: `sqlite:DATA/baken.db`.
    pub fn default_in(data: &std::path::Path) -> Self {
        Self::Sqlite(data.join(sqlite::DB_FILE))
    }

    /// Opens (creating or migrating where needed) the store.
    pub fn open(&self) -> Result<Box<dyn Store + Send>> {
        Ok(match self {
            Self::Sqlite(path) => Box::new(SqliteStore::open_file(path)?),
            Self::Postgres(url) => Box::new(PostgresStore::connect(url)?),
        })
    }
}

impl std::fmt::Display for StoreUrl {
    /// The URL as given, without a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(url) => f.write_str(&postgres::shown_url(url)),
        }
    }
}

/// The store's traits, to call their methods: `use baken_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AdvisoryStore, AuditStore, FindingStore, IncidentReportStore, InventoryStore, MessageStore,
        RegistryStore, Store, SyncStateStore, TimelineStore, TokenStore, WebhookStore,
    };
}

/// The current time as stored: RFC 3339, UTC, microseconds.
///
/// A replay (the multi-day demo) runs on a clock of its own: see [`set_clock`].
pub fn now() -> String {
    let at = match *CLOCK.read().unwrap_or_else(|e| e.into_inner()) {
        Some((replayed, started)) => replayed + (std::time::Instant::now() - started),
        None => chrono::Utc::now(),
    };
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The replayed time and when it was set, if a replay set one.
static CLOCK: std::sync::RwLock<Option<(chrono::DateTime<chrono::Utc>, std::time::Instant)>> =
    std::sync::RwLock::new(None);

/// Makes [`now`] answer `at` (advancing with real time from here on), for this process, so
/// that a replay of past days records them as it would have then; `None` restores the real
/// clock. Only replays and tests set it.
pub fn set_clock(at: Option<chrono::DateTime<chrono::Utc>>) {
    *CLOCK.write().unwrap_or_else(|e| e.into_inner()) = at.map(|t| (t, std::time::Instant::now()));
}
