//! Advisories on PostgreSQL: every revision kept with its original document.

use r2d2_postgres::postgres::Row;

use super::PostgresStore;
use crate::prelude::*;
use crate::{AdvisoryPut, AdvisoryRecord, Result};

/// The class of the advisory locks (`pg_advisory_xact_lock(class, key)`) held while an
/// advisory is stored, one per advisory id: whether a revision is the first of its advisory
/// is then decided one import after the other. Locks of two keys are apart from those of one
/// ([`super::AUDIT_LOCK`]).
const ADVISORY_LOCK_CLASS: i32 = 0x6261_6b01;

const ADVISORY_COLUMNS: &str = "id, sha256, revision, format, released, title, tlp, highest_score,
     highest_vector, source, imported_at, document";

fn advisory_from_row(r: &Row) -> AdvisoryRecord {
    AdvisoryRecord {
        id: r.get(0),
        sha256: r.get(1),
        revision: r.get(2),
        format: r.get(3),
        released: r.get(4),
        title: r.get(5),
        tlp: r.get(6),
        highest_score: r.get(7),
        highest_vector: r.get(8),
        source: r.get(9),
        imported_at: r.get(10),
        document: r.get(11),
    }
}

impl AdvisoryStore for PostgresStore {
    fn put_advisory(&mut self, a: &AdvisoryRecord) -> Result<AdvisoryPut> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(&wrap)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            &[&ADVISORY_LOCK_CLASS, &a.id],
        )
        .map_err(&wrap)?;
        let known: i64 = tx
            .query_one("SELECT COUNT(*) FROM advisory WHERE id = $1", &[&a.id])
            .map_err(&wrap)?
            .get(0);
        let inserted = tx
            .execute(
                &format!(
                    "INSERT INTO advisory ({ADVISORY_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (id, sha256) DO NOTHING"
                ),
                &[
                    &a.id,
                    &a.sha256,
                    &a.revision,
                    &a.format,
                    &a.released,
                    &a.title,
                    &a.tlp,
                    &a.highest_score,
                    &a.highest_vector,
                    &a.source,
                    &a.imported_at,
                    &a.document,
                ],
            )
            .map_err(&wrap)?;
        tx.commit().map_err(&wrap)?;
        Ok(match (inserted, known) {
            (0, _) => AdvisoryPut::Unchanged,
            (_, 0) => AdvisoryPut::New,
            _ => AdvisoryPut::Revision,
        })
    }

    fn advisory_revisions(&self, id: &str) -> Result<Vec<AdvisoryRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                &format!(
                    r#"SELECT {ADVISORY_COLUMNS} FROM advisory WHERE id = $1
                       ORDER BY COALESCE(released, imported_at) COLLATE "C",
                                imported_at COLLATE "C", seq"#
                ),
                &[&id],
            )
            .map_err(&wrap)?;
        Ok(rows.iter().map(advisory_from_row).collect())
    }

    fn advisories(&self) -> Result<Vec<AdvisoryRecord>> {
        let wrap = self.wrap();
        // The latest revision per id: the greatest (release, import time); of two equal ones
        // (the same release imported in the same microsecond), both, as SQLite answers.
        let rows = self
            .conn()?
            .query(
                &format!(
                    r#"SELECT {ADVISORY_COLUMNS} FROM advisory a WHERE NOT EXISTS (
                         SELECT 1 FROM advisory b WHERE b.id = a.id AND
                           (COALESCE(b.released, b.imported_at) COLLATE "C",
                            b.imported_at COLLATE "C")
                           > (COALESCE(a.released, a.imported_at) COLLATE "C",
                              a.imported_at COLLATE "C"))
                       ORDER BY id COLLATE "C", seq"#
                ),
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows.iter().map(advisory_from_row).collect())
    }
}
