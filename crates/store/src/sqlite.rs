//! The embedded store: one SQLite file in the data directory, WAL journal.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use std::collections::HashMap;

use baken_model::{AbuseRecord, Event, Organisation, RoutedPrefix};
use rusqlite::{Connection, DatabaseName, OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditEntry, NewAuditEntry};
use crate::keys::{self, attribution_from_columns, owner_columns};
use crate::prelude::*;
use crate::schema::MIGRATIONS;
use crate::{
    Absences, AdvisoryPut, AdvisoryRecord, Batch, BatchCounts, Cause, Chunk, ChunkKind, Disclosure,
    FindingQuery, FindingRecord, FindingState, InventoryRecord, InventoryReplacement, KeptChunk,
    Label, MessageFinding, MessageKind, MessageRecord, MessageState, NewReportStage,
    ObservationRecord, Observed, Pruned, QuarantineRecord, QuarantinedRow, ReportStageRecord,
    Result, RowRef, RunRecord, RunSource, StoreError, TimelineStep, TokenRecord, Totals,
    Transition, TransitionOutcome, TransitionRecord, WebhookDelivery, WebhookRecord, now,
};

/// Page cache per connection (KiB, as SQLite's negative `cache_size`). Ingest of 1 M rows
/// into a store of 660,000 findings took about as long with 24, 32 and 64 MiB
/// (bench/ingest.sh); the smallest keeps ingest's peak under 150 MB.
const CACHE_KIB: i64 = 24 * 1024;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "baken.db";
/// The file whose lock a process holds while it opens (configures and migrates) the database.
const OPEN_LOCK_FILE: &str = "baken.db.open-lock";

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    /// Incident ids by name, as stored.
    incidents: HashMap<String, i64>,
    /// About what share of the findings stored last were new (see `insert_batch`).
    new_share: f64,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the data directory `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_file(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the store in the database file `path`, creating its
    /// directory where needed (`--store sqlite:PATH`).
    pub fn open_file(path: &Path) -> Result<Self> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = path.to_path_buf();
        // Processes that open one data directory at the same moment set it up one after the
        // other: the journal mode and the migrations of a new database each need it to
        // themselves, and SQLite answers a second writer there with "database is locked"
        // rather than waiting. The lock is held only while opening.
        let lock_path = match path.file_name().and_then(|n| n.to_str()) {
            Some(DB_FILE) | None => dir.join(OPEN_LOCK_FILE),
            Some(name) => dir.join(format!("{name}.open-lock")),
        };
        let io = |source| StoreError::Io {
            path: lock_path.display().to_string(),
            source,
        };
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        lock.lock().map_err(io)?;
        let conn = Connection::open(&path)
            .map_err(|source| database_error(&path.display().to_string(), source))?;
        let store = Self::with(conn, path);
        drop(lock);
        store
    }

    /// A store of its own in memory, gone when dropped: the same schema, migrations and
    /// behaviour as a store on disk (it runs the same contract, `tests/contract.rs`), for
    /// tests of what uses a store. Its [`path`](Self::path) is `:memory:`. Only its journal
    /// differs: an in-memory database keeps no write-ahead log, so there is nothing to
    /// recover after a crash.
    ///
    /// ```
    /// use baken_store::SqliteStore;
    /// use baken_store::prelude::*;
    /// let mut store = SqliteStore::in_memory().unwrap();
    /// store.put_sync_state("csaf", "{}").unwrap();
    /// assert_eq!(store.sync_state("csaf").unwrap().as_deref(), Some("{}"));
    /// ```
    pub fn in_memory() -> Result<Self> {
        let path = PathBuf::from(":memory:");
        let conn =
            Connection::open_in_memory().map_err(|source| database_error(":memory:", source))?;
        Self::with(conn, path)
    }

    /// The store on an open connection: configured, migrated, its incident ids read.
    fn with(conn: Connection, path: PathBuf) -> Result<Self> {
        let mut store = Self {
            conn,
            path,
            incidents: HashMap::new(),
            new_share: 0.5,
        };
        store.configure()?;
        store.migrate()?;
        store.incidents = store.incident_ids()?;
        Ok(store)
    }

    /// The connection, for engine-level work of this crate (copying a store).
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Turns a database error into the store's error, naming this store's file; holds no
    /// borrow of the store, so it can be used while a transaction is open.
    fn wrap(&self) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let path = self.path.display().to_string();
        move |source| database_error(&path, source)
    }

    fn db<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|source| database_error(&self.path.display().to_string(), source))
    }

    fn configure(&mut self) -> Result<()> {
        // WAL: readers never block the writer, and a killed process leaves the last
        // committed transaction intact. NORMAL sync is durable against process crashes. The
        // WAL is copied back into the database every 20,000 pages (80 MB) rather than every
        // 1,000: a batch of ingest rewrites pages of the finding index that the next batch
        // rewrites again, and each copy costs a write and a sync.
        let r = self.conn.execute_batch(
            "PRAGMA busy_timeout = 10000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA temp_store = MEMORY;
             PRAGMA wal_autocheckpoint = 20000;",
        );
        self.db(r)?;
        // Every transaction takes the write lock at BEGIN, where the busy timeout waits for
        // another process's writer (workers sharing one file): a transaction that reads
        // first and writes later fails at once with "database is locked" when another
        // process wrote in between.
        self.conn
            .set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        let r = self
            .conn
            .execute_batch(&format!("PRAGMA cache_size = -{CACHE_KIB};"));
        self.db(r)
    }

    fn incident_ids(&self) -> Result<HashMap<String, i64>> {
        let mut stmt = self.db(self.conn.prepare("SELECT name, id FROM incident"))?;
        let rows = self.db(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
        let collected: rusqlite::Result<HashMap<_, _>> = rows.collect();
        self.db(collected)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = {
            let r = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
            self.db(r)? as usize
        };
        if version > MIGRATIONS.len() {
            return Err(StoreError::Corrupt {
                what: "schema version",
                detail: format!(
                    "{} has schema version {version}, newer than this baken knows ({}); use the baken release that wrote it",
                    self.path.display(),
                    MIGRATIONS.len()
                ),
            });
        }
        let path = self.path.display().to_string();
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let wrap = |source| database_error(&path, source);
            let tx = self.conn.transaction().map_err(wrap)?;
            tx.execute_batch(sql).map_err(wrap)?;
            tx.execute_batch(&format!("PRAGMA user_version = {};", i + 1))
                .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
            tracing::debug!(path = %path, version = i + 1, "schema migration applied");
        }
        if version < MIGRATIONS.len() {
            tracing::info!(
                path = %path,
                from = version,
                to = MIGRATIONS.len(),
                "store schema migrated"
            );
        }
        // A store written before findings existed keeps one JSON event per row: they move
        // into findings under the current schema, and the old tables go with them (one
        // transaction: a store left with the tables moves them on its next opening).
        let wrap = |source| database_error(&path, source);
        let old_events: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'event')",
                [],
                |r| r.get(0),
            )
            .map_err(wrap)?;
        if old_events {
            let tx = self.conn.transaction().map_err(wrap)?;
            move_events(&tx, &path)?;
            tx.execute_batch("DROP TABLE event_incident; DROP TABLE event;")
                .map_err(wrap)?;
            tx.commit().map_err(wrap)?;
        }
        Ok(())
    }

    /// Runs SQLite's integrity check; `Ok(())` when the database is sound.
    pub fn integrity_check(&self) -> Result<std::result::Result<(), String>> {
        let r = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0));
        let answer = self.db(r)?;
        Ok(if answer == "ok" { Ok(()) } else { Err(answer) })
    }

    /// Number of observations per ingest run id, for checking that batches are whole.
    pub fn observations_per_run(&self) -> Result<Vec<(i64, u64)>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT c.run_id, COUNT(*) FROM observation o JOIN chunk c ON c.id = o.chunk_id
             GROUP BY c.run_id ORDER BY c.run_id",
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)));
        let rows = self.db(rows)?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn query_transitions(&self, sql: &str, args: [String; 1]) -> Result<Vec<TransitionRecord>> {
        let mut stmt = self.db(self.conn.prepare(sql))?;
        let rows = self.db(stmt.query_map(args, transition_from_row))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn query_json<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        what: &'static str,
    ) -> Result<Vec<T>> {
        let mut stmt = self.db(self.conn.prepare(sql))?;
        let rows = self.db(stmt.query_map([], |r| r.get::<_, String>(0)))?;
        let mut out = Vec::new();
        for row in rows {
            let body = self.db(row)?;
            out.push(
                serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                    what,
                    detail: e.to_string(),
                })?,
            );
        }
        Ok(out)
    }
}

pub(crate) fn quarantine_fingerprint(row: &QuarantinedRow) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(row.file.as_bytes());
    h.update([0]);
    h.update(row.line.to_le_bytes());
    h.update(row.raw.as_bytes());
    h.finalize().into()
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialise")
}

/// The store's error for a database error, naming the file; a value that a row's reader
/// could not read ([`unreadable_in_row`]) comes out as the [`StoreError::Corrupt`] it carries.
fn database_error(path: &str, source: rusqlite::Error) -> StoreError {
    match source {
        rusqlite::Error::FromSqlConversionFailure(_, _, e) if e.is::<StoreError>() => *e
            .downcast::<StoreError>()
            .expect("checked to be a StoreError"),
        source => StoreError::Database {
            path: path.to_string(),
            source,
        },
    }
}

/// A value read in a row's reader (which can only return rusqlite's error) that is not one
/// baken writes: carried through rusqlite to [`database_error`], which returns `error`.
fn unreadable_in_row(column: usize, error: StoreError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(error))
}

