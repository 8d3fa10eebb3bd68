//! Incident reports on PostgreSQL, stage by stage: each stored stage is written to the audit
//! log in its own transaction; the same document filed twice, even at the same moment by two
//! processes, is stored (and audited) once.

use super::{PostgresStore, append_audit_in};
use crate::audit::NewAuditEntry;
use crate::prelude::*;
use crate::{NewReportStage, ReportStageRecord, Result, now};

impl IncidentReportStore for PostgresStore {
    fn add_report_stage(&mut self, stage: &NewReportStage) -> Result<Option<i64>> {
        let fingerprint = stage.fingerprint();
        let wrap = self.wrap();
        let mut conn = self.conn()?;
        let mut tx = conn.transaction().map_err(&wrap)?;
        let inserted = tx
            .query_opt(
                r#"INSERT INTO incident_report_stage
                   (fingerprint, organisation, reference, stage, at, "by", tlp, body)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                   ON CONFLICT (fingerprint) DO NOTHING
                   RETURNING id"#,
                &[
                    &&fingerprint[..],
                    &stage.organisation,
                    &stage.reference,
                    &stage.stage,
                    &now(),
                    &stage.by,
                    &stage.tlp,
                    &stage.body,
                ],
            )
            .map_err(&wrap)?;
        let Some(row) = inserted else {
            return Ok(None);
        };
        let id: i64 = row.get(0);
        append_audit_in(
            &mut tx,
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
            &wrap,
        )?;
        tx.commit().map_err(&wrap)?;
        Ok(Some(id))
    }

    fn report_stages(&self) -> Result<Vec<ReportStageRecord>> {
        let wrap = self.wrap();
        let rows = self
            .conn()?
            .query(
                r#"SELECT id, organisation, reference, stage, at, "by", tlp, body
                   FROM incident_report_stage ORDER BY id"#,
                &[],
            )
            .map_err(&wrap)?;
        Ok(rows
            .iter()
            .map(|r| ReportStageRecord {
                id: r.get(0),
                organisation: r.get(1),
                reference: r.get(2),
                stage: r.get(3),
                at: r.get(4),
                by: r.get(5),
                tlp: r.get(6),
                body: r.get(7),
            })
            .collect())
    }
}
