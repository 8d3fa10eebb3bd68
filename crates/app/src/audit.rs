//! The audit log: verification, signed checkpoints, export; and the advisories in the
//! record.

use baken_pipeline::advisories::{self, SyncSummary};
use baken_pipeline::audit as pipeline_audit;
use baken_store::AdvisoryRecord;
use baken_store::audit::{AuditEntry, Checkpoint, GENESIS, Witness};
use serde::Serialize;

use crate::{App, AppError, Result};

/// What verifying the audit log found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditVerification {
    /// Entries in the log.
    pub entries: usize,
    /// The last entry's sequence number and hash, when the chain is sound.
    pub head: Option<(i64, String)>,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// Witnesses checked.
    pub witnesses: usize,
    /// What is worth knowing but wrong with nothing (e.g. entries appended since a given
    /// head).
    pub notes: Vec<String>,
    /// Everything wrong, one sentence each; empty when the log is sound.
    pub problems: Vec<String>,
}

impl App {
    /// Verifies the audit log: its hash chain, every signed checkpoint (signed by `key`,
    /// hex, when given), each witness (a head someone kept), and that `head` (a hash
    /// someone kept) is still in the log.
    pub fn verify_audit(
        &self,
        head: Option<&str>,
        witnesses: &[Witness],
        key: Option<&str>,
    ) -> Result<AuditVerification> {
        let log = self.store.audit_log()?;
        let report = pipeline_audit::verify(&*self.store, &self.data, witnesses, key)?;
        let mut problems = report.problems;
        let mut notes = Vec::new();
        if let (Some(want), Some(_)) = (head, &report.chain) {
            match log.iter().position(|e| e.hash == want) {
                Some(i) if i + 1 == log.len() => {}
                Some(i) => notes.push(format!(
                    "the given head is entry {}; {} entries were appended since",
                    i + 1,
                    log.len() - i - 1
                )),
                None if want == GENESIS && log.is_empty() => {}
                None => problems.push(format!(
                    "the given head {want} is not in the log: entries were removed from its end or the log was replaced"
                )),
            }
        }
        let head = report
            .chain
            .as_ref()
            .map(|v| (log.last().map_or(0, |e| e.seq), v.head.clone()));
        Ok(AuditVerification {
            entries: log.len(),
            head,
            checkpoints: report.checkpoints,
            witnesses: report.witnesses,
            notes,
            problems,
        })
    }

    /// Signs a checkpoint of the audit log's head with the data directory's key.
    pub fn checkpoint_audit(&mut self) -> Result<Checkpoint> {
        Ok(pipeline_audit::checkpoint(&mut *self.store, &self.data)?)
    }

    /// The whole audit log, oldest entry first.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>> {
        Ok(self.store.audit_log()?)
    }

    /// Fetches what a CSAF provider published since the last sync and imports it.
    pub fn sync_advisories(
        &mut self,
        source: &str,
        schema: Option<&std::path::Path>,
        options: &baken_csaf_sync::Options,
    ) -> Result<SyncSummary> {
        let schema = advisories::load_csaf_schema(schema)?;
        Ok(advisories::sync(
            &mut *self.store,
            source,
            &schema,
            options,
        )?)
    }

    /// Every advisory's latest revision.
    pub fn advisories(&self) -> Result<Vec<AdvisoryRecord>> {
        Ok(self.store.advisories()?)
    }

    /// Advisory `id` (any case) and every revision imported.
    pub fn advisory(&self, id: &str) -> Result<(baken_advisory::Advisory, Vec<AdvisoryRecord>)> {
        advisories::show(&*self.store, id)?.ok_or_else(|| {
            AppError::NotFound(format!(
                "no advisory {id:?} in {}; import it with `baken advisory import FILE`",
                self.data.display()
            ))
        })
    }
}
