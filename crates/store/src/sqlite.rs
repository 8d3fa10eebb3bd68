//! The embedded store: one SQLite file in the data directory, WAL journal.

use std::path::{Path, PathBuf};

use baken_model::{AbuseRecord, Attribution, Event, Organisation, Owner, RoutedPrefix};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditEntry, NewAuditEntry};
use crate::schema::MIGRATIONS;
use crate::{
    AdvisoryPut, AdvisoryRecord, BatchCounts, Finding, InventoryRecord, Label, MessageRecord,
    MessageState, NewEvent, QuarantinedRow, Result, Store, StoreError, TimelineStep, now,
};

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "baken.db";

/// The embedded SQLite store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in the data directory `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join(DB_FILE);
        let conn = Connection::open(&path).map_err(|source| StoreError::Database {
            path: path.display().to_string(),
            source,
        })?;
        let mut store = Self { conn, path };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|source| StoreError::Database {
            path: self.path.display().to_string(),
            source,
        })
    }

    fn configure(&mut self) -> Result<()> {
        // WAL: readers never block the writer, and a killed process leaves the last
        // committed transaction intact. NORMAL sync is durable against process crashes.
        let r = self.conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 10000;",
        );
        self.db(r)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: usize = {
            let r = self
                .conn
                .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0));
            self.db(r)? as usize
        };
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let r = self.conn.execute_batch(&format!(
                "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
                i + 1
            ));
            self.db(r)?;
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

    /// Number of stored events per ingest run id, for checking that batches are whole.
    pub fn events_per_run(&self) -> Result<Vec<(i64, u64)>> {
        let mut stmt = self.db(self
            .conn
            .prepare("SELECT run_id, COUNT(*) FROM event GROUP BY run_id ORDER BY run_id"))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)));
        let rows = self.db(rows)?;
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

fn event_fingerprint(event: &Event) -> [u8; 32] {
    let mut h = Sha256::new();
    // each value's JSON text (the bytes of `Value::to_string`), written into one buffer
    // rather than a new string per field
    let mut text = Vec::with_capacity(256);
    for (k, v) in event.iter() {
        if k == "time.observation" {
            continue;
        }
        h.update(k.as_bytes());
        h.update([0]);
        text.clear();
        serde_json::to_writer(&mut text, v).expect("a JSON value always serialises");
        h.update(&text);
        h.update([0]);
    }
    h.finalize().into()
}

fn quarantine_fingerprint(row: &QuarantinedRow<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(row.file.as_bytes());
    h.update([0]);
    h.update(row.line.to_le_bytes());
    h.update(row.raw.as_bytes());
    h.finalize().into()
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("model types always serialise")
}

fn message_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    let state: String = r.get(6)?;
    Ok(MessageRecord {
        key: r.get(0)?,
        incident: r.get(1)?,
        recipient: r.get(2)?,
        party: r.get(3)?,
        path: r.get(4)?,
        findings: r.get::<_, i64>(5)? as u64,
        state: MessageState::parse(&state).unwrap_or(MessageState::Pending),
        detail: r.get(7)?,
        created_at: r.get(8)?,
        sent_at: r.get(9)?,
    })
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

const MESSAGE_COLUMNS: &str =
    "key, incident, recipient, party, path, findings, state, detail, created_at, sent_at";

