//! Runs, findings, observations and the lifecycle on PostgreSQL. A batch is merged
//! set-based (see `batch`); every write that changes findings moves the findings stamp in
//! its transaction, and is tried again when PostgreSQL cancels it for a concurrent one.

use std::collections::HashMap;

use r2d2_postgres::postgres::types::ToSql;
use r2d2_postgres::postgres::{self, Row, Transaction};

use super::batch::insert_batch;
use super::retry::retried;
use super::{PostgresStore, append_audit_in};
use crate::audit::NewAuditEntry;
use crate::keys::{self, attribution_from_columns};
use crate::prelude::*;
use crate::sqlite::{ABSENCE_RANGE, TRANSITION_PAGE};
use crate::{
    Absences, Batch, BatchCounts, Cause, Chunk, ChunkKind, FindingQuery, FindingRecord,
    FindingState, Label, ObservationRecord, Pruned, QuarantineRecord, Result, RowRef, RunRecord,
    RunSource, StoreError, Totals, Transition, TransitionOutcome, TransitionRecord, now,
};

type Wrap<'a> = &'a dyn Fn(postgres::Error) -> StoreError;

/// Moves the findings stamp: called in every transaction that changes findings, as late as
/// it can be (the row is locked until the commit).
pub(super) fn bump_stamp(tx: &mut Transaction<'_>, wrap: Wrap<'_>) -> Result<()> {
    tx.execute("UPDATE finding_stamp SET n = n + 1 WHERE id = 1", &[])
        .map_err(wrap)
        .map(drop)
}

/// Applies `changes` inside `tx`: each checked against the finding's state as it is by then
/// (its row locked), recorded in `transition` and in the audit log.
pub(super) fn transition_in(
    tx: &mut Transaction<'_>,
    changes: &[Transition],
    wrap: Wrap<'_>,
) -> Result<Vec<TransitionOutcome>> {
    let mut outcomes = Vec::with_capacity(changes.len());
    if changes.is_empty() {
        return Ok(outcomes);
    }
    let mut audit_entries = Vec::new();
    let state_of = tx
        .prepare(
            "SELECT f.state, i.name FROM finding f JOIN incident i ON i.id = f.incident_id
             WHERE f.id = $1 FOR UPDATE OF f",
        )
        .map_err(wrap)?;
    let set_state = tx
        .prepare("UPDATE finding SET state = $2 WHERE id = $1")
        .map_err(wrap)?;
    let record = tx
        .prepare(
            r#"INSERT INTO transition (finding_id, at, from_state, to_state, cause, reference,
                   "by", note)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"#,
        )
        .map_err(wrap)?;
    for c in changes {
        let Some(row) = tx.query_opt(&state_of, &[&c.finding]).map_err(wrap)? else {
            outcomes.push(TransitionOutcome::NoSuchFinding);
            continue;
        };
        let (state, incident): (&str, String) = (row.get(0), row.get(1));
        let from = FindingState::parse(state).ok_or_else(|| {
            StoreError::unreadable("finding state", "finding", c.finding, "state", state)
        })?;
        let to = c.to.unwrap_or(from);
        if let Some(to) = c.to {
            if let Err(why) = from.may_become(to) {
                outcomes.push(TransitionOutcome::Refused { from, why });
                continue;
            }
            tx.execute(&set_state, &[&c.finding, &to.as_str()])
                .map_err(wrap)?;
        }
        tx.execute(
            &record,
            &[
                &c.finding,
                &now(),
                &from.as_str(),
                &to.as_str(),
                &c.cause.as_str(),
                &c.reference,
                &c.by,
                &c.note,
            ],
        )
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
    }
    append_audit_in(tx, &audit_entries, wrap)?;
    Ok(outcomes)
}

/// The counts part `part` of run `run` was stored with, if it was.
fn part_counts(
    tx: &mut Transaction<'_>,
    run: i64,
    part: i64,
    wrap: Wrap<'_>,
) -> Result<BatchCounts> {
    let r = tx
        .query_one(
            "SELECT stored, duplicate, quarantined, new_findings, reopened FROM run_part
             WHERE run_id = $1 AND part = $2",
            &[&run, &part],
        )
        .map_err(wrap)?;
    Ok(BatchCounts {
        stored: r.get::<_, i64>(0) as u64,
        duplicate: r.get::<_, i64>(1) as u64,
        quarantined: r.get::<_, i64>(2) as u64,
        new_findings: r.get::<_, i64>(3) as u64,
        reopened: r.get::<_, i64>(4) as u64,
    })
}

