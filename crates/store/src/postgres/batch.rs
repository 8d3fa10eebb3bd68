//! Storing a batch on PostgreSQL, set-based: the batch's observations are copied
//! (`COPY … FROM STDIN BINARY`) into a temporary staging table and merged into findings and
//! observations by a few statements over the whole batch, where one statement per row would
//! cost a round trip each.
//!
//! The result is that of the SQLite store's row-by-row merge (`tests/postgres_batches.rs`
//! compares the two on random batches): rows are taken in key order, then by `time.source`
//! and place in the batch; a finding's latest row is the first of its latest `time.source`;
//! a row seen again at the same `time.source` is a duplicate.
//!
//! **Concurrent writers**: findings are created in key order and the known ones locked in
//! key order (`FOR UPDATE`) before their observations are read, so two batches that touch
//! the same findings go one after the other over those findings, and a duplicate is decided
//! on what the other committed. The rows every batch of a run updates (the run's window, the
//! findings stamp) are updated last, just before the commit.

use std::collections::{HashMap, HashSet};

use r2d2_postgres::postgres::binary_copy::BinaryCopyInWriter;
use r2d2_postgres::postgres::types::Type;
use r2d2_postgres::postgres::{self, Transaction};

use super::findings::{bump_stamp, transition_in};
use crate::keys::{self, owner_columns};
use crate::sqlite::quarantine_fingerprint;
use crate::{
    Batch, BatchCounts, Cause, ChunkKind, FindingState, Observed, Result, StoreError, Transition,
    TransitionOutcome,
};

type Wrap<'a> = &'a dyn Fn(postgres::Error) -> StoreError;

/// The staging table: one row per observation of the batch that is not a repeat of one
/// before it in the batch, numbered (`item`) in the order the batch is merged in; the
/// columns after `rule` are filled in by the merge.
const STAGE: &str = r#"CREATE TEMP TABLE IF NOT EXISTS baken_stage (
    item          BIGINT NOT NULL,
    incident_id   BIGINT NOT NULL,
    addr          TEXT NOT NULL,
    port          BIGINT NOT NULL,
    transport     TEXT NOT NULL,
    seen_key      BIGINT NOT NULL,   -- time.source, 0 when none: the observation's key
    seen_time     BIGINT NOT NULL,   -- time.source, the run's start when none
    chunk_id      BIGINT NOT NULL,
    "row"         BIGINT NOT NULL,
    owner_kind    TEXT NOT NULL,
    owner         TEXT,
    rule          TEXT NOT NULL,
    finding_id    BIGINT,
    created       BOOLEAN NOT NULL DEFAULT false,  -- its finding is new with this batch
    old_last_seen BIGINT,            -- its finding's last_seen before this batch
    fixed         BOOLEAN NOT NULL DEFAULT false,  -- its finding was verified fixed
    fresh         BOOLEAN NOT NULL DEFAULT false   -- it gave a new observation
) ON COMMIT DELETE ROWS"#;

/// The columns [`copy_stage`] fills.
const STAGE_COLUMNS: &str = r#"item, incident_id, addr, port, transport, seen_key, seen_time, chunk_id, "row", owner_kind, owner, rule"#;

/// Creates the findings of the batch that are new: each with its first and last time, its
/// number of observations and the owner and row of its latest one. Created in key order
/// (`item`), so that concurrent batches wait for each other's new findings in one order.
const CREATE_FINDINGS: &str = r#"
WITH agg AS (
    SELECT incident_id, addr, port, transport, min(item) AS first_item, count(*) AS n,
           min(seen_time) AS lo, max(seen_time) AS hi
    FROM baken_stage GROUP BY incident_id, addr, port, transport),
latest AS (
    SELECT DISTINCT ON (incident_id, addr, port, transport)
           incident_id, addr, port, transport, owner_kind, owner, rule, chunk_id, "row"
    FROM baken_stage ORDER BY incident_id, addr, port, transport, seen_time DESC, item),