impl Store for SqliteStore {
    fn replace_organisations(&mut self, orgs: &[Organisation]) -> Result<()> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute("DELETE FROM organisation", []).map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare("INSERT INTO organisation (id, body) VALUES (?1, ?2)")
                .map_err(wrap)?;
            for org in orgs {
                stmt.execute(params![org.id.0, json(org)]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn organisations(&self) -> Result<Vec<Organisation>> {
        self.query_json("SELECT body FROM organisation ORDER BY id", "organisation")
    }

    fn replace_routing(&mut self, source: &str, prefixes: &[RoutedPrefix]) -> Result<()> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
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
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
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

    fn begin_run(&mut self, file: &str, feed: &str, label: &Label) -> Result<i64> {
        let r = self.conn.execute(
            "INSERT INTO ingest_run (file, feed, started_at, tlp, supplied_by)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                file,
                feed,
                now(),
                label.tlp.label().trim_start_matches("TLP:"),
                label.supplied_by
            ],
        );
        self.db(r)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn store_batch(
        &mut self,
        run: i64,
        events: &[NewEvent<'_>],
        quarantined: &[QuarantinedRow<'_>],
    ) -> Result<BatchCounts> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let stored_at = now();
        let mut counts = BatchCounts::default();
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO event (fingerprint, run_id, file, line, source_ip,
                         owner_kind, org_id, abuse_email, rule, attribution, stored_at, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(wrap)?;
            let mut link = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO event_incident (incident, event_id) VALUES (?1, ?2)",
                )
                .map_err(wrap)?;
            for e in events {
                let (kind, org, abuse) = match &e.attribution.owner {
                    Owner::Organisation { id } => ("organisation", Some(id.0.as_str()), None),
                    Owner::Abuse(c) => ("abuse", None, Some(c.email.as_str())),
                    Owner::Unknown => ("unknown", None, None),
                };
                let changed = insert
                    .execute(params![
                        &event_fingerprint(e.event)[..],
                        run,
                        e.file,
                        e.line as i64,
                        e.event.get_str("source.ip"),
                        kind,
                        org,
                        abuse,
                        e.attribution.rule.as_str(),
                        json(e.attribution),
                        stored_at,
                        e.event.to_json_line(),
                    ])
                    .map_err(wrap)?;
                if changed == 0 {
                    counts.duplicate += 1;
                    continue;
                }
                counts.stored += 1;
                let id = tx.last_insert_rowid();
                for incident in e.incidents {
                    link.execute(params![incident, id]).map_err(wrap)?;
                }
            }
            let mut quarantine = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO quarantine (fingerprint, run_id, file, line, field, reason, raw)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(wrap)?;
            for q in quarantined {
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
        }
        tx.commit().map_err(wrap)?;
        Ok(counts)
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

    fn totals(&self) -> Result<(u64, u64)> {
        let r = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM event), (SELECT COUNT(*) FROM quarantine)",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        );
        self.db(r)
    }

    fn incidents(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT incident, COUNT(*) AS n FROM event_incident GROUP BY incident
             ORDER BY n DESC, incident",
        ))?;
        let rows = self.db(stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        }))?;
        let collected: rusqlite::Result<Vec<_>> = rows.collect();
        self.db(collected)
    }

    fn findings(&self, incident: &str) -> Result<Vec<Finding>> {
        let mut stmt = self.db(self.conn.prepare(
            "SELECT e.id, e.body, e.attribution, r.tlp, r.feed, r.file, r.supplied_by
             FROM event_incident i JOIN event e ON e.id = i.event_id
             JOIN ingest_run r ON r.id = e.run_id
             WHERE i.incident = ?1 ORDER BY e.id",
        ))?;
        let rows = self.db(stmt.query_map([incident], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        }))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body, attribution, tlp, feed, file, supplied_by) = self.db(row)?;
            let provenance = match supplied_by {
                Some(by) => format!("{feed} {file} (supplied by {by})"),
                None => format!("{feed} {file}"),
            };
            let tlp = tlp.and_then(|t| t.parse().ok());
            let event: Event = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                what: "event",
                detail: format!("event {id}: {e}"),
            })?;
            let attribution: Attribution =
                serde_json::from_str(&attribution).map_err(|e| StoreError::Corrupt {
                    what: "attribution",
                    detail: format!("event {id}: {e}"),
                })?;
            out.push(Finding {
                id,
                event,
                attribution,
                tlp,
                provenance,
            });
        }
        Ok(out)
    }

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

    fn record_message(&mut self, m: &MessageRecord) -> Result<MessageRecord> {
        let r = self.conn.execute(
            "INSERT OR IGNORE INTO message (key, incident, recipient, party, path, findings, state,
                 detail, created_at, sent_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                m.sent_at
            ],
        );
        self.db(r)?;
        self.message(&m.key)?.ok_or(StoreError::Corrupt {
            what: "message",
            detail: format!("{} vanished after insert", m.key),
        })
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

    fn put_advisory(&mut self, a: &AdvisoryRecord) -> Result<AdvisoryPut> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
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

    fn replace_inventory(
        &mut self,
        org: &str,
        source: &str,
        entries: &[InventoryRecord],
    ) -> Result<()> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let at = now();
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute(
            "DELETE FROM inventory WHERE org = ?1 AND source = ?2",
            [org, source],
        )
        .map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO inventory (org, source, cpe, purl, name, version, host, place, imported_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(wrap)?;
            for e in entries {
                stmt.execute(params![
                    org, source, e.cpe, e.purl, e.name, e.version, e.host, e.place, at
                ])
                .map_err(wrap)?;
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

    fn link_incident(&mut self, incident: &str, event_ids: &[i64]) -> Result<()> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT OR IGNORE INTO event_incident (incident, event_id) VALUES (?1, ?2)",
                )
                .map_err(wrap)?;
            for id in event_ids {
                stmt.execute(params![incident, id]).map_err(wrap)?;
            }
        }
        tx.commit().map_err(wrap)
    }

    fn prune(&mut self, before: &str) -> Result<(u64, u64)> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        tx.execute(
            "DELETE FROM event_incident WHERE event_id IN (SELECT id FROM event WHERE stored_at < ?1)",
            [before],
        )
        .map_err(wrap)?;
        let events = tx
            .execute("DELETE FROM event WHERE stored_at < ?1", [before])
            .map_err(wrap)?;
        let quarantined = tx
            .execute(
                "DELETE FROM quarantine WHERE run_id IN (SELECT id FROM ingest_run WHERE started_at < ?1)",
                [before],
            )
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok((events as u64, quarantined as u64))
    }

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

    fn append_audit(&mut self, entries: &[NewAuditEntry]) -> Result<()> {
        let path = self.path.display().to_string();
        let wrap = |source| StoreError::Database {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(wrap)?;
        let (mut seq, mut prev): (i64, String) = tx
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(wrap)?
            .unwrap_or((0, audit::GENESIS.to_string()));
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO audit (seq, at, kind, subject, body, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(wrap)?;
            for e in entries {
                seq += 1;
                let at = now();
                let body = e.body.to_string();
                let hash = audit::entry_hash(&prev, seq, &at, &e.kind, &e.subject, &body);
                insert
                    .execute(params![seq, at, e.kind, e.subject, body, prev, hash])
                    .map_err(wrap)?;
                prev = hash;
            }
        }
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

#[cfg(test)]
mod tests {

    #[test]
    fn the_event_fingerprint_hashes_each_value_as_to_string_writes_it() {
        let mut e = Event::new();
        e.insert("source.ip", "198.18.0.1");
        e.insert("source.port", 443);
        e.insert("extra.note", "quote \" and \\ and \u{1} and ü");
        e.insert("extra.list", serde_json::json!([1, "a", {"b": null}]));
        e.insert("extra.flag", true);
        e.insert("time.observation", "2026-03-24T06:00:00+00:00");
        // the definition stored fingerprints were made with
        let mut h = Sha256::new();
        for (k, v) in e.iter().filter(|(k, _)| *k != "time.observation") {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.to_string().as_bytes());
            h.update([0]);
        }
        let want: [u8; 32] = h.finalize().into();
        assert_eq!(event_fingerprint(&e), want);
    }

    use baken_model::{Attribution, OrgId, Rule};

    use super::*;

    fn event(ip: &str) -> Event {
        let mut e = Event::new();
        e.insert("source.ip", ip);
        e.insert("time.observation", "2026-01-01T00:00:00+00:00");
        e
    }

    #[test]
    fn duplicate_events_are_counted_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let run = s
            .begin_run("f.csv", "shadowserver", &Label::default())
            .unwrap();
        let a = Attribution {
            owner: Owner::Organisation {
                id: OrgId("org-1".into()),
            },
            rule: Rule::Prefix,
            reason: "test".into(),
        };
        let e1 = event("198.18.0.1");
        // Same content, other observation time: the same event.
        let mut e2 = e1.clone();
        e2.insert("time.observation", "2026-02-02T00:00:00+00:00");
        let inc = vec!["cve-2019-19781".to_string()];
        let rows = [
            NewEvent {
                file: "f.csv",
                line: 2,
                event: &e1,
                attribution: &a,
                incidents: &inc,
            },
            NewEvent {
                file: "f.csv",
                line: 3,
                event: &e2,
                attribution: &a,
                incidents: &inc,
            },
        ];
        let q = [QuarantinedRow {
            file: "f.csv",
            line: 4,
            field: Some("ip"),
            reason: "not an IP address",
            raw: "x,y",
        }];
        let c = s.store_batch(run, &rows, &q).unwrap();
        assert_eq!(
            c,
            BatchCounts {
                stored: 1,
                duplicate: 1,
                quarantined: 1
            }
        );
        // The same batch again stores nothing new, and the quarantine does not grow.
        let c = s.store_batch(run, &rows, &q).unwrap();
        assert_eq!((c.stored, c.duplicate), (0, 2));
        assert_eq!(s.totals().unwrap(), (1, 1));
        assert_eq!(s.incidents().unwrap(), vec![("cve-2019-19781".into(), 1)]);
        let f = s.findings("cve-2019-19781").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].attribution, a);
        assert_eq!(f[0].event.get_str("source.ip"), Some("198.18.0.1"));
    }

    #[test]
    fn a_recorded_message_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let m = MessageRecord {
            key: "k1".into(),
            incident: "i".into(),
            recipient: "soc@a.example".into(),
            party: "org-1".into(),
            path: "organisation".into(),
            findings: 3,
            state: MessageState::Pending,
            detail: None,
            created_at: now(),
            sent_at: None,
        };
        s.record_message(&m).unwrap();
        s.set_message_state("k1", MessageState::Sent, "outbox/k1.eml")
            .unwrap();
        let again = s.record_message(&m).unwrap();
        assert_eq!(again.state, MessageState::Sent);
        assert!(again.sent_at.is_some());
        assert_eq!(s.messages(Some("i")).unwrap().len(), 1);
        assert!(s.messages(Some("other")).unwrap().is_empty());
    }

    #[test]
    fn advisory_revisions_are_kept_and_reimport_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let rev = |sha: &str, revision: &str, released: &str, score: f64| AdvisoryRecord {
            id: "ncsc-2020-0001".into(),
            sha256: sha.into(),
            revision: Some(revision.into()),
            format: "csaf".into(),
            released: Some(released.into()),
            title: Some("Citrix".into()),
            tlp: Some("CLEAR".into()),
            highest_score: Some(score),
            highest_vector: None,
            source: "f.json".into(),
            imported_at: now(),
            document: b"{}".to_vec(),
        };
        let second = rev("bb", "2", "2020-01-14T00:00:00Z", 9.8);
        assert_eq!(s.put_advisory(&second).unwrap(), AdvisoryPut::New);
        let first = rev("aa", "1", "2019-12-17T00:00:00Z", 7.5);
        assert_eq!(s.put_advisory(&first).unwrap(), AdvisoryPut::Revision);
        assert_eq!(s.put_advisory(&first).unwrap(), AdvisoryPut::Unchanged);
        let history = s.advisory_revisions("ncsc-2020-0001").unwrap();
        let scores: Vec<_> = history.iter().map(|r| r.highest_score).collect();
        assert_eq!(scores, vec![Some(7.5), Some(9.8)], "oldest release first");
        let latest = s.advisories().unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].revision.as_deref(), Some("2"));
    }

    fn audited(n: usize) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStore::open(dir.path()).unwrap();
        let entries: Vec<_> = (0..n)
            .map(|i| NewAuditEntry {
                kind: "decision".into(),
                subject: format!("org-{i}"),
                body: serde_json::json!({"form": "own-assets", "i": i}),
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