impl PostgresStore {
    /// The ids of incidents `names` (in the order first named), added when new: from the
    /// ones known, else inside `tx`. Returns them all and those read from the database, to
    /// be remembered once `tx` is committed.
    fn incident_ids(
        &self,
        tx: &mut Transaction<'_>,
        names: &[&str],
        wrap: Wrap<'_>,
    ) -> Result<(HashMap<String, i64>, HashMap<String, i64>)> {
        let mut ids = HashMap::new();
        let mut missing: Vec<&str> = Vec::new();
        {
            let known = self.incidents.lock().unwrap_or_else(|e| e.into_inner());
            for &name in names {
                match known.get(name) {
                    Some(&id) => {
                        ids.insert(name.to_string(), id);
                    }
                    None if !missing.contains(&name) => missing.push(name),
                    None => {}
                }
            }
        }
        let mut read = HashMap::new();
        if !missing.is_empty() {
            // a concurrent transaction adding the same name is waited for, then read
            tx.execute(
                "INSERT INTO incident (name)
                 SELECT n FROM unnest($1::text[]) WITH ORDINALITY AS t(n, i) ORDER BY i
                 ON CONFLICT (name) DO NOTHING",
                &[&missing],
            )
            .map_err(wrap)?;
            for r in tx
                .query(
                    "SELECT name, id FROM incident WHERE name = ANY($1)",
                    &[&missing],
                )
                .map_err(wrap)?
            {
                read.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
            }
            ids.extend(read.iter().map(|(k, v)| (k.clone(), *v)));
        }
        Ok((ids, read))
    }

    /// Remembers incident ids read in a committed transaction.
    fn remember_incidents(&self, read: HashMap<String, i64>) {
        if !read.is_empty() {
            self.incidents
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(read);
        }
    }

    fn query_transitions(
        &self,
        condition: &str,
        arg: &(dyn ToSql + Sync),
    ) -> Result<Vec<TransitionRecord>> {
        let rows = self
            .conn()?
            .query(
                &format!(
                    r#"SELECT finding_id, at, from_state, to_state, cause, reference, "by", note, id
                       FROM transition WHERE {condition} ORDER BY id"#
                ),
                &[arg],
            )
            .map_err(self.wrap())?;
        rows.iter().map(transition_from_row).collect()
    }
}

fn transition_from_row(r: &Row) -> Result<TransitionRecord> {
    let id: i64 = r.get(8);
    let bad = |what: &'static str, column: &str, v: &str| {
        StoreError::unreadable(what, "transition", id, column, v)
    };
    let (from, to, cause): (&str, &str, &str) = (r.get(2), r.get(3), r.get(4));
    Ok(TransitionRecord {
        finding: r.get(0),
        at: r.get(1),
        from: FindingState::parse(from).ok_or_else(|| bad("finding state", "from_state", from))?,
        to: FindingState::parse(to).ok_or_else(|| bad("finding state", "to_state", to))?,
        cause: Cause::parse(cause).ok_or_else(|| bad("cause", "cause", cause))?,
        reference: r.get(5),
        by: r.get(6),
        note: r.get(7),
    })
}

const FINDING_COLUMNS: &str = r#"f.id, i.name, f.addr, f.port, f.transport, f.owner_kind, f.owner,
     f.rule, f.first_seen, f.last_seen, f.times_seen, f.state, f.last_chunk, f.last_row,
     c.run_id"#;

fn finding_from_row(r: &Row) -> Result<FindingRecord> {
    let id: i64 = r.get(0);
    let state: &str = r.get(11);
    Ok(FindingRecord {
        id,
        incident: r.get(1),
        addr: r.get(2),
        port: r.get::<_, i64>(3) as u16,
        transport: r.get(4),
        attribution: attribution_from_columns(id, r.get(5), r.get(6), r.get(7), String::new())?,
        first_seen: r.get(8),
        last_seen: r.get(9),
        times_seen: r.get::<_, i64>(10) as u64,
        state: FindingState::parse(state).ok_or_else(|| {
            StoreError::unreadable("finding state", "finding", id, "state", state)
        })?,
        last_row: RowRef {
            chunk: r.get(12),
            row: r.get::<_, i64>(13) as u32,
        },
        run: r.get(14),
    })
}