/// A message state as stored in column `column` of the message `key`.
fn message_state(key: &str, column: usize, state: &str) -> rusqlite::Result<MessageState> {
    // A state that cannot be read is an error, never `pending` (which would send again).
    MessageState::parse(state).ok_or_else(|| {
        unreadable_in_row(
            column,
            StoreError::unreadable(
                "message state",
                "message",
                format!("key {key:?}"),
                "state",
                state,
            ),
        )
    })
}

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    let key: String = r.get(0)?;
    let state: String = r.get(6)?;
    let kind: String = r.get(12)?;
    Ok(MessageRecord {
        incident: r.get(1)?,
        recipient: r.get(2)?,
        party: r.get(3)?,
        path: r.get(4)?,
        findings: r.get::<_, i64>(5)? as u64,
        state: message_state(&key, 6, &state)?,
        detail: r.get(7)?,
        created_at: r.get(8)?,
        sent_at: r.get(9)?,
        ticket: r.get(10)?,
        round: r.get(11)?,
        kind: MessageKind::parse(&kind).ok_or_else(|| {
            unreadable_in_row(
                12,
                StoreError::unreadable(
                    "message kind",
                    "message",
                    format!("key {key:?}"),
                    "kind",
                    &kind,
                ),
            )
        })?,
        key,
    })
}