created AS (
    INSERT INTO finding (incident_id, addr, port, transport, owner_kind, owner, rule,
                         first_seen, last_seen, times_seen, state, last_chunk, last_row)
    SELECT a.incident_id, a.addr, a.port, a.transport, l.owner_kind, l.owner, l.rule,
           a.lo, a.hi, a.n, 'open', l.chunk_id, l."row"
    FROM agg a JOIN latest l USING (incident_id, addr, port, transport)
    WHERE NOT EXISTS (SELECT 1 FROM finding f
                      WHERE f.incident_id = a.incident_id AND f.addr = a.addr
                        AND f.port = a.port AND f.transport = a.transport)
    ORDER BY a.first_item
    ON CONFLICT (incident_id, addr, port, transport) DO NOTHING
    RETURNING id, incident_id, addr, port, transport)
UPDATE baken_stage s SET finding_id = c.id, created = true
FROM created c
WHERE s.incident_id = c.incident_id AND s.addr = c.addr AND s.port = c.port
  AND s.transport = c.transport"#;

/// Locks the findings of the batch that were there before it, in key order, and notes what
/// they were.
const LOCK_FINDINGS: &str = r#"
WITH keyed AS (
    SELECT incident_id, addr, port, transport, min(item) AS first_item
    FROM baken_stage WHERE finding_id IS NULL
    GROUP BY incident_id, addr, port, transport),
locked AS (
    SELECT f.id, f.incident_id, f.addr, f.port, f.transport, f.last_seen, f.state
    FROM finding f JOIN keyed k
      ON f.incident_id = k.incident_id AND f.addr = k.addr AND f.port = k.port
     AND f.transport = k.transport
    ORDER BY k.first_item
    FOR UPDATE OF f)
UPDATE baken_stage s SET finding_id = l.id, old_last_seen = l.last_seen,
    fixed = (l.state = 'verified-fixed')
FROM locked l
WHERE s.incident_id = l.incident_id AND s.addr = l.addr AND s.port = l.port
  AND s.transport = l.transport"#;

/// Adds the observations not stored yet and marks them fresh.
const OBSERVE: &str = r#"
WITH added AS (
    INSERT INTO observation (finding_id, seen_at, chunk_id, "row")
    SELECT finding_id, seen_key, chunk_id, "row" FROM baken_stage ORDER BY item
    ON CONFLICT (finding_id, seen_at) DO NOTHING
    RETURNING finding_id, seen_at)
UPDATE baken_stage s SET fresh = true
FROM added a WHERE s.finding_id = a.finding_id AND s.seen_key = a.seen_at"#;

/// Counts the new observations of findings known before: seen later than before, a finding
/// takes the owner and row of its latest observation and its count of misses starts over;
/// seen earlier, only its first time moves.
const SEEN_AGAIN: &str = r#"
WITH agg AS (
    SELECT finding_id, count(*) AS n, min(seen_time) AS lo, max(seen_time) AS hi
    FROM baken_stage WHERE fresh AND NOT created GROUP BY finding_id),
latest AS (
    SELECT DISTINCT ON (finding_id) finding_id, owner_kind, owner, rule, chunk_id, "row"
    FROM baken_stage WHERE fresh AND NOT created
    ORDER BY finding_id, seen_time DESC, item)
UPDATE finding f SET
    times_seen = f.times_seen + a.n,
    first_seen = LEAST(f.first_seen, a.lo),
    last_seen = GREATEST(f.last_seen, a.hi),
    owner_kind = CASE WHEN a.hi > f.last_seen THEN l.owner_kind ELSE f.owner_kind END,
    owner = CASE WHEN a.hi > f.last_seen THEN l.owner ELSE f.owner END,
    rule = CASE WHEN a.hi > f.last_seen THEN l.rule ELSE f.rule END,
    last_chunk = CASE WHEN a.hi > f.last_seen THEN l.chunk_id ELSE f.last_chunk END,
    last_row = CASE WHEN a.hi > f.last_seen THEN l."row" ELSE f.last_row END,
    misses = CASE WHEN a.hi > f.last_seen THEN 0 ELSE f.misses END,
    checked_until = CASE WHEN a.hi > f.last_seen THEN NULL ELSE f.checked_until END
FROM agg a JOIN latest l USING (finding_id)
WHERE f.id = a.finding_id"#;

/// The findings verified fixed that the batch saw later than before, each with its first
/// such observation.
const REOPENED: &str = r#"
SELECT DISTINCT ON (finding_id) finding_id, seen_time, item FROM baken_stage
WHERE fresh AND fixed AND seen_time > old_last_seen
ORDER BY finding_id, item"#;