impl FindingStore for PostgresStore {
    fn findings_stamp(&self) -> Result<[i64; 3]> {
        let r = self
            .conn()?
            .query_one(
                "SELECT COALESCE((SELECT MAX(id) FROM finding), 0),
                        COALESCE((SELECT MAX(id) FROM chunk), 0),
                        (SELECT n FROM finding_stamp WHERE id = 1)",
                &[],
            )
            .map_err(self.wrap())?;
        Ok([r.get(0), r.get(1), r.get(2)])
    }

    fn begin_run(&mut self, file: &str, source: &RunSource, label: &Label) -> Result<i64> {
        let r = self
            .conn()?
            .query_one(
                "INSERT INTO ingest_run (file, feed, started_at, tlp, supplied_by, source, kind)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &file,
                    &source.feed,
                    &now(),
                    &label.tlp.label().trim_start_matches("TLP:"),
                    &label.supplied_by,
                    &serde_json::to_string(source).expect("a run source always serialises"),
                    &format!("{}:{}", source.feed, source.report.as_deref().unwrap_or("")),
                ],
            )
            .map_err(self.wrap())?;
        Ok(r.get(0))
    }

    fn store_batch(&mut self, run: i64, batch: &Batch) -> Result<BatchCounts> {
        let clock = std::time::Instant::now();
        let wrap = self.wrap();
        let started: String = self
            .conn()?
            .query_one("SELECT started_at FROM ingest_run WHERE id = $1", &[&run])
            .map_err(&wrap)?
            .get(0);
        // a row without a time of its own is kept at its run's start: a start that cannot be
        // read is an error, not the epoch (which prune would take for long past)
        let run_time = keys::parse_time(&started).ok_or_else(|| {
            StoreError::unreadable("run start", "ingest_run", run, "started_at", &started)
        })?;
        let mut names: Vec<&str> = Vec::new();
        for kept in &batch.chunks {
            for o in &kept.observed {
                names.extend(o.incidents.iter().map(String::as_str));
            }
        }
        let counts = retried("store batch", || {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction().map_err(&wrap)?;
            if let Some(part) = batch.part {
                // the part is claimed first: a second worker offering it waits for the first
                // to commit, then answers the counts it was stored with
                let claimed = tx
                    .execute(
                        "INSERT INTO run_part
                         (run_id, part, stored, duplicate, quarantined, new_findings, reopened)
                         VALUES ($1, $2, 0, 0, 0, 0, 0) ON CONFLICT (run_id, part) DO NOTHING",
                        &[&run, &(part as i64)],
                    )
                    .map_err(&wrap)?;
                if claimed == 0 {
                    let counts = part_counts(&mut tx, run, part as i64, &wrap)?;
                    tx.commit().map_err(&wrap)?;
                    return Ok(counts);
                }
            }
            let (incidents, read) = self.incident_ids(&mut tx, &names, &wrap)?;
            let counts = insert_batch(&mut tx, &incidents, run, run_time, batch, &wrap)?;
            if let Some(part) = batch.part {
                tx.execute(
                    "UPDATE run_part SET stored = $3, duplicate = $4, quarantined = $5,
                         new_findings = $6, reopened = $7
                     WHERE run_id = $1 AND part = $2",
                    &[
                        &run,
                        &(part as i64),
                        &(counts.stored as i64),
                        &(counts.duplicate as i64),
                        &(counts.quarantined as i64),
                        &(counts.new_findings as i64),
                        &(counts.reopened as i64),
                    ],
                )
                .map_err(&wrap)?;
            }
            tx.commit().map_err(&wrap)?;
            self.remember_incidents(read);
            Ok(counts)
        })?;
        tracing::trace!(
            run,
            rows = batch.rows(),
            stored = counts.stored,
            duplicate = counts.duplicate,
            quarantined = counts.quarantined,
            new_findings = counts.new_findings,
            reopened = counts.reopened,
            elapsed_us = clock.elapsed().as_micros() as u64,
            "batch committed"
        );
        Ok(counts)
    }

    fn finish_run(&mut self, run: i64, read: u64, counts: BatchCounts) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ingest_run SET finished_at = $2, rows_read = $3, stored = $4,
                     duplicate = $5, quarantined = $6 WHERE id = $1",
                &[
                    &run,
                    &now(),
                    &(read as i64),
                    &(counts.stored as i64),
                    &(counts.duplicate as i64),
                    &(counts.quarantined as i64),
                ],
            )
            .map_err(self.wrap())
            .map(drop)
    }

    fn totals(&self) -> Result<Totals> {
        let r = self
            .conn()?
            .query_one(
                "SELECT (SELECT COUNT(*) FROM finding), (SELECT COUNT(*) FROM observation),
                        (SELECT COUNT(*) FROM quarantine)",
                &[],
            )
            .map_err(self.wrap())?;
        Ok(Totals {
            findings: r.get::<_, i64>(0) as u64,
            observations: r.get::<_, i64>(1) as u64,
            quarantined: r.get::<_, i64>(2) as u64,
        })
    }

    fn finding_states(&self) -> Result<Vec<(FindingState, u64)>> {
        let rows = self
            .conn()?
            .query("SELECT state, COUNT(*) FROM finding GROUP BY state", &[])
            .map_err(self.wrap())?;
        let mut out = Vec::new();
        for r in &rows {
            let text: &str = r.get(0);
            let state = FindingState::parse(text).ok_or_else(|| {
                StoreError::unreadable("finding state", "finding", "any", "state", text)
            })?;
            out.push((state, r.get::<_, i64>(1) as u64));
        }
        out.sort_by_key(|(s, _)| FindingState::ALL.iter().position(|a| a == s));
        Ok(out)
    }

    fn quarantined(&self, limit: usize) -> Result<(Vec<QuarantineRecord>, u64)> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        let total: i64 = conn
            .query_one("SELECT COUNT(*) FROM quarantine", &[])
            .map_err(&wrap)?
            .get(0);
        let rows = conn
            .query(
                "SELECT run_id, file, line, field, reason, raw FROM quarantine
                 ORDER BY id DESC LIMIT $1",
                &[&(limit.min(i64::MAX as usize) as i64)],
            )
            .map_err(&wrap)?;
        let rows = rows
            .iter()
            .map(|r| QuarantineRecord {
                run: r.get(0),
                file: r.get(1),
                line: r.get::<_, i64>(2) as u64,
                field: r.get(3),
                reason: r.get(4),
                raw: r.get(5),
            })
            .collect();
        Ok((rows, total as u64))
    }

    fn run(&self, id: i64) -> Result<RunRecord> {
        let r = self
            .conn()?
            .query_one(
                "SELECT file, feed, started_at, tlp, supplied_by, source FROM ingest_run
                 WHERE id = $1",
                &[&id],
            )
            .map_err(self.wrap())?;
        RunRecord::from_columns(
            id,
            r.get(0),
            r.get(1),
            r.get(2),
            r.get(3),
            r.get(4),
            r.get(5),
        )
    }

    fn incidents(&self) -> Result<Vec<(String, u64)>> {
        let rows = self
            .conn()?
            .query(
                r#"SELECT i.name, COUNT(*) AS n FROM finding f JOIN incident i ON i.id = f.incident_id
                   GROUP BY i.name ORDER BY n DESC, i.name COLLATE "C""#,
                &[],
            )
            .map_err(self.wrap())?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
    }

    fn finding_records(&self, q: &FindingQuery) -> Result<Vec<FindingRecord>> {
        let mut sql = format!(
            "SELECT {FINDING_COLUMNS} FROM finding f JOIN incident i ON i.id = f.incident_id
             JOIN chunk c ON c.id = f.last_chunk WHERE true"
        );
        let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
        let mut arg = |sql: &mut String, cond: &str, v: Box<dyn ToSql + Sync>| {
            args.push(v);
            sql.push_str(&cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(incident) = &q.incident {
            arg(&mut sql, " AND i.name = ?", Box::new(incident.clone()));
        }
        if let Some(org) = &q.org {
            arg(
                &mut sql,
                " AND f.owner_kind = 'organisation' AND f.owner = ?",
                Box::new(org.clone()),
            );
        }
        if let Some(state) = q.state {
            arg(&mut sql, " AND f.state = ?", Box::new(state.as_str()));
        }
        if let Some(since) = q.since {
            arg(&mut sql, " AND f.last_seen >= ?", Box::new(since));
        }
        if let Some(id) = q.id {
            arg(&mut sql, " AND f.id = ?", Box::new(id));
        }
        sql.push_str(" ORDER BY f.id");
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a.as_ref()).collect();
        let rows = self.conn()?.query(&sql, &refs).map_err(self.wrap())?;
        rows.iter().map(finding_from_row).collect()
    }

    fn observations(&self, finding: i64) -> Result<Vec<ObservationRecord>> {
        let rows = self
            .conn()?
            .query(
                r#"SELECT seen_at, chunk_id, "row" FROM observation WHERE finding_id = $1
                   ORDER BY seen_at"#,
                &[&finding],
            )
            .map_err(self.wrap())?;
        Ok(rows
            .iter()
            .map(|r| ObservationRecord {
                finding,
                seen_at: r.get(0),
                row: RowRef {
                    chunk: r.get(1),
                    row: r.get::<_, i64>(2) as u32,
                },
            })
            .collect())
    }

    fn chunk(&self, id: i64) -> Result<Chunk> {
        let r = self
            .conn()?
            .query_one(
                "SELECT run_id, kind, first_line, skip, rows, data FROM chunk WHERE id = $1",
                &[&id],
            )
            .map_err(self.wrap())?;
        let kind = match r.get::<_, &str>(1) {
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
        let data =
            zstd::stream::decode_all(r.get::<_, &[u8]>(5)).map_err(|e| StoreError::Corrupt {
                what: "kept rows",
                detail: format!("chunk {id}: {e}"),
            })?;
        Ok(Chunk {
            id,
            run: r.get(0),
            kind,
            first_line: r.get::<_, i64>(2) as u64,
            skip: r.get::<_, i64>(3) as u32,
            rows: r.get::<_, i64>(4) as u32,
            data,
        })
    }

    fn link_incident(&mut self, incident: &str, finding_ids: &[i64]) -> Result<()> {
        let wrap = self.wrap();
        retried("link incident", || {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction().map_err(&wrap)?;
            let (ids, read) = self.incident_ids(&mut tx, &[incident], &wrap)?;
            let target = ids[incident];
            let copy = tx
                .prepare(
                    "INSERT INTO finding (incident_id, addr, port, transport, owner_kind, owner,
                         rule, first_seen, last_seen, times_seen, state, last_chunk, last_row)
                     SELECT $1, s.addr, s.port, s.transport, s.owner_kind, s.owner, s.rule,
                         s.first_seen, s.last_seen, s.times_seen, s.state, s.last_chunk,
                         s.last_row
                     FROM finding s WHERE s.id = $2
                       AND NOT EXISTS (SELECT 1 FROM finding f WHERE f.incident_id = $1
                           AND f.addr = s.addr AND f.port = s.port AND f.transport = s.transport)
                     ON CONFLICT (incident_id, addr, port, transport) DO NOTHING
                     RETURNING id",
                )
                .map_err(&wrap)?;
            let observations = tx
                .prepare(
                    r#"INSERT INTO observation (finding_id, seen_at, chunk_id, "row")
                       SELECT $1, seen_at, chunk_id, "row" FROM observation WHERE finding_id = $2
                       ON CONFLICT (finding_id, seen_at) DO NOTHING"#,
                )
                .map_err(&wrap)?;
            let mut linked = false;
            for id in finding_ids {
                if let Some(row) = tx.query_opt(&copy, &[&target, id]).map_err(&wrap)? {
                    let copied: i64 = row.get(0);
                    tx.execute(&observations, &[&copied, id]).map_err(&wrap)?;
                    linked = true;
                }
            }
            if linked {
                bump_stamp(&mut tx, &wrap)?;
            }
            tx.commit().map_err(&wrap)?;
            self.remember_incidents(read);
            Ok(())
        })
    }

    fn transition(&mut self, changes: &[Transition]) -> Result<Vec<TransitionOutcome>> {
        let wrap = self.wrap();
        retried("transition", || {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction().map_err(&wrap)?;
            let outcomes = transition_in(&mut tx, changes, &wrap)?;
            if !outcomes.is_empty() {
                bump_stamp(&mut tx, &wrap)?;
            }
            tx.commit().map_err(&wrap)?;
            Ok(outcomes)
        })
    }

    fn transitions(&self, finding: i64) -> Result<Vec<TransitionRecord>> {
        self.query_transitions("finding_id = $1", &finding)
    }

    fn incident_transitions(&self, incident: &str) -> Result<Vec<TransitionRecord>> {
        self.query_transitions(
            "finding_id IN (SELECT f.id FROM finding f JOIN incident i ON i.id = f.incident_id
                            WHERE i.name = $1)",
            &incident,
        )
    }

    fn count_absences(&mut self, run: i64, needed: u32) -> Result<Absences> {
        let clock = std::time::Instant::now();
        let wrap = self.wrap();
        let window = self
            .conn()?
            .query_opt(
                "SELECT kind, seen_from, seen_until FROM ingest_run
                 WHERE id = $1 AND kind IS NOT NULL AND seen_from IS NOT NULL",
                &[&run],
            )
            .map_err(&wrap)?;
        let Some(window) = window else {
            // a run that stored no row with a time says nothing about what it did not hold
            return Ok(Absences::default());
        };
        let (kind, from, until): (String, i64, i64) = (window.get(0), window.get(1), window.get(2));
        let needed_at_least = i64::from(needed.max(1));
        let last: i64 = self
            .conn()?
            .query_one("SELECT COALESCE(MAX(id), 0) FROM finding", &[])
            .map_err(&wrap)?
            .get(0);
        let mut absences = Absences::default();
        // By ranges of finding ids, one transaction each (as the SQLite store does): a range
        // is whole or not at all, and counting a report twice, or an older one, changes
        // nothing, so after a kill the same report counts the ranges that were not.
        let mut lo = 0;
        while lo < last {
            let hi = lo + ABSENCE_RANGE;
            let (missing, fixed) = retried("count absences", || {
                let mut conn = self.conn()?;
                let mut tx = conn.transaction().map_err(&wrap)?;
                // findings whose latest row came from a report of the same kind, last seen
                // before this report's first row, and not yet counted for a report this late
                let missing = tx
                    .execute(
                        "UPDATE finding SET misses = misses + 1, checked_until = $3
                         WHERE id > $4 AND id <= $5
                           AND last_seen < $2 AND (checked_until IS NULL OR checked_until < $2)
                           AND state <> 'verified-fixed'
                           AND last_chunk IN (SELECT c.id FROM chunk c JOIN ingest_run r
                                              ON r.id = c.run_id WHERE r.kind = $1)",
                        &[&kind, &from, &until, &lo, &hi],
                    )
                    .map_err(&wrap)?;
                let fixed: Vec<i64> = tx
                    .query(
                        "SELECT id FROM finding WHERE id > $4 AND id <= $5 AND checked_until = $1
                           AND misses >= $2 AND state <> 'verified-fixed' AND last_seen < $3
                         ORDER BY id",
                        &[&until, &needed_at_least, &from, &lo, &hi],
                    )
                    .map_err(&wrap)?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
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
                                "not in {needed_at_least} later {kind} report(s) in a row"
                            )),
                        })
                        .collect();
                    transition_in(&mut tx, &changes, &wrap)?;
                }
                if missing > 0 {
                    bump_stamp(&mut tx, &wrap)?;
                }
                tx.commit().map_err(&wrap)?;
                Ok((missing, fixed))
            })?;
            absences.missing += missing;
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
        self.conn()?
            .execute(
                "INSERT INTO exploitation (name, since, source) VALUES (lower($1), $2, $3)
                 ON CONFLICT (name) DO UPDATE SET since = excluded.since, source = excluded.source
                 WHERE excluded.since < exploitation.since",
                &[&name, &since, &source],
            )
            .map_err(self.wrap())
            .map(drop)
    }

    fn exploitation(&self, name: &str) -> Result<Option<(i64, String)>> {
        let row = self
            .conn()?
            .query_opt(
                "SELECT since, source FROM exploitation WHERE name = lower($1)",
                &[&name],
            )
            .map_err(self.wrap())?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn prune(&mut self, before: &str, dry_run: bool) -> Result<Pruned> {
        let wrap = self.wrap();
        let cut = chrono::DateTime::parse_from_rfc3339(before)
            .map_err(|e| StoreError::Corrupt {
                what: "prune cut-off",
                detail: format!("{before:?} is not an RFC 3339 time: {e}"),
            })?
            .timestamp();
        let pruned = retried("prune", || {
            let mut conn = self.conn()?;
            let mut tx = conn.transaction().map_err(&wrap)?;
            tx.batch_execute(
                "CREATE TEMP TABLE baken_pruned_chunk (id BIGINT PRIMARY KEY) ON COMMIT DROP",
            )
            .map_err(&wrap)?;
            // the chunks that may be left without an observation: those that lose one, and
            // those of runs started before the cut-off (rows all quarantined or duplicates);
            // times are compared as the SQLite store compares them, byte by byte
            tx.execute(
                r#"INSERT INTO baken_pruned_chunk
                   SELECT o.chunk_id FROM observation o WHERE o.seen_at < $1 AND o.seen_at > 0
                   UNION SELECT c.id FROM chunk c JOIN ingest_run r ON r.id = c.run_id
                       WHERE r.started_at COLLATE "C" < $2"#,
                &[&cut, &before],
            )
            .map_err(&wrap)?;
            // an observation goes by its own time.source; one whose row had none, by its
            // run's start
            let observations = tx
                .execute(
                    r#"DELETE FROM observation WHERE
                         (seen_at > 0 AND seen_at < $1)
                         OR (seen_at = 0 AND chunk_id IN (SELECT c.id FROM chunk c
                             JOIN ingest_run r ON r.id = c.run_id
                             WHERE r.started_at COLLATE "C" < $2))"#,
                    &[&cut, &before],
                )
                .map_err(&wrap)?;
            let findings = tx
                .execute(
                    "DELETE FROM finding WHERE last_seen < $1 AND NOT EXISTS
                         (SELECT 1 FROM observation o WHERE o.finding_id = finding.id)",
                    &[&cut],
                )
                .map_err(&wrap)?;
            tx.execute(
                "DELETE FROM baken_pruned_chunk WHERE EXISTS
                     (SELECT 1 FROM observation o WHERE o.chunk_id = baken_pruned_chunk.id)",
                &[],
            )
            .map_err(&wrap)?;
            // a finding whose latest row went points at the latest row it still has
            tx.execute(
                r#"UPDATE finding SET (last_chunk, last_row) = (
                       SELECT o.chunk_id, o."row" FROM observation o
                       WHERE o.finding_id = finding.id ORDER BY o.seen_at DESC LIMIT 1)
                   WHERE last_chunk IN (SELECT id FROM baken_pruned_chunk)
                     AND EXISTS (SELECT 1 FROM observation o WHERE o.finding_id = finding.id)"#,
                &[],
            )
            .map_err(&wrap)?;
            let chunks = tx
                .execute(
                    "DELETE FROM chunk WHERE id IN (SELECT id FROM baken_pruned_chunk)",
                    &[],
                )
                .map_err(&wrap)?;
            // a quarantined row has no time of its own: it goes with its run's start
            let quarantined = tx
                .execute(
                    r#"DELETE FROM quarantine WHERE run_id IN
                           (SELECT id FROM ingest_run WHERE started_at COLLATE "C" < $1)"#,
                    &[&before],
                )
                .map_err(&wrap)?;
            let pruned = Pruned {
                findings,
                observations,
                chunks,
                quarantined,
            };
            if dry_run {
                // the same deletions, counted, then undone
                tx.rollback().map_err(&wrap)?;
            } else {
                if pruned != Pruned::default() {
                    bump_stamp(&mut tx, &wrap)?;
                }
                tx.commit().map_err(&wrap)?;
            }
            Ok(pruned)
        })?;
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