/// Writes one batch in `tx`: per chunk its kept rows, and per row and incident a finding
/// (created when new) and an observation of it; then the quarantined rows.
fn insert_batch(
    tx: &Transaction<'_>,
    incidents: &mut HashMap<String, i64>,
    new_share: &mut f64,
    run: i64,
    run_time: i64,
    batch: &Batch,
    wrap: &dyn Fn(rusqlite::Error) -> StoreError,
) -> Result<BatchCounts> {
    let mut counts = BatchCounts::default();
    let mut find = tx
        .prepare_cached(
            "SELECT id, last_seen, state = 'verified-fixed' FROM finding
             WHERE incident_id = ?1 AND addr = ?2 AND port = ?3 AND transport = ?4",
        )
        .map_err(wrap)?;
    let mut create = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO finding (incident_id, addr, port, transport, owner_kind, owner,
                 rule, first_seen, last_seen, times_seen, state, last_chunk, last_row)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, 1, 'open', ?9, ?10)",
        )
        .map_err(wrap)?;
    let mut observe = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO observation (finding_id, seen_at, chunk_id, row)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(wrap)?;
    // seen later than before: the latest row and owner change
    let mut seen_later = tx
        .prepare_cached(
            "UPDATE finding SET times_seen = times_seen + 1, last_seen = ?2, owner_kind = ?3,
                 owner = ?4, rule = ?5, last_chunk = ?6, last_row = ?7, misses = 0,
                 checked_until = NULL
             WHERE id = ?1",
        )
        .map_err(wrap)?;
    // seen at an earlier time (an older file ingested later)
    let mut seen_earlier = tx
        .prepare_cached(
            "UPDATE finding SET times_seen = times_seen + 1, first_seen = min(first_seen, ?2)
             WHERE id = ?1",
        )
        .map_err(wrap)?;
    let mut insert_chunk = tx
        .prepare_cached(
            "INSERT INTO chunk (run_id, kind, first_line, skip, rows, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(wrap)?;
    let mut chunk_ids = Vec::with_capacity(batch.chunks.len());
    for kept in &batch.chunks {
        let kind = match kept.kind {
            ChunkKind::Text => "text",
            ChunkKind::Events => "events",
        };
        insert_chunk
            .execute(params![
                run,
                kind,
                kept.first_line as i64,
                kept.skip,
                kept.rows,
                kept.data
            ])
            .map_err(wrap)?;
        chunk_ids.push(tx.last_insert_rowid());
    }
    // The findings are written in key order, not in the order of the feed: consecutive
    // writes then touch the same pages of the key index, and a finding's later observations
    // land near each other, where the feed's order would scatter them over the whole store.
    let mut work: Vec<(i64, &Observed, usize)> = Vec::new();
    for (c, kept) in batch.chunks.iter().enumerate() {
        for o in &kept.observed {
            for incident in o.incidents.iter() {
                work.push((incident_id(tx, incidents, incident, wrap)?, o, c));
            }
        }
    }
    // (ties broken by place in the batch: of two rows of the same observation the first is kept)
    fn order<'a>(
        (incident, o, chunk): &(i64, &'a Observed, usize),
    ) -> (i64, &'a str, u16, &'a str, Option<i64>, usize, u32) {
        (
            *incident,
            &o.addr,
            o.port,
            &*o.transport,
            o.seen_at,
            *chunk,
            o.row,
        )
    }
    work.sort_unstable_by(|a, b| order(a).cmp(&order(b)));
    // per chunk and row: whether it gave a new observation
    let mut fresh: Vec<Vec<bool>> = batch
        .chunks
        .iter()
        .map(|k| {
            vec![
                false;
                k.observed
                    .iter()
                    .map(|o| o.row as usize + 1)
                    .max()
                    .unwrap_or(0)
            ]
        })
        .collect();
    // the earliest and latest time.source of the batch's rows, and findings seen again
    // after they were verified fixed
    let mut window: Option<(i64, i64)> = None;
    let mut reopened: Vec<Transition> = Vec::new();
    for (incident_id, o, c) in work {
        let chunk = chunk_ids[c];
        let seen_time = o.seen_at.unwrap_or(run_time);
        let (owner_kind, owner) = owner_columns(&o.owner);
        let rule = o.rule.as_str();
        let values = params![
            incident_id,
            o.addr,
            o.port,
            o.transport,
            owner_kind,
            owner,
            rule,
            seen_time,
            chunk,
            o.row,
        ];
        // Where most findings are new (a first day), trying the insert first saves a
        // search; where most are known (the days after), the search comes first.
        let mut known: Option<(i64, i64, bool)> = None;
        let mut created = *new_share >= 0.5 && create.execute(values).map_err(wrap)? == 1;
        if !created {
            known = find
                .query_row(params![incident_id, o.addr, o.port, o.transport], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(wrap)?;
            if known.is_none() {
                create.execute(values).map_err(wrap)?;
                created = true;
            }
        }
        *new_share = *new_share * 0.99 + if created { 0.01 } else { 0.0 };
        let seen_key = o.seen_at.unwrap_or(0);
        if let Some(t) = o.seen_at {
            window = Some(match window {
                Some((from, until)) => (from.min(t), until.max(t)),
                None => (t, t),
            });
        }
        let Some((finding, last_seen, fixed)) = known else {
            let finding = tx.last_insert_rowid();
            observe
                .execute(params![finding, seen_key, chunk, o.row])
                .map_err(wrap)?;
            counts.new_findings += 1;
            fresh[c][o.row as usize] = true;
            continue;
        };
        let added = observe
            .execute(params![finding, seen_key, chunk, o.row])
            .map_err(wrap)?;
        if added == 0 {
            // the same finding seen at the same time: a duplicate
            continue;
        }
        fresh[c][o.row as usize] = true;
        if seen_time > last_seen {
            seen_later
                .execute(params![
                    finding, seen_time, owner_kind, owner, rule, chunk, o.row
                ])
                .map_err(wrap)?;
            if fixed && !reopened.iter().any(|t: &Transition| t.finding == finding) {
                reopened.push(Transition {
                    finding,
                    to: Some(FindingState::Reopened),
                    cause: Cause::Report,
                    reference: Some(format!("run {run}")),
                    by: None,
                    note: Some(format!("seen again at {}", keys::format_time(seen_time))),
                });
            }
        } else {
            seen_earlier
                .execute(params![finding, seen_time])
                .map_err(wrap)?;
        }
    }
    if let Some((from, until)) = window {
        tx.prepare_cached(
            "UPDATE ingest_run SET seen_from = min(COALESCE(seen_from, ?2), ?2),
                 seen_until = max(COALESCE(seen_until, ?3), ?3) WHERE id = ?1",
        )
        .and_then(|mut st| st.execute(params![run, from, until]))
        .map_err(wrap)?;
    }
    counts.reopened += transition_in(tx, &reopened, wrap)?
        .iter()
        .filter(|o| matches!(o, TransitionOutcome::Applied { .. }))
        .count() as u64;
    for (kept, fresh) in batch.chunks.iter().zip(&fresh) {
        for o in &kept.observed {
            if fresh[o.row as usize] {
                counts.stored += 1;
            } else {
                counts.duplicate += 1;
            }
        }
    }
    let mut quarantine = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO quarantine (fingerprint, run_id, file, line, field, reason, raw)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(wrap)?;
    for q in &batch.quarantined {
        quarantine
            .execute(params![
                &quarantine_fingerprint(q)[..],
                run,
                q.file,
                q.line as i64,
                q.field,
                q.reason,
                q.raw
            ])
            .map_err(wrap)?;
        counts.quarantined += 1;
    }
    Ok(counts)
}

/// The id of incident `name`, added when new.
fn incident_id(
    tx: &Transaction<'_>,
    incidents: &mut HashMap<String, i64>,
    name: &str,
    wrap: &dyn Fn(rusqlite::Error) -> StoreError,
) -> Result<i64> {
    if let Some(&id) = incidents.get(name) {
        return Ok(id);
    }
    tx.execute(
        "INSERT INTO incident (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
        [name],
    )
    .map_err(wrap)?;
    let id: i64 = tx
        .query_row("SELECT id FROM incident WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .map_err(wrap)?;
    incidents.insert(name.to_string(), id);
    Ok(id)
}

/// Moves the events of a store written before findings existed (one JSON event per row,
/// linked to incidents) into findings and observations, keeping each event as an IntelMQ
/// JSON line in the chunks of its run.
fn move_events(tx: &Transaction<'_>, path: &str) -> Result<()> {
    let wrap = |source| database_error(path, source);
    let corrupt = |id: i64, e: serde_json::Error| StoreError::Corrupt {
        what: "event",
        detail: format!("event {id}: {e}"),
    };
    let mut incidents = HashMap::new();
    let runs: Vec<(i64, String)> = {
        let mut stmt = tx
            .prepare("SELECT DISTINCT e.run_id, r.started_at FROM event e JOIN ingest_run r ON r.id = e.run_id ORDER BY e.run_id")
            .map_err(wrap)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(wrap)?;
        rows.collect::<rusqlite::Result<_>>().map_err(wrap)?
    };
    for (run, started_at) in runs {
        let run_time = keys::parse_time(&started_at).unwrap_or(0);
        let mut stmt = tx
            .prepare(
                "SELECT e.id, e.file, e.line, e.body, e.attribution,
                     (SELECT group_concat(incident, char(10)) FROM event_incident i WHERE i.event_id = e.id)
                 FROM event e WHERE e.run_id = ?1 ORDER BY e.id",
            )
            .map_err(wrap)?;
        let rows = stmt
            .query_map([run], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(wrap)?;
        let mut events = Vec::new();
        for row in rows {
            let (id, file, line, body, attribution, linked) = row.map_err(wrap)?;
            let event: Event = serde_json::from_str(&body).map_err(|e| corrupt(id, e))?;
            let attribution: baken_model::Attribution =
                serde_json::from_str(&attribution).map_err(|e| corrupt(id, e))?;
            let linked: Vec<String> = linked
                .unwrap_or_default()
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            events.push((file, line as u64, event, attribution, linked));
        }
        for part in events.chunks(5_000) {
            let observed = part
                .iter()
                .enumerate()
                .map(|(i, (_, _, event, attribution, linked))| {
                    Observed::of(event, i as u32, attribution, linked.clone().into())
                })
                .collect();
            let list: Vec<&Event> = part.iter().map(|(_, _, e, _, _)| e).collect();
            let first_line = part.first().map_or(1, |p| p.1);
            let batch = Batch {
                chunks: vec![KeptChunk::events(first_line, &list, observed)?],
                quarantined: Vec::new(),
                part: None,
            };
            insert_batch(tx, &mut incidents, &mut 0.5, run, run_time, &batch, &wrap)?;
        }
    }
    Ok(())
}

const FINDING_COLUMNS: &str = "f.id, i.name, f.addr, f.port, f.transport, f.owner_kind, f.owner,
     f.rule, f.first_seen, f.last_seen, f.times_seen, f.state, f.last_chunk, f.last_row,
     c.run_id";

fn finding_from_row(
    r: &rusqlite::Row<'_>,
) -> rusqlite::Result<(FindingRecord, String, Option<String>, String, String)> {
    let port: i64 = r.get(3)?;
    Ok((
        FindingRecord {
            id: r.get(0)?,
            incident: r.get(1)?,
            addr: r.get(2)?,
            port: port as u16,
            transport: r.get(4)?,
            attribution: baken_model::Attribution::unknown(""),
            first_seen: r.get(8)?,
            last_seen: r.get(9)?,
            times_seen: r.get::<_, i64>(10)? as u64,
            state: FindingState::Open,
            last_row: RowRef {
                chunk: r.get(12)?,
                row: r.get(13)?,
            },
            run: r.get(14)?,
        },
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(11)?,
    ))
}

const ADVISORY_COLUMNS: &str = "id, sha256, revision, format, released, title, tlp, highest_score,
     highest_vector, source, imported_at, document";

fn advisory_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AdvisoryRecord> {
    Ok(AdvisoryRecord {
        id: r.get(0)?,
        sha256: r.get(1)?,
        revision: r.get(2)?,
        format: r.get(3)?,
        released: r.get(4)?,
        title: r.get(5)?,
        tlp: r.get(6)?,
        highest_score: r.get(7)?,
        highest_vector: r.get(8)?,
        source: r.get(9)?,
        imported_at: r.get(10)?,
        document: r.get(11)?,
    })
}

/// The counts part `part` of run `run` was stored with, if it was.
fn part_counts(tx: &Transaction<'_>, run: i64, part: u64) -> rusqlite::Result<Option<BatchCounts>> {
    tx.query_row(
        "SELECT stored, duplicate, quarantined, new_findings, reopened FROM run_part
         WHERE run_id = ?1 AND part = ?2",
        params![run, part as i64],
        |r| {
            Ok(BatchCounts {
                stored: r.get::<_, i64>(0)? as u64,
                duplicate: r.get::<_, i64>(1)? as u64,
                quarantined: r.get::<_, i64>(2)? as u64,
                new_findings: r.get::<_, i64>(3)? as u64,
                reopened: r.get::<_, i64>(4)? as u64,
            })
        },
    )
    .optional()
}

/// Appends audit entries inside `tx`, chained to the last one.
fn append_audit_in(
    tx: &Transaction<'_>,
    entries: &[NewAuditEntry],
    wrap: &dyn Fn(rusqlite::Error) -> StoreError,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut seq, mut prev): (i64, String) = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(wrap)?
        .unwrap_or((0, audit::GENESIS.to_string()));
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO audit (seq, at, kind, subject, body, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(wrap)?;
    for e in entries {
        seq += 1;
        let at = now();
        let hash = audit::entry_hash(&prev, seq, &at, &e.kind, &e.subject, &e.body);
        insert
            .execute(params![seq, at, e.kind, e.subject, e.body, prev, hash])
            .map_err(wrap)?;
        prev = hash;
    }
    Ok(())
}

/// Transitions applied, and audit entries written, a page at a time.
pub(crate) const TRANSITION_PAGE: usize = 1024;

/// Finding ids per transaction of [`FindingStore::count_absences`].
pub(crate) const ABSENCE_RANGE: i64 = 65_536;

/// Applies `changes` inside `tx`: each checked against the finding's state as it is by
/// then, recorded in `transition` and in the audit log.
fn transition_in(
    tx: &Transaction<'_>,
    changes: &[Transition],
    wrap: &dyn Fn(rusqlite::Error) -> StoreError,
) -> Result<Vec<TransitionOutcome>> {
    let mut outcomes = Vec::with_capacity(changes.len());
    let mut audit_entries = Vec::new();
    {
        let mut state_of = tx
            .prepare_cached(
                "SELECT f.state, i.name FROM finding f JOIN incident i ON i.id = f.incident_id
                 WHERE f.id = ?1",
            )
            .map_err(wrap)?;
        let mut set_state = tx
            .prepare_cached("UPDATE finding SET state = ?2 WHERE id = ?1")
            .map_err(wrap)?;
        let mut record = tx
            .prepare_cached(
                "INSERT INTO transition (finding_id, at, from_state, to_state, cause, reference,
                     by, note)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(wrap)?;
        for c in changes {
            let Some((state, incident)) = state_of
                .query_row([c.finding], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .optional()
                .map_err(wrap)?
            else {
                outcomes.push(TransitionOutcome::NoSuchFinding);
                continue;
            };
            let from = FindingState::parse(&state).ok_or_else(|| {
                StoreError::unreadable("finding state", "finding", c.finding, "state", &state)
            })?;
            let to = c.to.unwrap_or(from);
            if let Some(to) = c.to {
                if let Err(why) = from.may_become(to) {
                    outcomes.push(TransitionOutcome::Refused { from, why });
                    continue;
                }
                set_state
                    .execute(params![c.finding, to.as_str()])
                    .map_err(wrap)?;
            }
            let at = now();
            record
                .execute(params![
                    c.finding,
                    at,
                    from.as_str(),
                    to.as_str(),
                    c.cause.as_str(),
                    c.reference,
                    c.by,
                    c.note
                ])
                .map_err(wrap)?;
            audit_entries.push(NewAuditEntry {
                kind: if c.to.is_some() {
                    "transition"
                } else {
                    "finding-note"
                }
                .into(),
                subject: format!("finding/{}", c.finding),
                body: serde_json::json!({
                    "finding": c.finding,
                    "incident": incident,
                    "from": from.as_str(),
                    "to": to.as_str(),
                    "cause": c.cause.as_str(),
                    "reference": c.reference,
                    "by": c.by,
                    "note": c.note,
                })
                .to_string(),
            });
            outcomes.push(TransitionOutcome::Applied { from });
            if audit_entries.len() >= TRANSITION_PAGE {
                append_audit_in(tx, &audit_entries, wrap)?;
                audit_entries.clear();
            }
        }
    }
    append_audit_in(tx, &audit_entries, wrap)?;
    Ok(outcomes)
}

const TRANSITION_COLUMNS: &str =
    "finding_id, at, from_state, to_state, cause, reference, by, note, id";

fn transition_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TransitionRecord> {
    let id: i64 = r.get(8)?;
    let bad = |i: usize, what: &'static str, column: &str, v: &str| {
        unreadable_in_row(i, StoreError::unreadable(what, "transition", id, column, v))
    };
    let from: String = r.get(2)?;
    let to: String = r.get(3)?;
    let cause: String = r.get(4)?;
    Ok(TransitionRecord {
        finding: r.get(0)?,
        at: r.get(1)?,
        from: FindingState::parse(&from)
            .ok_or_else(|| bad(2, "finding state", "from_state", &from))?,
        to: FindingState::parse(&to).ok_or_else(|| bad(3, "finding state", "to_state", &to))?,
        cause: Cause::parse(&cause).ok_or_else(|| bad(4, "cause", "cause", &cause))?,
        reference: r.get(5)?,
        by: r.get(6)?,
        note: r.get(7)?,
    })
}

const MESSAGE_COLUMNS: &str = "key, incident, recipient, party, path, findings, state, detail,
     created_at, sent_at, ticket, round, kind";

impl RegistryStore for SqliteStore {
    fn replace_organisations(
        &mut self,
        orgs: &mut dyn Iterator<Item = Cow<'_, Organisation>>,
    ) -> Result<()> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM attribution_index", [])
            .map_err(wrap)?;
        tx.execute("DELETE FROM organisation", []).map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO organisation (id, body) VALUES (?1, ?2)")
                .map_err(wrap)?;
            for org in orgs {
                stmt.execute(params![org.id.0, json(&*org)]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn organisations(&self) -> Result<Vec<Organisation>> {
        self.query_json("SELECT body FROM organisation ORDER BY id", "organisation")
    }

    fn replace_routing(&mut self, source: &str, prefixes: &[RoutedPrefix]) -> Result<()> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM attribution_index", [])
            .map_err(wrap)?;
        tx.execute("DELETE FROM routed_prefix WHERE source = ?1", [source])
            .map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO routed_prefix (source, net, asn) VALUES (?1, ?2, ?3)")
                .map_err(wrap)?;
            for p in prefixes {
                stmt.execute(params![source, p.net.to_string(), p.asn])
                    .map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn routing(&self) -> Result<Vec<RoutedPrefix>> {
        let mut stmt = self.db(self.conn.prepare("SELECT net, asn FROM routed_prefix"))?;
        let rows =
            self.db(stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))))?;
        let mut out = Vec::new();
        for row in rows {
            let (net, asn) = self.db(row)?;
            let net = net.parse().map_err(|e| StoreError::Corrupt {
                what: "routed prefix",
                detail: format!("{net}: {e}"),
            })?;
            out.push(RoutedPrefix { net, asn });
        }
        Ok(out)
    }

    fn replace_abuse(&mut self, source: &str, records: &[AbuseRecord]) -> Result<()> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM attribution_index", [])
            .map_err(wrap)?;
        tx.execute("DELETE FROM abuse_record WHERE source = ?1", [source])
            .map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO abuse_record (source, body) VALUES (?1, ?2)")
                .map_err(wrap)?;
            for r in records {
                stmt.execute(params![source, json(r)]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn abuse_records(&self) -> Result<Vec<AbuseRecord>> {
        self.query_json("SELECT body FROM abuse_record", "abuse record")
    }

    // A national index is hundreds of megabytes: it is read and written in place through
    // SQLite's incremental blob I/O, not as a value that SQLite copies whole first.
    fn attribution_index(&self) -> Result<Option<Vec<u8>>> {
        let wrap = &self.wrap();
        let tx = self.conn.unchecked_transaction().map_err(wrap)?;
        let len: Option<i64> = tx
            .query_row(
                "SELECT length(data) FROM attribution_index WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(wrap)?;
        let Some(len) = len else {
            return Ok(None);
        };
        let blob = tx
            .blob_open(DatabaseName::Main, "attribution_index", "data", 1, true)
            .map_err(wrap)?;
        let mut data = vec![0; usize::try_from(len).unwrap_or(0)];
        blob.read_at_exact(&mut data, 0).map_err(wrap)?;
        drop(blob);
        tx.finish().map_err(wrap)?;
        Ok(Some(data))
    }

    fn put_attribution_index(&mut self, index: &[u8]) -> Result<()> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute(
            "INSERT INTO attribution_index (id, data) VALUES (1, zeroblob(?1))
             ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            [index.len() as i64],
        )
        .map_err(wrap)?;
        let mut blob = tx
            .blob_open(DatabaseName::Main, "attribution_index", "data", 1, false)
            .map_err(wrap)?;
        blob.write_at(index, 0).map_err(wrap)?;
        drop(blob);
        tx.commit().map_err(wrap)
    }
}

impl FindingStore for SqliteStore {
    fn findings_stamp(&self) -> Result<[i64; 3]> {
        self.db(self.conn.query_row(
            "SELECT COALESCE((SELECT MAX(id) FROM finding), 0),
                    COALESCE((SELECT MAX(id) FROM chunk), 0),
                    COALESCE((SELECT MAX(id) FROM transition), 0)",
            [],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]),
        ))
    }

    fn begin_run(&mut self, file: &str, source: &RunSource, label: &Label) -> Result<i64> {
        let r = self.conn.execute(
            "INSERT INTO ingest_run (file, feed, started_at, tlp, supplied_by, source, kind)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                file,
                source.feed,
                now(),
                label.tlp.label().trim_start_matches("TLP:"),
                label.supplied_by,
                serde_json::to_string(source).expect("a run source always serialises"),
                format!("{}:{}", source.feed, source.report.as_deref().unwrap_or("")),
            ],
        );
        self.db(r)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn store_batch(&mut self, run: i64, batch: &Batch) -> Result<BatchCounts> {
        let clock = std::time::Instant::now();
        let wrap = &self.wrap();
        let started: String = self
            .conn
            .prepare_cached("SELECT started_at FROM ingest_run WHERE id = ?1")
            .and_then(|mut s| s.query_row([run], |r| r.get(0)))
            .map_err(wrap)?;
        // a row without a time of its own is kept at its run's start: a start that cannot be
        // read is an error, not the epoch (which prune would take for long past)
        let run_time = keys::parse_time(&started).ok_or_else(|| {
            StoreError::unreadable("run start", "ingest_run", run, "started_at", &started)
        })?;
        let mut incidents = std::mem::take(&mut self.incidents);
        // The write lock is taken at BEGIN, where the busy timeout waits for another
        // process's batch (the workers of a distributed ingest store at once): a deferred
        // transaction that reads first fails at once with "database is locked" when another
        // writer committed since its read began.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(wrap)?;
        let done = match batch.part.map(|p| part_counts(&tx, run, p)).transpose() {
            // a part stored before: nothing again, its counts as they were
            Ok(Some(Some(counts))) => tx.commit().map_err(wrap).map(|()| counts),
            Err(e) => {
                drop(tx);
                Err(wrap(e))
            }
            Ok(_) => insert_batch(
                &tx,
                &mut incidents,
                &mut self.new_share,
                run,
                run_time,
                batch,
                &wrap,
            )
            .and_then(|counts| match batch.part {
                Some(part) => tx
                    .execute(
                        "INSERT INTO run_part
                         (run_id, part, stored, duplicate, quarantined, new_findings, reopened)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![
                            run,
                            part as i64,
                            counts.stored as i64,
                            counts.duplicate as i64,
                            counts.quarantined as i64,
                            counts.new_findings as i64,
                            counts.reopened as i64
                        ],
                    )
                    .map_err(wrap)
                    .map(|_| counts),
                None => Ok(counts),
            })
            .and_then(|counts| tx.commit().map_err(wrap).map(|()| counts)),
        };
        if done.is_err() {
            // ids added in the rolled-back transaction are not in the store
            incidents = HashMap::new();
        }
        self.incidents = incidents;
        if self.incidents.is_empty() {
            self.incidents = self.incident_ids()?;
        }
        if let Ok(c) = &done {
            tracing::trace!(
                run,
                rows = batch.rows(),
                stored = c.stored,
                duplicate = c.duplicate,
                quarantined = c.quarantined,
                new_findings = c.new_findings,
                reopened = c.reopened,
                elapsed_us = clock.elapsed().as_micros() as u64,
                "batch committed"
            );
        }
        done
    }

    fn finish_run(&mut self, run: i64, read: u64, counts: BatchCounts) -> Result<()> {
        let r = self.conn.execute(
            "UPDATE ingest_run SET finished_at = ?2, rows_read = ?3, stored = ?4, duplicate = ?5,
                 quarantined = ?6 WHERE id = ?1",
            params![
                run,
                now(),
                read as i64,
                counts.stored as i64,
                counts.duplicate as i64,
                counts.quarantined as i64
            ],
        );
        self.db(r).map(drop)
    }

    fn totals(&self) -> Result<Totals> {
        let r = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM finding), (SELECT COUNT(*) FROM observation),
                    (SELECT COUNT(*) FROM quarantine)",
            [],
            |r| {
                Ok(Totals {
                    findings: r.get::<_, i64>(0)? as u64,
                    observations: r.get::<_, i64>(1)? as u64,
                    quarantined: r.get::<_, i64>(2)? as u64,
                })
            },
        );
        self.db(r)
    }

    fn finding_states(&self) -> Result<Vec<(FindingState, u64)>> {
        let counts = self.state_counts("finding")?;
        let mut out = Vec::new();
        for (text, n) in counts {
            let state = FindingState::parse(&text).ok_or_else(|| {
                StoreError::unreadable("finding state", "finding", "any", "state", &text)
            })?;
            out.push((state, n));
        }
        out.sort_by_key(|(s, _)| FindingState::ALL.iter().position(|a| a == s));
        Ok(out)
    }

    fn quarantined(&self, limit: usize) -> Result<(Vec<QuarantineRecord>, u64)> {
        let total: i64 =
            self.db(self
                .conn
                .query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0)))?;
        let rows = self.db((|| {
            self.conn
                .prepare(
                    "SELECT run_id, file, line, field, reason, raw FROM quarantine
                     ORDER BY id DESC LIMIT ?1",
                )?
                .query_map([limit.min(i64::MAX as usize) as i64], |r| {
                    Ok(QuarantineRecord {
                        run: r.get(0)?,
                        file: r.get(1)?,
                        line: r.get::<_, i64>(2)? as u64,
                        field: r.get(3)?,
                        reason: r.get(4)?,
                        raw: r.get(5)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })())?;
        Ok((rows, total as u64))
    }

    fn run(&self, id: i64) -> Result<RunRecord> {
        let r = self.conn.query_row(
            "SELECT file, feed, started_at, tlp, supplied_by, source FROM ingest_run WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            },
        );
        let (file, feed, started_at, tlp, supplied_by, source) = self.db(r)?;
        RunRecord::from_columns(id, file, feed, started_at, tlp, supplied_by, source)
    }

    fn incidents(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT i.name, COUNT(*) AS n FROM finding f JOIN incident i ON i.id = f.incident_id
             GROUP BY i.name ORDER BY n DESC, i.name",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn finding_records(&self, q: &FindingQuery) -> Result<Vec<FindingRecord>> {
        let mut sql = format!(
            "SELECT {FINDING_COLUMNS} FROM finding f JOIN incident i ON i.id = f.incident_id
             JOIN chunk c ON c.id = f.last_chunk WHERE 1"
        );
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        let mut arg = |sql: &mut String, cond: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("?{}", args.len())));
        };
        if let Some(incident) = &q.incident {
            arg(&mut sql, " AND i.name = ?", incident.clone().into());
        }
        if let Some(org) = &q.org {
            arg(
                &mut sql,
                " AND f.owner_kind = 'organisation' AND f.owner = ?",
                org.clone().into(),
            );
        }
        if let Some(state) = q.state {
            arg(
                &mut sql,
                " AND f.state = ?",
                state.as_str().to_string().into(),
            );
        }
        if let Some(since) = q.since {
            arg(&mut sql, " AND f.last_seen >= ?", since.into());
        }
        if let Some(id) = q.id {
            arg(&mut sql, " AND f.id = ?", id.into());
        }
        sql.push_str(" ORDER BY f.id");
        let mut stmt = self.db(self.conn.prepare(&sql))?;
        let rows = self.db(stmt.query_map(rusqlite::params_from_iter(args), finding_from_row))?;
        let mut out = Vec::new();
        for row in rows {
            let (mut f, kind, owner, rule, state) = self.db(row)?;
            f.attribution = attribution_from_columns(f.id, &kind, owner, &rule, String::new())?;
            f.state = FindingState::parse(&state).ok_or_else(|| {
                StoreError::unreadable("finding state", "finding", f.id, "state", &state)
            })?;
            out.push(f);
        }
        Ok(out)
    }

    fn observations(&self, finding: i64) -> Result<Vec<ObservationRecord>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT seen_at, chunk_id, row FROM observation WHERE finding_id = ?1 ORDER BY seen_at",
        ))?;
        let rows = self.db(stmt.query_map([finding], |r| {
            Ok(ObservationRecord {
                finding,
                seen_at: r.get(0)?,
                row: RowRef {
                    chunk: r.get(1)?,
                    row: r.get(2)?,
                },
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn chunk(&self, id: i64) -> Result<Chunk> {
        let r = self.conn.query_row(
            "SELECT run_id, kind, first_line, skip, rows, data FROM chunk WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                ))
            },
        );
        let (run, kind, first_line, skip, rows, data) = self.db(r)?;
        let corrupt = |detail: String| StoreError::Corrupt {
            what: "kept rows",
            detail: format!("chunk {id}: {detail}"),
        };
        let kind = match kind.as_str() {
            "text" => ChunkKind::Text,
            "events" => ChunkKind::Events,
            other => {
                return Err(StoreError::unreadable(
                    "chunk kind",
                    "chunk",
                    id,
                    "kind",
                    other,
                ));
            }
        };
        let data = zstd::stream::decode_all(&data[..]).map_err(|e| corrupt(e.to_string()))?;
        Ok(Chunk {
            id,
            run,
            kind,
            first_line: first_line as u64,
            skip,
            rows,
            data,
        })
    }

    fn link_incident(&mut self, incident: &str, finding_ids: &[i64]) -> Result<()> {
        let wrap = &self.wrap();
        let mut incidents = std::mem::take(&mut self.incidents);
        let tx = self.conn.transaction().map_err(wrap)?;
        let done = (|| {
            let target = incident_id(&tx, &mut incidents, incident, &wrap)?;
            let mut copy = tx
                .prepare(
                    "INSERT INTO finding (incident_id, addr, port, transport, owner_kind, owner,
                         rule, first_seen, last_seen, times_seen, state, last_chunk, last_row)
                     SELECT ?1, addr, port, transport, owner_kind, owner, rule, first_seen,
                         last_seen, times_seen, state, last_chunk, last_row
                     FROM finding WHERE id = ?2
                     ON CONFLICT (incident_id, addr, port, transport) DO NOTHING",
                )
                .map_err(wrap)?;
            let mut observations = tx
                .prepare(
                    "INSERT OR IGNORE INTO observation (finding_id, seen_at, chunk_id, row)
                     SELECT ?1, seen_at, chunk_id, row FROM observation WHERE finding_id = ?2",
                )
                .map_err(wrap)?;
            for &id in finding_ids {
                if copy.execute(params![target, id]).map_err(wrap)? == 1 {
                    observations
                        .execute(params![tx.last_insert_rowid(), id])
                        .map_err(wrap)?;
                }
            }
            Ok(())
        })();
        let done = done.and_then(|()| tx.commit().map_err(wrap));
        self.incidents = incidents;
        if done.is_err() {
            // ids added in the rolled-back transaction are not in the store
            self.incidents = self.incident_ids()?;
        }
        done
    }

    fn transition(&mut self, changes: &[Transition]) -> Result<Vec<TransitionOutcome>> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        let outcomes = transition_in(&tx, changes, &wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(outcomes)
    }

    fn transitions(&self, finding: i64) -> Result<Vec<TransitionRecord>> {
        self.query_transitions(
            &format!(
                "SELECT {TRANSITION_COLUMNS} FROM transition WHERE finding_id = ?1 ORDER BY id"
            ),
            [finding.to_string()],
        )
    }

    fn incident_transitions(&self, incident: &str) -> Result<Vec<TransitionRecord>> {
        self.query_transitions(
            &format!(
                "SELECT {TRANSITION_COLUMNS} FROM transition
                 WHERE finding_id IN (SELECT f.id FROM finding f JOIN incident i
                                      ON i.id = f.incident_id WHERE i.name = ?1)
                 ORDER BY id"
            ),
            [incident.to_string()],
        )
    }

    fn count_absences(&mut self, run: i64, needed: u32) -> Result<Absences> {
        let clock = std::time::Instant::now();
        let wrap = &self.wrap();
        let window: Option<(String, i64, i64)> = self
            .conn
            .query_row(
                "SELECT kind, seen_from, seen_until FROM ingest_run
                 WHERE id = ?1 AND kind IS NOT NULL AND seen_from IS NOT NULL",
                [run],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(wrap)?;
        let Some((kind, from, until)) = window else {
            // a run that stored no row with a time says nothing about what it did not hold
            return Ok(Absences::default());
        };
        let last: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(id), 0) FROM finding", [], |r| r.get(0))
            .map_err(wrap)?;
        let mut absences = Absences::default();
        // By ranges of finding ids, one transaction each: a day's report may leave tens of
        // thousands of findings behind, and one transaction over all of them would hold every
        // page it touched in memory. A range is whole or not at all; after a kill, storing the
        // same report again counts the ranges that were not (counting a report twice, or an
        // older one, changes nothing).
        let mut lo = 0;
        while lo < last {
            let hi = lo + ABSENCE_RANGE;
            let tx = self.conn.transaction().map_err(wrap)?;
            // findings whose latest row came from a report of the same kind, last seen
            // before this report's first row, and not yet counted for a report this late
            let missing = tx
                .prepare_cached(
                    "UPDATE finding SET misses = misses + 1, checked_until = ?3
                     WHERE id > ?4 AND id <= ?5
                       AND last_seen < ?2 AND (checked_until IS NULL OR checked_until < ?2)
                       AND state <> 'verified-fixed'
                       AND last_chunk IN (SELECT c.id FROM chunk c JOIN ingest_run r
                                          ON r.id = c.run_id WHERE r.kind = ?1)",
                )
                .and_then(|mut st| st.execute(params![kind, from, until, lo, hi]))
                .map_err(wrap)?;
            let fixed: Vec<i64> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id FROM finding WHERE id > ?4 AND id <= ?5 AND checked_until = ?1
                           AND misses >= ?2 AND state <> 'verified-fixed' AND last_seen < ?3
                         ORDER BY id",
                    )
                    .map_err(wrap)?;
                let rows = stmt
                    .query_map(params![until, needed.max(1), from, lo, hi], |r| r.get(0))
                    .map_err(wrap)?;
                rows.collect::<rusqlite::Result<_>>().map_err(wrap)?
            };
            for page in fixed.chunks(TRANSITION_PAGE) {
                let changes: Vec<Transition> = page
                    .iter()
                    .map(|&finding| Transition {
                        finding,
                        to: Some(FindingState::VerifiedFixed),
                        cause: Cause::Report,
                        reference: Some(format!("run {run}")),
                        by: None,
                        note: Some(format!(
                            "not in {needed} later {kind} report(s) in a row",
                            needed = needed.max(1)
                        )),
                    })
                    .collect();
                transition_in(&tx, &changes, &wrap)?;
            }
            tx.commit().map_err(wrap)?;
            absences.missing += missing as u64;
            absences.verified_fixed.extend(fixed);
            lo = hi;
        }
        tracing::debug!(
            run,
            kind = %kind,
            missing = absences.missing,
            verified_fixed = absences.verified_fixed.len(),
            elapsed_ms = clock.elapsed().as_millis() as u64,
            "absences counted"
        );
        Ok(absences)
    }

    fn put_exploitation(&mut self, name: &str, since: i64, source: &str) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO exploitation (name, since, source) VALUES (lower(?1), ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET since = excluded.since, source = excluded.source
             WHERE excluded.since < exploitation.since",
            params![name, since, source],
        );
        self.db(r).map(drop)
    }

    fn exploitation(&self, name: &str) -> Result<Option<(i64, String)>> {
        let r = self
            .conn
            .query_row(
                "SELECT since, source FROM exploitation WHERE name = lower(?1)",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional();
        self.db(r)
    }

    fn prune(&mut self, before: &str, dry_run: bool) -> Result<Pruned> {
        let wrap = &self.wrap();
        let cut = chrono::DateTime::parse_from_rfc3339(before)
            .map_err(|e| StoreError::Corrupt {
                what: "prune cut-off",
                detail: format!("{before:?} is not an RFC 3339 time: {e}"),
            })?
            .timestamp();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS pruned_chunk (id INTEGER PRIMARY KEY);
             DELETE FROM pruned_chunk;",
        )
        .map_err(wrap)?;
        // the chunks that may be left without an observation: those that lose one, and
        // those of runs started before the cut-off (rows all quarantined or duplicates)
        tx.execute(
            "INSERT OR IGNORE INTO pruned_chunk
             SELECT DISTINCT o.chunk_id FROM observation o WHERE o.seen_at < ?1 AND o.seen_at > 0
             UNION SELECT c.id FROM chunk c JOIN ingest_run r ON r.id = c.run_id
                 WHERE r.started_at < ?2",
            params![cut, before],
        )
        .map_err(wrap)?;
        // an observation goes by its own time.source; one whose row had none, by its run's start
        let observations = tx
            .execute(
                "DELETE FROM observation WHERE
                     (seen_at > 0 AND seen_at < ?1)
                     OR (seen_at = 0 AND chunk_id IN (SELECT c.id FROM chunk c
                         JOIN ingest_run r ON r.id = c.run_id WHERE r.started_at < ?2))",
                params![cut, before],
            )
            .map_err(wrap)?;
        let findings = tx
            .execute(
                "DELETE FROM finding WHERE last_seen < ?1 AND NOT EXISTS
                     (SELECT 1 FROM observation o WHERE o.finding_id = finding.id)",
                [cut],
            )
            .map_err(wrap)?;
        tx.execute(
            "DELETE FROM pruned_chunk WHERE EXISTS
                 (SELECT 1 FROM observation o WHERE o.chunk_id = pruned_chunk.id)",
            [],
        )
        .map_err(wrap)?;
        // a finding whose latest row went points at the latest row it still has
        tx.execute(
            "UPDATE finding SET (last_chunk, last_row) = (
                 SELECT o.chunk_id, o.row FROM observation o WHERE o.finding_id = finding.id
                 ORDER BY o.seen_at DESC LIMIT 1)
             WHERE last_chunk IN (SELECT id FROM pruned_chunk)
                 AND EXISTS (SELECT 1 FROM observation o WHERE o.finding_id = finding.id)",
            [],
        )
        .map_err(wrap)?;
        let chunks = tx
            .execute(
                "DELETE FROM chunk WHERE id IN (SELECT id FROM pruned_chunk)",
                [],
            )
            .map_err(wrap)?;
        // a quarantined row has no time of its own: it goes with its run's start
        let quarantined = tx
            .execute(
                "DELETE FROM quarantine WHERE run_id IN (SELECT id FROM ingest_run WHERE started_at < ?1)",
                [before],
            )
            .map_err(wrap)?;
        tx.execute_batch("DROP TABLE pruned_chunk;").map_err(wrap)?;
        let pruned = Pruned {
            findings: findings as u64,
            observations: observations as u64,
            chunks: chunks as u64,
            quarantined: quarantined as u64,
        };
        if dry_run {
            // the same deletions, counted, then undone
            tx.rollback().map_err(wrap)?;
        } else {
            tx.commit().map_err(wrap)?;
        }
        tracing::info!(
            before,
            dry_run,
            findings = pruned.findings,
            observations = pruned.observations,
            chunks = pruned.chunks,
            quarantined = pruned.quarantined,
            "prune"
        );
        Ok(pruned)
    }
}