/// One observation of the batch as it is merged: the row, the incident, and the chunk (by
/// its place in the batch).
struct Item<'a> {
    incident: i64,
    observed: &'a Observed,
    chunk: usize,
}

impl Item<'_> {
    /// The order of the merge: by finding key, then `time.source` (none first), then place
    /// in the batch, so that of two rows of one observation the first is kept.
    fn order(&self) -> (i64, &str, u16, &str, Option<i64>, usize, u32) {
        let o = self.observed;
        (
            self.incident,
            &o.addr,
            o.port,
            &o.transport,
            o.seen_at,
            self.chunk,
            o.row,
        )
    }
}

/// Writes one batch in `tx`: its chunks, a finding (created when new) and an observation per
/// row and incident, the findings it reopens, its quarantined rows, and the run's window of
/// `time.source`. `incidents` holds the id of every incident the batch names.
pub(super) fn insert_batch(
    tx: &mut Transaction<'_>,
    incidents: &HashMap<String, i64>,
    run: i64,
    run_time: i64,
    batch: &Batch,
    wrap: Wrap<'_>,
) -> Result<BatchCounts> {
    let mut counts = BatchCounts::default();
    let insert_chunk = tx
        .prepare(
            "INSERT INTO chunk (run_id, kind, first_line, skip, rows, data)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .map_err(wrap)?;
    let mut chunk_ids = Vec::with_capacity(batch.chunks.len());
    for kept in &batch.chunks {
        let kind = match kept.kind {
            ChunkKind::Text => "text",
            ChunkKind::Events => "events",
        };
        let row = tx
            .query_one(
                &insert_chunk,
                &[
                    &run,
                    &kind,
                    &(kept.first_line as i64),
                    &i64::from(kept.skip),
                    &i64::from(kept.rows),
                    &kept.data,
                ],
            )
            .map_err(wrap)?;
        chunk_ids.push(row.get::<_, i64>(0));
    }

    let mut items: Vec<Item<'_>> = Vec::new();
    for (chunk, kept) in batch.chunks.iter().enumerate() {
        for observed in &kept.observed {
            for name in observed.incidents.iter() {
                items.push(Item {
                    incident: incidents[name],
                    observed,
                    chunk,
                });
            }
        }
    }
    items.sort_unstable_by(|a, b| a.order().cmp(&b.order()));
    // the earliest and latest time.source of the batch's rows
    let window = items
        .iter()
        .filter_map(|i| i.observed.seen_at)
        .fold(None, |w, t| match w {
            Some((from, until)) => Some((t.min(from), t.max(until))),
            None => Some((t, t)),
        });

    if !items.is_empty() {
        copy_stage(tx, &items, &chunk_ids, run_time, wrap)?;
        for step in [CREATE_FINDINGS, LOCK_FINDINGS, OBSERVE, SEEN_AGAIN] {
            tx.execute(step, &[]).map_err(wrap)?;
        }
    }

    // per chunk and row: whether it gave a new observation
    let mut fresh: Vec<HashSet<u32>> = vec![HashSet::new(); batch.chunks.len()];
    let mut created = HashSet::new();
    let mut reopened: Vec<(i64, Transition)> = Vec::new();
    if !items.is_empty() {
        for r in tx
            .query(
                "SELECT item, finding_id, created FROM baken_stage WHERE fresh",
                &[],
            )
            .map_err(wrap)?
        {
            let item = &items[r.get::<_, i64>(0) as usize];
            fresh[item.chunk].insert(item.observed.row);
            if r.get::<_, bool>(2) {
                created.insert(r.get::<_, i64>(1));
            }
        }
        for r in tx.query(REOPENED, &[]).map_err(wrap)? {
            let (finding, seen_time, item): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
            reopened.push((
                item,
                Transition {
                    finding,
                    to: Some(FindingState::Reopened),
                    cause: Cause::Report,
                    reference: Some(format!("run {run}")),
                    by: None,
                    note: Some(format!("seen again at {}", keys::format_time(seen_time))),
                },
            ));
        }
    }
    counts.new_findings = created.len() as u64;
    // in the order of the merge, as the findings were met
    reopened.sort_unstable_by_key(|(item, _)| *item);
    let reopened: Vec<Transition> = reopened.into_iter().map(|(_, t)| t).collect();
    counts.reopened = transition_in(tx, &reopened, wrap)?
        .iter()
        .filter(|o| matches!(o, TransitionOutcome::Applied { .. }))
        .count() as u64;
    for (kept, fresh) in batch.chunks.iter().zip(&fresh) {
        for o in &kept.observed {
            if fresh.contains(&o.row) {
                counts.stored += 1;
            } else {
                counts.duplicate += 1;
            }
        }
    }

    if !batch.quarantined.is_empty() {
        let q = &batch.quarantined;
        let fingerprints: Vec<Vec<u8>> = q
            .iter()
            .map(|r| quarantine_fingerprint(r).to_vec())
            .collect();
        let files: Vec<&str> = q.iter().map(|r| r.file.as_str()).collect();
        let lines: Vec<i64> = q.iter().map(|r| r.line as i64).collect();
        let fields: Vec<Option<&str>> = q.iter().map(|r| r.field.as_deref()).collect();
        let reasons: Vec<&str> = q.iter().map(|r| r.reason.as_str()).collect();
        let raws: Vec<&str> = q.iter().map(|r| r.raw.as_str()).collect();
        tx.execute(
            "INSERT INTO quarantine (fingerprint, run_id, file, line, field, reason, raw)
             SELECT fp, $1, file, line, field, reason, raw
             FROM unnest($2::bytea[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                  WITH ORDINALITY AS t(fp, file, line, field, reason, raw, n)
             ORDER BY n
             ON CONFLICT (fingerprint) DO NOTHING",
            &[
                &run,
                &fingerprints,
                &files,
                &lines,
                &fields,
                &reasons,
                &raws,
            ],
        )
        .map_err(wrap)?;
        counts.quarantined = q.len() as u64;
    }

    // last, just before the commit: the rows every batch of the run writes
    if let Some((from, until)) = window {
        tx.execute(
            "UPDATE ingest_run SET seen_from = LEAST(COALESCE(seen_from, $2), $2),
                 seen_until = GREATEST(COALESCE(seen_until, $3), $3) WHERE id = $1",
            &[&run, &from, &until],
        )
        .map_err(wrap)?;
    }
    if !batch.chunks.is_empty() {
        bump_stamp(tx, wrap)?;
    }
    Ok(counts)
}

/// Copies the observations of `items` (in merge order, repeats within the batch left out)
/// into the staging table.
fn copy_stage(
    tx: &mut Transaction<'_>,
    items: &[Item<'_>],
    chunk_ids: &[i64],
    run_time: i64,
    wrap: Wrap<'_>,
) -> Result<()> {
    tx.batch_execute(STAGE).map_err(wrap)?;
    let writer = tx
        .copy_in(&format!(
            "COPY baken_stage ({STAGE_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .map_err(wrap)?;
    let mut writer = BinaryCopyInWriter::new(
        writer,
        &[
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
    );
    // the observation keys of the current finding met so far
    let mut seen: HashSet<i64> = HashSet::new();
    let mut previous: Option<(i64, &str, u16, &str)> = None;
    for (n, item) in items.iter().enumerate() {
        let o = item.observed;
        let key = (item.incident, o.addr.as_str(), o.port, &*o.transport);
        if previous != Some(key) {
            seen.clear();
            previous = Some(key);
        }
        let seen_key = o.seen_at.unwrap_or(0);
        if !seen.insert(seen_key) {
            // the same finding at the same time earlier in the batch: a duplicate
            continue;
        }
        let (owner_kind, owner) = owner_columns(&o.owner);
        writer
            .write(&[
                &(n as i64),
                &item.incident,
                &o.addr,
                &i64::from(o.port),
                &&*o.transport,
                &seen_key,
                &o.seen_at.unwrap_or(run_time),
                &chunk_ids[item.chunk],
                &i64::from(o.row),
                &owner_kind,
                &owner,
                &o.rule.as_str(),
            ])
            .map_err(wrap)?;
    }
    writer.finish().map_err(wrap)?;
    Ok(())
}
