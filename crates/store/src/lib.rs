//! baken's system of record. This is the only crate that touches a database.
//!
//! The [`Store`] trait is the narrow interface the pipeline uses; [`SqliteStore`] is the
//! embedded default (one file, `baken.db`, in the data directory). A PostgreSQL
//! implementation slots in behind the same trait.
//!
//! What is kept:
//!
//! * ingest runs with their reconciled counts (`read = stored + duplicate + quarantined`);
//! * accepted events with their attribution, de-duplicated by a fingerprint of their content
//!   (everything but `time.observation`), and the incidents each belongs to;
//! * quarantined rows with file, line, field and reason;
//! * the registry of organisations, the routing table and public abuse records;
//! * one row per outgoing message with its delivery state, so a restart never sends a digest
//!   twice;
//! * a timeline of steps per incident (feed received, stored, digest written, …).
//!
//! ```
//! use baken_store::{SqliteStore, Store};
//! let dir = tempfile::tempdir().unwrap();
//! let mut store = SqliteStore::open(dir.path()).unwrap();
//! assert_eq!(store.organisations().unwrap().len(), 0);
//! ```

pub mod audit;
mod schema;
mod sqlite;

use baken_model::{AbuseRecord, Attribution, Event, Organisation, RoutedPrefix, Tlp};
use serde::{Deserialize, Serialize};

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

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// One accepted event, attributed, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The file it came from.
    pub file: &'a str,
    /// The line it starts on.
    pub line: u64,
    /// The event.
    pub event: &'a Event,
    /// Who owns it.
    pub attribution: &'a Attribution,
    /// The incidents it belongs to (CVE ids, else its classification).
    pub incidents: &'a [String],
}

/// One rejected row, to be quarantined.
#[derive(Debug, Clone)]
pub struct QuarantinedRow<'a> {
    /// The file it came from.
    pub file: &'a str,
    /// The line it starts on.
    pub line: u64,
    /// The field at fault, when one is.
    pub field: Option<&'a str>,
    /// Why it was rejected.
    pub reason: &'a str,
    /// The row as read.
    pub raw: &'a str,
}

/// What storing one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    /// New events stored.
    pub stored: u64,
    /// Events already in the store (same fingerprint).
    pub duplicate: u64,
    /// Rows quarantined.
    pub quarantined: u64,
}

impl std::ops::AddAssign for BatchCounts {
    fn add_assign(&mut self, other: Self) {
        self.stored += other.stored;
        self.duplicate += other.duplicate;
        self.quarantined += other.quarantined;
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

/// A stored event as the notifier needs it.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Store id.
    pub id: i64,
    /// The event.
    pub event: Event,
    /// Who owns it.
    pub attribution: Attribution,
    /// The TLP label it came in with (`None` for data stored before labels existed).
    pub tlp: Option<Tlp>,
    /// Where it came from: feed, file and who supplied it.
    pub provenance: String,
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

/// One outgoing message and its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Idempotency key: one per recipient per incident.
    pub key: String,
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

/// The store as the pipeline sees it. Every method is one transaction.
pub trait Store {
    /// Replaces the whole registry of organisations.
    fn replace_organisations(&mut self, orgs: &[Organisation]) -> Result<()>;
    /// The registry.
    fn organisations(&self) -> Result<Vec<Organisation>>;
    /// Replaces the prefix-to-AS entries that came from `source`.
    fn replace_routing(&mut self, source: &str, prefixes: &[RoutedPrefix]) -> Result<()>;
    /// The whole prefix-to-AS table.
    fn routing(&self) -> Result<Vec<RoutedPrefix>>;
    /// Replaces the abuse records that came from `source`.
    fn replace_abuse(&mut self, source: &str, records: &[AbuseRecord]) -> Result<()>;
    /// All abuse records.
    fn abuse_records(&self) -> Result<Vec<AbuseRecord>>;

    /// Starts an ingest run of `file`, whose items carry `label`.
    fn begin_run(&mut self, file: &str, feed: &str, label: &Label) -> Result<i64>;
    /// Stores one batch atomically: either all of it is in the store afterwards or none.
    fn store_batch(
        &mut self,
        run: i64,
        events: &[NewEvent<'_>],
        quarantined: &[QuarantinedRow<'_>],
    ) -> Result<BatchCounts>;
    /// Closes a run with its totals.
    fn finish_run(&mut self, run: i64, read: u64, counts: BatchCounts) -> Result<()>;
    /// Totals over all events: (events, quarantined rows).
    fn totals(&self) -> Result<(u64, u64)>;

    /// The incidents with their number of events, largest first.
    fn incidents(&self) -> Result<Vec<(String, u64)>>;
    /// The events of an incident, in store order.
    fn findings(&self, incident: &str) -> Result<Vec<Finding>>;

    /// The message with this key, if recorded.
    fn message(&self, key: &str) -> Result<Option<MessageRecord>>;
    /// Records a message (state pending) unless one with its key exists; returns the stored one.
    fn record_message(&mut self, message: &MessageRecord) -> Result<MessageRecord>;
    /// Moves a message to a new state with a detail.
    fn set_message_state(&mut self, key: &str, state: MessageState, detail: &str) -> Result<()>;
    /// The messages of an incident (all incidents when `None`).
    fn messages(&self, incident: Option<&str>) -> Result<Vec<MessageRecord>>;

    /// Stores one advisory revision (nothing if the same document is already stored).
    fn put_advisory(&mut self, record: &AdvisoryRecord) -> Result<AdvisoryPut>;
    /// Every stored revision of an advisory, oldest release first.
    fn advisory_revisions(&self, id: &str) -> Result<Vec<AdvisoryRecord>>;
    /// The latest revision of every advisory, by id.
    fn advisories(&self) -> Result<Vec<AdvisoryRecord>>;

    /// Replaces what `org` declared in `source` with `entries`.
    fn replace_inventory(
        &mut self,
        org: &str,
        source: &str,
        entries: &[InventoryRecord],
    ) -> Result<()>;
    /// Every inventory entry.
    fn inventory(&self) -> Result<Vec<InventoryRecord>>;
    /// Adds stored events to an incident (e.g. the scan findings an advisory covers).
    fn link_incident(&mut self, incident: &str, event_ids: &[i64]) -> Result<()>;

    /// Deletes raw findings (events, their incident links, quarantined rows) stored before
    /// `before` (RFC 3339). Returns (events, quarantined rows) deleted. Messages and the
    /// audit log stay: they record who was told what, not the raw data.
    fn prune(&mut self, before: &str) -> Result<(u64, u64)>;

    /// The saved state of the last sync of an advisory source (JSON), if any.
    fn sync_state(&self, source: &str) -> Result<Option<String>>;
    /// Saves the state of a sync of an advisory source (JSON).
    fn put_sync_state(&mut self, source: &str, state: &str) -> Result<()>;

    /// Appends entries to the audit log, chained to the last one, in one transaction.
    fn append_audit(&mut self, entries: &[audit::NewAuditEntry]) -> Result<()>;
    /// The whole audit log in order.
    fn audit_log(&self) -> Result<Vec<audit::AuditEntry>>;

    /// Appends a timeline step.
    fn add_step(&mut self, step: &TimelineStep) -> Result<()>;
    /// The timeline of an incident (including `*` steps), oldest first.
    fn timeline(&self, incident: &str) -> Result<Vec<TimelineStep>>;
}

/// The current time as stored: RFC 3339, UTC, microseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