impl MessageStore for SqliteStore {
    fn message(&self, key: &str) -> Result<Option<MessageRecord>> {
        let r = self
            .conn
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM message WHERE key = ?1"),
                [key],
                message_from_row,
            )
            .optional();
        self.db(r)
    }

    fn record_message(
        &mut self,
        m: &MessageRecord,
        findings: &[MessageFinding],
    ) -> Result<MessageRecord> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        let added = tx
            .execute(
                "INSERT OR IGNORE INTO message (key, incident, recipient, party, path, findings,
                     state, detail, created_at, sent_at, ticket, round, kind)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    m.key,
                    m.incident,
                    m.recipient,
                    m.party,
                    m.path,
                    m.findings as i64,
                    m.state.as_str(),
                    m.detail,
                    m.created_at,
                    m.sent_at,
                    m.ticket,
                    m.round,
                    m.kind.as_str(),
                ],
            )
            .map_err(wrap)?;
        if added == 1 {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO message_finding (message_key, finding_id, form)
                     VALUES (?1, ?2, ?3)",
                )
                .map_err(wrap)?;
            for f in findings {
                insert
                    .execute(params![m.key, f.finding, f.form])
                    .map_err(wrap)?;
            }
        }
        let stored = tx
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM message WHERE key = ?1"),
                [&m.key],
                message_from_row,
            )
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(stored)
    }

    fn message_findings(&self, key: &str) -> Result<Vec<MessageFinding>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT finding_id, form FROM message_finding WHERE message_key = ?1
             ORDER BY finding_id",
        ))?;
        let rows = self.db(stmt.query_map([key], |r| {
            Ok(MessageFinding {
                finding: r.get(0)?,
                form: r.get(1)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn disclosures(&self, incident: &str) -> Result<Vec<Disclosure>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT m.key, m.party, mf.finding_id, mf.form, m.state
             FROM message m JOIN message_finding mf ON mf.message_key = m.key
             WHERE m.incident = ?1 ORDER BY m.party, mf.finding_id",
        ))?;
        let rows = self.db(stmt.query_map([incident], |r| {
            let message: String = r.get(0)?;
            let state: String = r.get(4)?;
            Ok(Disclosure {
                party: r.get(1)?,
                finding: r.get(2)?,
                form: r.get(3)?,
                state: message_state(&message, 4, &state)?,
                message,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn ticket(&mut self, incident: &str, party: &str) -> Result<i64> {
        let r = self.conn.execute(
            "INSERT INTO ticket (incident, party) VALUES (?1, ?2)
             ON CONFLICT (incident, party) DO NOTHING",
            params![incident, party],
        );
        self.db(r)?;
        let r = self.conn.query_row(
            "SELECT id FROM ticket WHERE incident = ?1 AND party = ?2",
            params![incident, party],
            |r| r.get(0),
        );
        self.db(r)
    }

    fn ticket_messages(&self, ticket: i64) -> Result<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM message WHERE ticket = ?1 ORDER BY round, created_at"
        );
        let mut stmt = self.db(self.conn.prepare(&sql))?;
        let rows = self.db(stmt.query_map([ticket], message_from_row))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn set_message_state(&mut self, key: &str, state: MessageState, detail: &str) -> Result<()> {
        let sent_at = (state == MessageState::Sent).then(now);
        let r = self.conn.execute(
            "UPDATE message SET state = ?2, detail = ?3, sent_at = COALESCE(?4, sent_at)
             WHERE key = ?1",
            params![key, state.as_str(), detail, sent_at],
        );
        self.db(r).map(drop)
    }

    fn message_states(&self) -> Result<Vec<(MessageState, u64)>> {
        let order = [
            MessageState::Pending,
            MessageState::Sending,
            MessageState::Sent,
            MessageState::Failed,
        ];
        let mut out = Vec::new();
        for (text, n) in self.state_counts("message")? {
            let state = MessageState::parse(&text).ok_or_else(|| {
                StoreError::unreadable("message state", "message", "any", "state", &text)
            })?;
            out.push((state, n));
        }
        out.sort_by_key(|(s, _)| order.iter().position(|a| a == s));
        Ok(out)
    }

    fn messages(&self, incident: Option<&str>) -> Result<Vec<MessageRecord>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM message WHERE ?1 IS NULL OR incident = ?1
             ORDER BY created_at, key"
        );
        let mut stmt = self.db(self.conn.prepare(&sql))?;
        let rows = self.db(stmt.query_map([incident], message_from_row))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }
}

impl AdvisoryStore for SqliteStore {
    fn put_advisory(&mut self, a: &AdvisoryRecord) -> Result<AdvisoryPut> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        let known: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM advisory WHERE id = ?1",
                [&a.id],
                |r| r.get(0),
            )
            .map_err(wrap)?;
        let inserted = tx
            .execute(
                &format!(
                    "INSERT OR IGNORE INTO advisory ({ADVISORY_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                ),
                params![
                    a.id,
                    a.sha256,
                    a.revision,
                    a.format,
                    a.released,
                    a.title,
                    a.tlp,
                    a.highest_score,
                    a.highest_vector,
                    a.source,
                    a.imported_at,
                    a.document
                ],
            )
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(match (inserted, known) {
            (0, _) => AdvisoryPut::Unchanged,
            (_, 0) => AdvisoryPut::New,
            _ => AdvisoryPut::Revision,
        })
    }

    fn advisory_revisions(&self, id: &str) -> Result<Vec<AdvisoryRecord>> {
        let sql = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisory WHERE id = ?1
             ORDER BY COALESCE(released, imported_at), imported_at"
        );
        let mut stmt = self.db(self.conn.prepare(&sql))?;
        let rows = self.db(stmt.query_map([id], advisory_from_row))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn advisories(&self) -> Result<Vec<AdvisoryRecord>> {
        // The latest revision per id: the greatest (release, import time).
        let sql = format!(
            "SELECT {ADVISORY_COLUMNS} FROM advisory a WHERE NOT EXISTS (
                 SELECT 1 FROM advisory b WHERE b.id = a.id AND
                   (COALESCE(b.released, b.imported_at), b.imported_at)
                   > (COALESCE(a.released, a.imported_at), a.imported_at))
             ORDER BY id"
        );
        let mut stmt = self.db(self.conn.prepare(&sql))?;
        let rows = self.db(stmt.query_map([], advisory_from_row))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }
}

impl InventoryStore for SqliteStore {
    fn replace_inventories(&mut self, inventories: &[InventoryReplacement<'_>]) -> Result<()> {
        let wrap = &self.wrap();
        let at = now();
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut delete = tx
                .prepare("DELETE FROM inventory WHERE org = ?1 AND source = ?2")
                .map_err(wrap)?;
            let mut insert = tx
                .prepare(
                    "INSERT INTO inventory (org, source, cpe, purl, name, version, host, place, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(wrap)?;
            for InventoryReplacement {
                org,
                source,
                entries,
            } in inventories
            {
                delete.execute([org, source]).map_err(wrap)?;
                for e in *entries {
                    insert
                        .execute(params![
                            org, source, e.cpe, e.purl, e.name, e.version, e.host, e.place, at
                        ])
                        .map_err(wrap)?;
                }
            }
        }
        tx.commit().map_err(wrap)
    }

    fn inventory(&self) -> Result<Vec<InventoryRecord>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT org, source, cpe, purl, name, version, host, place FROM inventory
             ORDER BY org, source, rowid",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok(InventoryRecord {
                org: r.get(0)?,
                source: r.get(1)?,
                cpe: r.get(2)?,
                purl: r.get(3)?,
                name: r.get(4)?,
                version: r.get(5)?,
                host: r.get(6)?,
                place: r.get(7)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }
}

impl AuditStore for SqliteStore {
    fn append_audit(&mut self, entries: &[NewAuditEntry]) -> Result<()> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        append_audit_in(&tx, entries, &wrap)?;
        tx.commit().map_err(wrap)
    }

    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT seq, at, kind, subject, body, prev_hash, hash FROM audit ORDER BY seq",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                subject: r.get(3)?,
                body: r.get(4)?,
                prev_hash: r.get(5)?,
                hash: r.get(6)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn decision_digests(&self, incident: &str) -> Result<HashMap<(String, String), String>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT subject, recipient, digest FROM decision_logged WHERE incident = ?1",
        ))?;
        let rows =
            self.db(stmt.query_map([incident], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?))))?;
        let collected: rusqlite::Result<HashMap<_, _>> = rows.collect();
        self.db(collected)
    }

    fn append_decisions(
        &mut self,
        incident: &str,
        entries: &[NewAuditEntry],
        digests: &[(String, String, String)],
    ) -> Result<()> {
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        append_audit_in(&tx, entries, &wrap)?;
        {
            let mut mark = tx
                .prepare_cached(
                    "INSERT INTO decision_logged (incident, subject, recipient, digest)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (incident, subject, recipient) DO UPDATE SET digest = excluded.digest",
                )
                .map_err(wrap)?;
            for (subject, recipient, digest) in digests {
                mark.execute(params![incident, subject, recipient, digest])
                    .map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let r = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional();
        self.db(r)
    }

    fn add_audit_checkpoint(&mut self, c: &audit::Checkpoint) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO audit_checkpoint (seq, hash, at, signature, public_key)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![c.seq, c.hash, c.at, c.signature, c.public_key],
        );
        self.db(r).map(drop)
    }

    fn audit_checkpoints(&self) -> Result<Vec<audit::Checkpoint>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT seq, hash, at, signature, public_key FROM audit_checkpoint ORDER BY id",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok(audit::Checkpoint {
                seq: r.get(0)?,
                hash: r.get(1)?,
                at: r.get(2)?,
                signature: r.get(3)?,
                public_key: r.get(4)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }
}

