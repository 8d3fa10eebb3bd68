//! The audit log on PostgreSQL: appended under an advisory lock, so concurrent writers make
//! one chain; triggers refuse updates, deletes and truncation.

use std::collections::HashMap;

use super::{PostgresStore, append_audit_in};
use crate::Result;
use crate::audit::{self, AuditEntry, NewAuditEntry};
use crate::prelude::*;

impl AuditStore for PostgresStore {
    fn append_audit(&mut self, entries: &[NewAuditEntry]) -> Result<()> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(&wrap)?;
        append_audit_in(&mut tx, entries, &wrap)?;
        tx.commit().map_err(&wrap)
    }

    fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                "SELECT seq, at, kind, subject, body, prev_hash, hash FROM audit ORDER BY seq",
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                at: r.get(1),
                kind: r.get(2),
                subject: r.get(3),
                body: r.get(4),
                prev_hash: r.get(5),
                hash: r.get(6),
            })
            .collect())
    }

    fn decision_digests(&self, incident: &str) -> Result<HashMap<(String, String), String>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                "SELECT subject, recipient, digest FROM decision_logged WHERE incident = $1",
                &[&incident],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect())
    }

    fn append_decisions(
        &mut self,
        incident: &str,
        entries: &[NewAuditEntry],
        digests: &[(String, String, String)],
    ) -> Result<()> {
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(&wrap)?;
        append_audit_in(&mut tx, entries, &wrap)?;
        if !digests.is_empty() {
            let subjects: Vec<&str> = digests.iter().map(|d| d.0.as_str()).collect();
            let recipients: Vec<&str> = digests.iter().map(|d| d.1.as_str()).collect();
            let values: Vec<&str> = digests.iter().map(|d| d.2.as_str()).collect();
            // one statement for the lot; a key given twice keeps its last digest, as
            // one upsert after another would
            tx.execute(
                "INSERT INTO decision_logged (incident, subject, recipient, digest)
                 SELECT DISTINCT ON (s, r) $1, s, r, d
                 FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(s, r, d, n)
                 ORDER BY s, r, n DESC
                 ON CONFLICT (incident, subject, recipient) DO UPDATE SET digest = excluded.digest",
                &[&incident, &subjects, &recipients, &values],
            )
            .map_err(&wrap)?;
        }
        tx.commit().map_err(&wrap)
    }

    fn audit_head(&self) -> Result<Option<(i64, String)>> {
        let wrap = self.wrap();
        let row = self
            .conn()?
            .query_opt("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])
            .map_err(&wrap)?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    fn add_audit_checkpoint(&mut self, c: &audit::Checkpoint) -> Result<()> {
        let wrap = self.wrap();
        self.conn()?
            .execute(
                "INSERT INTO audit_checkpoint (seq, hash, at, signature, public_key)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&c.seq, &c.hash, &c.at, &c.signature, &c.public_key],
            )
            .map_err(&wrap)
            .map(drop)
    }

    fn audit_checkpoints(&self) -> Result<Vec<audit::Checkpoint>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                "SELECT seq, hash, at, signature, public_key FROM audit_checkpoint ORDER BY id",
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| audit::Checkpoint {
                seq: r.get(0),
                hash: r.get(1),
                at: r.get(2),
                signature: r.get(3),
                public_key: r.get(4),
            })
            .collect())
    }
}