impl TimelineStore for SqliteStore {
    fn add_step(&mut self, s: &TimelineStep) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO timeline (incident, step, at, detail) VALUES (?1, ?2, ?3, ?4)",
            params![s.incident, s.step, s.at, s.detail],
        );
        self.db(r).map(drop)
    }

    fn timeline(&self, incident: &str) -> Result<Vec<TimelineStep>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT incident, step, at, detail FROM timeline
             WHERE incident = ?1 OR incident = '*' ORDER BY at, id",
        ))?;
        let rows = self.db(stmt.query_map([incident], |r| {
            Ok(TimelineStep {
                incident: r.get(0)?,
                step: r.get(1)?,
                at: r.get(2)?,
                detail: r.get(3)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }
}

impl SyncStateStore for SqliteStore {
    fn sync_state(&self, source: &str) -> Result<Option<String>> {
        let r = self
            .conn
            .query_row(
                "SELECT state FROM sync_state WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .optional();
        self.db(r)
    }

    fn put_sync_state(&mut self, source: &str, state: &str) -> Result<()> {
        let r = self.conn.execute(
            "INSERT INTO sync_state (source, state, synced_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (source) DO UPDATE SET state = excluded.state, synced_at = excluded.synced_at",
            params![source, state, now()],
        );
        self.db(r).map(drop)
    }
}

impl TokenStore for SqliteStore {
    fn add_token(
        &mut self,
        party: &str,
        analyst: bool,
        hash: &str,
        expires_at: Option<&str>,
    ) -> Result<i64> {
        let r = self.conn.execute(
            "INSERT INTO api_token (party, analyst, hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![party, analyst, hash, now(), expires_at],
        );
        self.db(r)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>> {
        self.token_rows("SELECT id, party, analyst, hash, created_at, expires_at, revoked_at FROM api_token ORDER BY id", None)
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self
            .token_rows(
                "SELECT id, party, analyst, hash, created_at, expires_at, revoked_at FROM api_token WHERE hash = ?1",
                Some(hash),
            )?
            .into_iter()
            .next())
    }

    fn revoke_token(&mut self, id: i64) -> Result<bool> {
        let r = self.conn.execute(
            "UPDATE api_token SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now()],
        );
        Ok(self.db(r)? == 1)
    }
}

impl IncidentReportStore for SqliteStore {
    fn add_report_stage(&mut self, stage: &NewReportStage) -> Result<Option<i64>> {
        let fingerprint = stage.fingerprint();
        let wrap = &self.wrap();
        let tx = self.conn.transaction().map_err(wrap)?;
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO incident_report_stage
                 (fingerprint, organisation, reference, stage, at, by, tlp, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    &fingerprint[..],
                    stage.organisation,
                    stage.reference,
                    stage.stage,
                    now(),
                    stage.by,
                    stage.tlp,
                    stage.body
                ],
            )
            .map_err(wrap)?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = tx.last_insert_rowid();
        append_audit_in(
            &tx,
            &[NewAuditEntry {
                kind: "incident-report".into(),
                subject: stage.organisation.clone(),
                body: serde_json::json!({
                    "id": id,
                    "reference": stage.reference,
                    "stage": stage.stage,
                    "by": stage.by,
                    "tlp": stage.tlp,
                })
                .to_string(),
            }],
            wrap,
        )?;
        tx.commit().map_err(wrap)?;
        Ok(Some(id))
    }

    fn report_stages(&self) -> Result<Vec<ReportStageRecord>> {
        self.db((|| {
            self.conn
                .prepare(
                    "SELECT id, organisation, reference, stage, at, by, tlp, body
                     FROM incident_report_stage ORDER BY id",
                )?
                .query_map([], |r| {
                    Ok(ReportStageRecord {
                        id: r.get(0)?,
                        organisation: r.get(1)?,
                        reference: r.get(2)?,
                        stage: r.get(3)?,
                        at: r.get(4)?,
                        by: r.get(5)?,
                        tlp: r.get(6)?,
                        body: r.get(7)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
        })())
    }
}

impl WebhookStore for SqliteStore {
    fn add_webhook(&mut self, party: &str, url: &str, secret: &str) -> Result<i64> {
        let r = self.conn.execute(
            "INSERT INTO webhook (party, url, secret, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![party, url, secret, now()],
        );
        self.db(r)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn webhooks(&self) -> Result<Vec<WebhookRecord>> {
        let mut stmt = self.db(self.conn.prepare_cached(
            "SELECT id, party, url, secret, created_at FROM webhook WHERE removed_at IS NULL ORDER BY id",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok(WebhookRecord {
                id: r.get(0)?,
                party: r.get(1)?,
                url: r.get(2)?,
                secret: r.get(3)?,
                created_at: r.get(4)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn remove_webhook(&mut self, id: i64) -> Result<bool> {
        let r = self.conn.execute(
            "UPDATE webhook SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
            params![id, now()],
        );
        Ok(self.db(r)? == 1)
    }

    fn enqueue_webhook_event(
        &mut self,
        webhook: i64,
        event_id: &str,
        payload: &str,
    ) -> Result<bool> {
        let r = self.conn.execute(
            "INSERT INTO webhook_delivery (webhook_id, event_id, payload, next_attempt)
             VALUES (?1, ?2, ?3, 0) ON CONFLICT (webhook_id, event_id) DO NOTHING",
            params![webhook, event_id, payload],
        );
        Ok(self.db(r)? == 1)
    }

    fn due_webhook_events(&self, now: i64, limit: usize) -> Result<Vec<WebhookDelivery>> {
        let mut stmt = self.db(self.conn.prepare_cached(
            "SELECT d.id, d.webhook_id, d.event_id, d.payload, d.attempts
             FROM webhook_delivery d JOIN webhook w ON w.id = d.webhook_id
             WHERE d.delivered_at IS NULL AND w.removed_at IS NULL AND d.next_attempt <= ?1
             ORDER BY d.id LIMIT ?2",
        ))?;
        let rows = self.db(stmt.query_map(params![now, limit as i64], |r| {
            Ok(WebhookDelivery {
                id: r.get(0)?,
                webhook: r.get(1)?,
                event_id: r.get(2)?,
                payload: r.get(3)?,
                attempts: r.get(4)?,
            })
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn webhook_attempted(
        &mut self,
        delivery: i64,
        outcome: std::result::Result<(), (&str, i64)>,
    ) -> Result<()> {
        let r = match outcome {
            Ok(()) => self.conn.execute(
                "UPDATE webhook_delivery SET attempts = attempts + 1, delivered_at = ?2,
                 last_error = NULL WHERE id = ?1",
                params![delivery, now()],
            ),
            Err((error, retry_at)) => self.conn.execute(
                "UPDATE webhook_delivery SET attempts = attempts + 1, last_error = ?2,
                 next_attempt = ?3 WHERE id = ?1",
                params![delivery, error, retry_at],
            ),
        };
        self.db(r).map(drop)
    }
}

impl SqliteStore {
    /// `state` and how many rows of `table` have it (`table` is one of ours, never input).
    fn state_counts(&self, table: &str) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.db(self.conn.prepare(&format!(
            "SELECT state, COUNT(*) FROM {table} GROUP BY state"
        )))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn token_rows(&self, sql: &str, arg: Option<&str>) -> Result<Vec<TokenRecord>> {
        let mut stmt = self.db(self.conn.prepare_cached(sql))?;
        let map = |r: &rusqlite::Row<'_>| {
            Ok(TokenRecord {
                id: r.get(0)?,
                party: r.get(1)?,
                analyst: r.get(2)?,
                hash: r.get(3)?,
                created_at: r.get(4)?,
                expires_at: r.get(5)?,
                revoked_at: r.get(6)?,
            })
        };
        let rows = match arg {
            Some(a) => self
                .db(stmt.query_map([a], map))?
                .collect::<rusqlite::Result<Vec<_>>>(),
            None => self
                .db(stmt.query_map([], map))?
                .collect::<rusqlite::Result<Vec<_>>>(),
        };
        self.db(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audited(n: usize) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let entries: Vec<_> = (0..n)
            .map(|i| NewAuditEntry {
                kind: "decision".into(),
                subject: format!("org-{i}"),
                body: serde_json::json!({"form": "own-assets", "i": i}).to_string(),
            })
            .collect();
        s.append_audit(&entries[..n / 2]).unwrap();
        s.append_audit(&entries[n / 2..]).unwrap();
        (dir, s)
    }

    /// Tampering the way someone with the database file could: triggers dropped first.
    fn tamper(s: &SqliteStore, sql: &str) {
        s.conn
            .execute_batch(&format!(
                "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete; {sql}"
            ))
            .unwrap();
    }

    fn first_break(s: &SqliteStore) -> i64 {
        audit::verify(&s.audit_log().unwrap()).unwrap_err().seq
    }

    #[test]
    fn an_untouched_audit_log_verifies_and_refuses_changes() {
        let (_d, s) = audited(6);
        let v = audit::verify(&s.audit_log().unwrap()).unwrap();
        assert_eq!(v.entries, 6);
        assert_eq!(v.head, s.audit_log().unwrap()[5].hash);
        let err = s
            .conn
            .execute("UPDATE audit SET subject = 'x' WHERE seq = 2", [])
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        assert!(
            s.conn
                .execute("DELETE FROM audit WHERE seq = 2", [])
                .is_err()
        );
    }

    #[test]
    fn an_edited_entry_is_named() {
        let (_d, s) = audited(6);
        tamper(
            &s,
            "UPDATE audit SET body = '{\"form\":\"full\"}' WHERE seq = 3;",
        );
        assert_eq!(first_break(&s), 3);
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let (_d, s) = audited(6);
        tamper(&s, "DELETE FROM audit WHERE seq = 4;");
        assert_eq!(first_break(&s), 5, "the entry after the gap");
    }

    #[test]
    fn an_inserted_entry_is_named() {
        let (_d, s) = audited(6);
        // Renumber 4..6 up by one and slip a forged entry in at 4, hash computed correctly
        // over a made-up predecessor: the chain still breaks.
        tamper(
            &s,
            "UPDATE audit SET seq = seq + 100 WHERE seq >= 4;
             UPDATE audit SET seq = seq - 99 WHERE seq >= 104;",
        );
        let forged_hash = audit::entry_hash(
            audit::GENESIS,
            4,
            "2026-01-01T00:00:00Z",
            "decision",
            "x",
            "{}",
        );
        s.conn
            .execute(
                "INSERT INTO audit VALUES (4, '2026-01-01T00:00:00Z', 'decision', 'x', '{}', ?1, ?2)",
                params![audit::GENESIS, forged_hash],
            )
            .unwrap();
        assert_eq!(first_break(&s), 4);
    }

    #[test]
    fn reordered_entries_are_named() {
        let (_d, s) = audited(6);
        tamper(
            &s,
            "UPDATE audit SET seq = 100 WHERE seq = 2;
             UPDATE audit SET seq = 2 WHERE seq = 3;
             UPDATE audit SET seq = 3 WHERE seq = 100;",
        );
        assert_eq!(first_break(&s), 2);
    }

    /// Deleting the last entries, or rewriting one and recomputing every hash, leaves a
    /// sound chain: a signed checkpoint of the head made before finds both.
    #[test]
    fn checkpoints_find_truncation_and_rewriting_the_chain_cannot() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let checkpointed = |n: usize| {
            let (d, mut s) = audited(n);
            let head = audit::head(&s.audit_log().unwrap());
            let c = audit::Checkpoint::sign(&key, &head, &now());
            s.add_audit_checkpoint(&c).unwrap();
            (d, s)
        };
        let check = |s: &SqliteStore| {
            let log = s.audit_log().unwrap();
            audit::verify(&log).expect("the chain alone is sound");
            let c = &s.audit_checkpoints().unwrap()[0];
            audit::check_checkpoint(&log, c, 1)
                .map_err(|e| e.to_string())
                .unwrap_err()
        };

        let (_d, s) = checkpointed(6);
        tamper(&s, "DELETE FROM audit WHERE seq >= 5;");
        let e = check(&s);
        assert!(e.starts_with("truncated below checkpoint 1"), "{e}");

        let (_d, s) = checkpointed(6);
        let mut log = s.audit_log().unwrap();
        // a recipient was sent a message under entry 4
        let held = audit::Witness {
            seq: 4,
            hash: log[3].hash.clone(),
        };
        log[2].subject = "someone-else".into();
        let mut prev = log[1].hash.clone();
        let mut sql = String::new();
        for e in &mut log[2..] {
            e.prev_hash = prev;
            e.hash = audit::entry_hash(&e.prev_hash, e.seq, &e.at, &e.kind, &e.subject, &e.body);
            prev = e.hash.clone();
            sql += &format!(
                "UPDATE audit SET subject = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {};",
                e.subject, e.prev_hash, e.hash, e.seq
            );
        }
        tamper(&s, &sql);
        let e = check(&s);
        assert!(e.starts_with("entry 6 rewritten since checkpoint 1"), "{e}");
        let e = audit::check_witness(&s.audit_log().unwrap(), &held).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("entry 4 rewritten since the witness"),
            "{e}"
        );
    }

    #[test]
    fn reopening_keeps_data_and_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = SqliteStore::open(dir.path()).unwrap();
            s.replace_routing(
                "t",
                &[RoutedPrefix {
                    net: "198.18.0.0/16".parse().unwrap(),
                    asn: 64496,
                }],
            )
            .unwrap();
        }
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.routing().unwrap().len(), 1);
        assert_eq!(s.integrity_check().unwrap(), Ok(()));
    }
}

#[cfg(test)]
mod upgrade {
    use super::*;
    use crate::FindingQuery;

    /// A store as the release before findings wrote it: schema version 6, one JSON event
    /// per row, linked to incidents.
    fn version_6_store(dir: &Path) {
        let conn = Connection::open(dir.join(DB_FILE)).unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(
            r#"PRAGMA user_version = 6;
            INSERT INTO ingest_run (id, file, feed, started_at, finished_at, rows_read, stored,
                duplicate, quarantined, tlp, supplied_by)
            VALUES (1, 'day1.csv', 'shadowserver', '2026-03-24T07:00:00.000000Z',
                '2026-03-24T07:00:01.000000Z', 3, 3, 0, 0, 'AMBER', NULL);
            INSERT INTO event (id, fingerprint, run_id, file, line, source_ip, owner_kind, org_id,
                abuse_email, rule, attribution, stored_at, body) VALUES
            (1, x'01', 1, 'day1.csv', 2, '198.18.0.1', 'organisation', 'org-1', NULL, 'prefix',
             '{"owner":{"kind":"organisation","id":"org-1"},"rule":"prefix","reason":"198.18.0.1 is in 198.18.0.0/24"}',
             '2026-03-24T07:00:00.500000Z',
             '{"source.ip":"198.18.0.1","source.port":443,"protocol.transport":"tcp","time.source":"2026-03-24T06:00:00+00:00","product.vulnerabilities":"cve-2019-19781"}'),
            (2, x'02', 1, 'day1.csv', 3, '198.18.0.1', 'organisation', 'org-1', NULL, 'prefix',
             '{"owner":{"kind":"organisation","id":"org-1"},"rule":"prefix","reason":"198.18.0.1 is in 198.18.0.0/24"}',
             '2026-03-24T07:00:00.500000Z',
             '{"source.ip":"198.18.0.1","source.port":443,"protocol.transport":"tcp","time.source":"2026-03-24T08:00:00+00:00","product.vulnerabilities":"cve-2019-19781"}'),
            (3, x'03', 1, 'day1.csv', 4, '198.18.0.7', 'unknown', NULL, NULL, 'none',
             '{"owner":{"kind":"unknown"},"rule":"none","reason":"no owner found"}',
             '2026-03-24T07:00:00.500000Z',
             '{"source.ip":"198.18.0.7","source.port":80,"time.source":"2026-03-24T06:30:00+00:00","classification.identifier":"open-http"}');
            INSERT INTO event_incident (incident, event_id) VALUES
                ('cve-2019-19781', 1), ('cve-2019-19781', 2), ('open-http', 3), ('demo-2020-0001', 1);
            INSERT INTO message (key, incident, recipient, party, path, findings, state, detail,
                created_at, sent_at)
            VALUES ('k1', 'cve-2019-19781', 'soc@one.example', 'org-1', 'organisation', 2, 'sent',
                'outbox/k1.eml', '2026-03-24T07:01:00Z', '2026-03-24T07:01:01Z');"#,
        )
        .unwrap();
    }

    #[test]
    fn a_store_of_the_release_before_findings_opens_with_its_events_as_findings() {
        let dir = tempfile::tempdir().unwrap();
        version_6_store(dir.path());
        let s = SqliteStore::open(dir.path()).expect("the old store opens");
        let version: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        let citrix = s
            .finding_records(&FindingQuery {
                incident: Some("cve-2019-19781".into()),
                ..FindingQuery::default()
            })
            .unwrap();
        assert_eq!(citrix.len(), 1, "two events of one host: one finding");
        assert_eq!(citrix[0].times_seen, 2);
        assert_eq!(citrix[0].addr, "198.18.0.1");
        assert_eq!((citrix[0].port, citrix[0].transport.as_str()), (443, "tcp"));
        assert_eq!(
            citrix[0].attribution.owner,
            baken_model::Owner::Organisation {
                id: baken_model::OrgId("org-1".into())
            }
        );
        // the latest event is kept and reads back as it was
        let chunk = s.chunk(citrix[0].last_row.chunk).unwrap();
        assert_eq!(chunk.kind, ChunkKind::Events);
        let line = String::from_utf8(chunk.data).unwrap();
        let row: Event =
            serde_json::from_str(line.lines().nth(citrix[0].last_row.row as usize).unwrap())
                .unwrap();
        assert_eq!(
            row.get_str("time.source"),
            Some("2026-03-24T08:00:00+00:00")
        );
        let run = s.run(citrix[0].run).unwrap();
        assert_eq!(run.file, "day1.csv");
        assert_eq!(run.source.feed, "shadowserver");
        assert_eq!(run.label.tlp, baken_model::Tlp::Amber);
        let incidents = s.incidents().unwrap();
        assert_eq!(incidents.len(), 3, "{incidents:?}");
        assert_eq!(s.messages(None).unwrap().len(), 1, "messages stay");
        let t = s.totals().unwrap();
        assert_eq!((t.findings, t.observations), (3, 4));
        assert_eq!(s.integrity_check().unwrap(), Ok(()));
        // the old tables are gone
        let left: i64 = s
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_schema WHERE name IN ('event', 'event_incident')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn a_store_of_a_newer_release_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        drop(SqliteStore::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch("PRAGMA user_version = 99;").unwrap();
        drop(conn);
        let err = SqliteStore::open(dir.path()).err().expect("refused");
        assert!(
            err.to_string().contains("newer than this baken knows"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod unreadable;
